import { Inject, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { ConnectedSocket, MessageBody, SubscribeMessage, WebSocketGateway, WebSocketServer, type OnGatewayConnection, type OnGatewayInit } from '@nestjs/websockets';
import { DashError, MAX_BREAKDOWN_SUBSCRIPTIONS, MAX_SOCKET_BUFFER_BYTES, MAX_SOCKET_COMMANDS_PER_SECOND, pipelineRoom, SocketEvent, UNAUTHORIZED, type ClientToServerEvents, type ServerToClientEvents, type SubscribeAck } from '@dash/domain';
import { REDIS_SUBSCRIBER } from '@dash/infra';
import type { Server, Socket } from 'socket.io';
import { AuthService, canRead, type Principal } from '../auth/auth.service';
import { RequestLimits } from '../auth/request-limits';
import { PipelineCache } from '../pipelines/pipeline-cache';
import { isUuid } from '../pipelines/pipelines.schemas';
import { StatsService } from '../reading/stats.service';
import { BreakdownFollowers } from './breakdown-followers';
import { onArrivedUpdate } from './redis-io.adapter';

interface SocketData {
  principal: Principal;
  /** The viewer token the socket was opened with: its revocation disconnects the socket. */
  tokenId?: string;
  /** Commands received in the current one-second window, and when it started. */
  commands: number;
  commandsSince: number;
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

/** How often every socket's unsent output is measured. */
const BUFFER_CHECK_MS = 1000;

/** What the gateway uses of the subscriber connection (ioredis `Redis` or `Cluster`): its events. */
interface Listenable {
  on(event: string, listener: () => void): unknown;
  off(event: string, listener: () => void): unknown;
}

/** Pipelines read at once when this node's subscriptions come back (a burst of reads, bounded). */
const RESYNC_CONCURRENCY = 8;
const PIPELINE_ROOM_PREFIX = pipelineRoom('');

/**
 * Bytes queued for a socket and not yet taken by the kernel: engine.io's buffer (packets waiting
 * while the transport is busy) and the WebSocket's own. Internals read defensively: a socket.io
 * upgrade that renames them makes this 0, never a throw.
 */
export function unsentBytes(socket: Socket): number {
  const conn = socket.conn as unknown as { writeBuffer?: Array<{ data?: unknown }>; transport?: { socket?: { bufferedAmount?: unknown } } };
  let bytes = 0;
  for (const packet of conn.writeBuffer ?? []) {
    const data = packet.data;
    bytes += typeof data === 'string' ? data.length : Buffer.isBuffer(data) ? data.length : 0;
  }
  const buffered = conn.transport?.socket?.bufferedAmount;
  return bytes + (typeof buffered === 'number' ? buffered : 0);
}

const breakdownOf = (request: unknown): unknown => (request as { breakdown?: unknown } | null)?.breakdown;
const breakdownRooms = (socket: LiveSocket, pipelineId?: string): string[] => [...socket.rooms].filter((room) => room.startsWith(pipelineId ? `breakdown:${pipelineId}:` : 'breakdown:'));

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
export class LiveGateway implements OnGatewayInit<LiveServer>, OnGatewayConnection<LiveSocket>, OnApplicationShutdown {
  private readonly logger = new Logger(LiveGateway.name);
  private recheckTimer?: NodeJS.Timeout;
  private stopListening?: () => void;
  private bufferCheck: NodeJS.Timeout | null = null;

  @WebSocketServer()
  server!: LiveServer;

  constructor(
    private readonly auth: AuthService,
    private readonly limits: RequestLimits,
    private readonly pipelines: PipelineCache,
    private readonly reader: StatsService,
    private readonly followers: BreakdownFollowers,
    /** The adapter's subscriptions: when they come back (reconnection, failover), rooms are resynced. */
    @Inject(REDIS_SUBSCRIBER) private readonly subscriber: Listenable,
  ) {}

  private readonly onResubscribed = () => void this.resync();

  /**
   * Updates published while this node's subscriptions were away (a Redis restart, a master's
   * failover) never reach it: once they are back, every pipeline room with sockets here gets its
   * current state from the database, so a viewer ends on the latest state even if no new event
   * comes. `ready` for one Redis (ioredis has subscribed again by then), `subscribersReady` for a
   * cluster's per-shard subscribers.
   */
  async resync(): Promise<void> {
    if (!this.server) return;
    const rooms = [...this.server.of('/').adapter.rooms.keys()].filter((room) => room.startsWith(PIPELINE_ROOM_PREFIX));
    const next = async (): Promise<void> => {
      const room = rooms.pop();
      if (!room) return;
      try {
        const stats = await this.reader.stats(room.slice(PIPELINE_ROOM_PREFIX.length));
        const now = new Date().toISOString();
        this.server.local.to(room).emit(SocketEvent.DataUpdated, { ...stats, emittedAt: now, committedAt: now });
      } catch (error) {
        this.logger.warn(`resync of ${room}: ${(error as Error).message}`);
      }
      return next();
    };
    await Promise.all(Array.from({ length: RESYNC_CONCURRENCY }, next));
  }

  afterInit(server: LiveServer): void {
    // A pipeline's update reaching this node is the signal to recompute the breakdowns followed here.
    this.followers.attach(server);
    onArrivedUpdate(server as unknown as Server, (update) => {
      if (typeof update.pipelineId === 'string') this.followers.stored(update.pipelineId);
    });
    server.use((socket, next) => {
      const token = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
      const address = this.limits.clientAddress(socket.handshake.headers, socket.handshake.address);
      this.limits.principalFor(typeof token === 'string' && token !== '' ? token : undefined, address).then(
        (principal) => {
          socket.data.principal = principal;
          if (principal.kind === 'viewer') socket.data.tokenId = principal.tokenId;
          next();
        },
        (error: Error) => {
          if (!(error instanceof DashError)) this.logger.warn(`socket auth: ${error.message}`);
          // A throttled address is told so (the API's 429); anything else is the contract's `unauthorized`.
          next(new Error(error instanceof DashError && error.code === 'rate_limited' ? error.code : UNAUTHORIZED));
        },
      );
    });
    this.stopListening = this.auth.onRevoked((tokenId) => this.disconnectToken(new Set([tokenId])));
    this.recheckTimer = setInterval(() => void this.recheckTokens(), TOKEN_RECHECK_MS);
    this.recheckTimer.unref();
    this.subscriber.on('ready', this.onResubscribed);
    this.subscriber.on('subscribersReady', this.onResubscribed);
  }

  onApplicationShutdown(): void {
    clearInterval(this.recheckTimer);
    this.stopListening?.();
    this.subscriber.off('ready', this.onResubscribed);
    this.subscriber.off('subscribersReady', this.onResubscribed);
    if (this.bufferCheck) clearInterval(this.bufferCheck);
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

  /**
   * Bounds what one socket can make this process do and hold: more than
   * MAX_SOCKET_COMMANDS_PER_SECOND commands in a second (each one a database read and an ack), or
   * output piling up unread past MAX_SOCKET_BUFFER_BYTES, and it is disconnected.
   */
  handleConnection(socket: LiveSocket): void {
    socket.data.commands = 0;
    socket.data.commandsSince = Date.now();
    socket.use((_packet, next) => {
      const now = Date.now();
      if (now - socket.data.commandsSince >= 1000) {
        socket.data.commandsSince = now;
        socket.data.commands = 0;
      }
      if (++socket.data.commands > MAX_SOCKET_COMMANDS_PER_SECOND) {
        this.logger.warn(`socket ${socket.id} disconnected: more than ${MAX_SOCKET_COMMANDS_PER_SECOND} commands a second`);
        socket.disconnect(true);
        return;
      }
      next();
    });
    if (!this.bufferCheck) {
      this.bufferCheck = setInterval(() => this.disconnectNonReaders(), BUFFER_CHECK_MS);
      this.bufferCheck.unref();
    }
  }

  private disconnectNonReaders(): void {
    for (const socket of this.server.of('/').sockets.values()) {
      if (unsentBytes(socket) <= MAX_SOCKET_BUFFER_BYTES) continue;
      this.logger.warn(`socket ${socket.id} disconnected: it stopped reading (over ${MAX_SOCKET_BUFFER_BYTES} bytes unsent)`);
      // A plain disconnect waits for the unsent output to drain (it never will) and a WebSocket
      // close frame would queue behind it: the connection is cut at once, its buffers freed.
      const ws = (socket.conn as unknown as { transport?: { socket?: { terminate?: () => void } } }).transport?.socket;
      ws?.terminate?.();
      socket.disconnect(true);
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
    const cached = await this.pipelines.get(pipelineId);
    if (!cached) return { ok: false, error: 'not_found' };
    const room = pipelineRoom(pipelineId);
    if (!socket.rooms.has(room) && socket.rooms.size > MAX_SUBSCRIPTIONS) return { ok: false, error: 'invalid_request' };
    const breakdown = breakdownOf(request);
    if (breakdown === undefined) {
      // Join before reading, so no update can fall between the snapshot and the room.
      await socket.join(room);
      return { ok: true, stats: await this.reader.stats(pipelineId) };
    }
    // Counted before the request is checked against the rollups (a read): a socket holds at most so many.
    const wanted = this.followers.roomOf(pipelineId, breakdown);
    if (!(wanted && socket.rooms.has(wanted)) && breakdownRooms(socket).length >= MAX_BREAKDOWN_SUBSCRIPTIONS) {
      return { ok: false, error: 'invalid_request', message: `a socket follows at most ${MAX_BREAKDOWN_SUBSCRIPTIONS} breakdowns; unsubscribe one first` };
    }
    const followed = this.followers.validate(cached.entity, breakdown);
    if ('problem' in followed) return { ok: false, error: 'invalid_request', message: followed.problem };
    await socket.join([room, followed.room]);
    this.followers.follow(pipelineId, followed.key, { request: followed.request, room: followed.room });
    return { ok: true, stats: await this.reader.stats(pipelineId), breakdownKey: followed.key };
  }

  @SubscribeMessage(SocketEvent.Unsubscribe)
  async unsubscribe(@ConnectedSocket() socket: LiveSocket, @MessageBody() request: unknown): Promise<{ ok: boolean }> {
    const pipelineId = pipelineIdOf(request);
    if (!pipelineId) return { ok: false };
    const breakdown = breakdownOf(request);
    if (breakdown !== undefined) {
      // Only that breakdown: the pipeline's own updates keep coming.
      const room = this.followers.roomOf(pipelineId, breakdown);
      if (room) await socket.leave(room);
      return { ok: true };
    }
    for (const joined of [pipelineRoom(pipelineId), ...breakdownRooms(socket, pipelineId)]) await socket.leave(joined);
    return { ok: true };
  }
}
