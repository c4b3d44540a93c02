/** Viewer tokens start with this, so a bearer token is told apart from the admin token without a lookup. */
export const VIEWER_TOKEN_PREFIX = 'dash_vt_';

/** Broadcast to every node over the NestJS Redis transport when a viewer token is revoked. */
export const TOKEN_REVOKED = 'token.revoked';
export interface TokenRevoked {
  /** The deployment's key prefix: deployments sharing one Redis ignore each other's revocations. */
  scope: string;
  tokenId: string;
}

/** A viewer token as `GET /api/tokens` lists it: never the token or its hash. */
export interface ViewerTokenInfo {
  id: string;
  label: string | null;
  pipelines: string[];
  createdAt: string;
  lastUsedAt: string | null;
}

/** One delivery refused with a 4xx, as `GET /api/pipelines/:id/rejections` lists it (never the body). */
export interface Rejection {
  at: string;
  status: number;
  error: string;
  /** The message the sender got with the error (at most MAX_REJECTION_MESSAGE characters). */
  message: string;
  webhookId: string | null;
  contentLength: number | null;
}

/** A rejection's message is cut to this many characters. */
export const MAX_REJECTION_MESSAGE = 300;

/** Rejections kept per pipeline (newest first). */
export const MAX_REJECTIONS = 100;
