import { outboundRequest } from '@dash/infra';

export class AlertHttpError extends Error {}

export interface AlertPost {
  url: string;
  headers: Record<string, string>;
  body: string;
  allowPrivate: boolean;
  timeoutMs: number;
}

/** The receiver's answer is read only this far (it is recorded in errors, never stored whole). */
const MAX_RESPONSE_BYTES = 64 * 1024;

/**
 * POSTs an alert webhook through the same SSRF guard as polls (`outboundRequest`: every address
 * checked inside the connection's own lookup, no redirects, one deadline for the whole exchange,
 * a size cap). Resolves on 2xx; anything else rejects with the reason.
 */
export async function postAlert(post: AlertPost): Promise<number> {
  const response = await outboundRequest({
    method: 'POST',
    url: post.url,
    headers: { 'content-type': 'application/json', 'user-agent': 'dash-alerts/1', ...post.headers },
    body: post.body,
    timeoutMs: post.timeoutMs,
    maxBytes: MAX_RESPONSE_BYTES,
    allowPrivate: post.allowPrivate,
  }).catch((error: Error) => {
    throw new AlertHttpError(error.message);
  });
  const { status } = response;
  if (status >= 200 && status < 300) return status;
  const redirect = status >= 300 && status < 400 ? ' (redirects are not followed)' : '';
  throw new AlertHttpError(`the receiver answered ${status}${redirect}: ${response.body.toString('utf8', 0, 200)}`);
}
