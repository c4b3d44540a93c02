import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import { ConnectedSocket, MessageBody, SubscribeMessage, WebSocketGateway, WebSocketServer, type OnGatewayInit } from '@nestjs/websockets';
import { pipelineRoom, SocketEvent, UNAUTHORIZED, type ClientToServerEvents, type ServerToClientEvents, type SubscribeAck } from '@dash/domain';
import type { Server, Socket } from 'socket.io';
import { AuthService, canRead, type Principal } from '../auth/auth.service';
import { PipelineCache } from '../pipelines/pipeline-cache';
import { isUuid } from '../pipelines/pipelines.schemas';
import { StatsService } from '../reading/stats.service';

interface SocketData {
  principal: Principal;
  /** The viewer token the socket was opened with: its revocation disconnects the socket. */
  tokenId?: string;
}
type LiveSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
type LiveServer = Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

/** Rooms one socket may be in at once (a dashboard shows a few dozen pipelines at most). */
const MAX_SUBSCRIPTIONS = 200;

/**
 * Open viewer sockets are checked against the tokens table this often: the fallback that
 * disconnects a revoked token's sockets within 5 s should its announcement be missed.
 */
const TOKEN_RECHECK_MS = 2_500;

function pipelineIdOf(request: unknown): string | null {
  const id = (request as { pipelineId?: unknown } | null)?.pipelineId;
  return isUuid(id) ? id.toLowerCase() : null;
}

/**
 * Live updates: the handshake carries `auth: {token}`; `subscribe` joins the pipeline's room
 * and acknowledges with the current stats; `data_updated` arrives from the ingestors through
 * the Redis adapter.
 */
@WebSocketGateway()
export class LiveGateway implements OnGatewayInit<LiveServer>, OnApplicationShutdown {
  private readonly logger = new Logger(LiveGateway.name);
  private recheckTimer?: NodeJS.Timeout;
  private stopListening?: () => void;

  @WebSocketServer()
  server!: LiveServer;

  constructor(
    private readonly auth: AuthService,
    private readonly pipelines: PipelineCache,
    private readonly reader: StatsService,
  ) {}

  afterInit(server: LiveServer): void {
    server.use((socket, next) => {
      const token = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
      this.auth.authenticate(token).then(
        (principal) => {
          if (!principal) return next(new Error(UNAUTHORIZED));
          socket.data.principal = principal;
          if (principal.kind === 'viewer') socket.data.tokenId = principal.tokenId;
          next();
        },
        (error: Error) => {
          this.logger.warn(`socket auth: ${error.message}`);
          next(new Error(UNAUTHORIZED));
        },
      );
    });
    this.stopListening = this.auth.onRevoked((tokenId) => this.disconnectToken(new Set([tokenId])));
    this.recheckTimer = setInterval(() => void this.recheckTokens(), TOKEN_RECHECK_MS);
    this.recheckTimer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.recheckTimer);
    this.stopListening?.();
  }

  /** Disconnects this node's sockets opened with any of these (revoked) tokens. */
  private disconnectToken(tokenIds: ReadonlySet<string>): void {
    for (const socket of this.server?.sockets.sockets.values() ?? []) {
      if (socket.data.tokenId && tokenIds.has(socket.data.tokenId)) socket.disconnect(true);
    }
  }

  private async recheckTokens(): Promise<void> {
    const open = new Set<string>();
    for (const socket of this.server?.sockets.sockets.values() ?? []) if (socket.data.tokenId) open.add(socket.data.tokenId);
    if (open.size === 0) return;
    try {
      const existing = await this.auth.existingTokenIds([...open]);
      const revoked = new Set([...open].filter((id) => !existing.has(id)));
      // forget() also empties this node's token cache and disconnects through the listener above.
      for (const id of revoked) this.auth.forget(id);
    } catch (error) {
      // The database is away: keep the sockets rather than drop every viewer.
      this.logger.warn(`token recheck: ${(error as Error).message}`);
    }
  }

  get socketCount(): number {
    return this.server?.engine?.clientsCount ?? 0;
  }

  @SubscribeMessage(SocketEvent.Subscribe)
  async subscribe(@ConnectedSocket() socket: LiveSocket, @MessageBody() request: unknown): Promise<SubscribeAck> {
    const pipelineId = pipelineIdOf(request);
    if (!pipelineId) return { ok: false, error: 'invalid_request' };
    if (!canRead(socket.data.principal, pipelineId)) return { ok: false, error: 'forbidden' };
    if (!(await this.pipelines.get(pipelineId))) return { ok: false, error: 'not_found' };
    const room = pipelineRoom(pipelineId);
    if (!socket.rooms.has(room) && socket.rooms.size > MAX_SUBSCRIPTIONS) return { ok: false, error: 'invalid_request' };
    // Join before reading, so no update can fall between the snapshot and the room.
    await socket.join(room);
    return { ok: true, stats: await this.reader.stats(pipelineId) };
  }

  @SubscribeMessage(SocketEvent.Unsubscribe)
  async unsubscribe(@ConnectedSocket() socket: LiveSocket, @MessageBody() request: unknown): Promise<{ ok: boolean }> {
    const pipelineId = pipelineIdOf(request);
    if (!pipelineId) return { ok: false };
    await socket.leave(pipelineRoom(pipelineId));
    return { ok: true };
  }
}
