import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import { ConnectedSocket, MessageBody, SubscribeMessage, WebSocketGateway, WebSocketServer, type OnGatewayConnection, type OnGatewayInit } from '@nestjs/websockets';
import {
  DashError,
  MAX_PATH_FILTERS,
  MAX_SOCKET_BUFFER_BYTES,
  MAX_SOCKET_COMMANDS_PER_SECOND,
  isValidPath,
  parsePathFilter,
  pipelineRoom,
  SocketEvent,
  UNAUTHORIZED,
  type Breakdown,
  type ClientToServerEvents,
  type InterServerEvents,
  type PathFilter,
  type ServerToClientEvents,
  type SubscribeAck,
} from '@dash/domain';
import type { Server, Socket } from 'socket.io';
import { AuthService, canRead, type Principal } from '../auth/auth.service';
import { RequestLimits } from '../auth/request-limits';
import { PipelineCache } from '../pipelines/pipeline-cache';
import { isUuid } from '../pipelines/pipelines.schemas';
import { StatsService } from '../reading/stats.service';
import type { BreakdownQuery } from '../series/breakdown.params';
import { BreakdownsService } from '../series/breakdowns.service';

interface SocketData {
  principal: Principal;
  /** The viewer token the socket was opened with: its revocation disconnects the socket. */
  tokenId?: string;
  /** Commands received in the current one-second window, and when it started. */
  commands: number;
  commandsSince: number;
  /** The breakdown followed per pipeline (one each; a new subscribe replaces it). */
  breakdowns?: Map<string, LiveBreakdown>;
}
type LiveSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
type LiveServer = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

/** A followed breakdown, and the key that groups the sockets following the same one. */
interface LiveBreakdown {
  key: string;
  by: string;
  measure?: string;
  where?: PathFilter[];
}

/** Live breakdowns cover the last 24 hours, top 10 values (as the API's defaults). */
const LIVE_BREAKDOWN_SPAN_MS = 24 * 60 * 60 * 1000;
const LIVE_BREAKDOWN_LIMIT = 10;

/** Reads `{by, measure?, where?}` of a subscribe request, or a reason it is not one. */
function breakdownOf(request: unknown): LiveBreakdown | 'invalid' | undefined {
  const spec = (request as { breakdown?: unknown } | null)?.breakdown;
  if (spec === undefined) return undefined;
  const { by, measure, where } = (spec ?? {}) as { by?: unknown; measure?: unknown; where?: unknown };
  if (typeof by !== 'string' || !isValidPath(by)) return 'invalid';
  if (measure !== undefined && (typeof measure !== 'string' || !isValidPath(measure))) return 'invalid';
  let filters: PathFilter[] | undefined;
  if (where !== undefined) {
    if (!Array.isArray(where) || where.length > MAX_PATH_FILTERS) return 'invalid';
    filters = [];
    for (const text of where) {
      const filter = typeof text === 'string' && text.length <= 500 ? parsePathFilter(text) : null;
      if (filter === null) return 'invalid';
      filters.push(filter);
    }
  }
  return { key: JSON.stringify([by, measure ?? null, filters ?? null]), by, measure, where: filters };
}

/** Rooms one socket may be in at once (a dashboard shows a few dozen pipelines at most). */
const MAX_SUBSCRIPTIONS = 200;

/**
 * Open viewer sockets are checked against the tokens table this often: the fallback that
 * disconnects a revoked token's sockets within 5 s should its announcement be missed.
 */
const TOKEN_RECHECK_MS = 2_500;

/** How often every socket's unsent output is measured. */
const BUFFER_CHECK_MS = 1000;

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
    private readonly breakdowns: BreakdownsService,
  ) {}

  /** Pipelines whose breakdowns are being recomputed, and whether more events came meanwhile. */
  private readonly recomputing = new Map<string, boolean>();

  afterInit(server: LiveServer): void {
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
    // From the ingestors, after each (coalesced) live update of a pipeline.
    server.on(SocketEvent.EventsStored, (pipelineId: unknown) => {
      if (typeof pipelineId === 'string') this.breakdownsChanged(pipelineId);
    });
    this.recheckTimer = setInterval(() => void this.recheckTokens(), TOKEN_RECHECK_MS);
    this.recheckTimer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.recheckTimer);
    this.stopListening?.();
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
    if (!(await this.pipelines.get(pipelineId))) return { ok: false, error: 'not_found' };
    const room = pipelineRoom(pipelineId);
    if (!socket.rooms.has(room) && socket.rooms.size > MAX_SUBSCRIPTIONS) return { ok: false, error: 'invalid_request' };
    const breakdown = breakdownOf(request);
    if (breakdown === 'invalid') return { ok: false, error: 'invalid_request' };
    let initial: Breakdown | undefined;
    if (breakdown) {
      const cached = await this.pipelines.get(pipelineId);
      if (!cached) return { ok: false, error: 'not_found' };
      try {
        // Validated as the API validates it (declared dimension and measure), and answered in the ack.
        initial = await this.breakdowns.breakdown(cached.entity, this.liveQuery(breakdown));
      } catch (error) {
        if (error instanceof DashError && error.status === 400) return { ok: false, error: 'invalid_request' };
        throw error;
      }
    }
    // Join before reading, so no update can fall between the snapshot and the room.
    await socket.join(room);
    if (breakdown) (socket.data.breakdowns ??= new Map()).set(pipelineId, breakdown);
    else socket.data.breakdowns?.delete(pipelineId);
    return { ok: true, stats: await this.reader.stats(pipelineId), ...(initial ? { breakdown: initial } : {}) };
  }

  private liveQuery(breakdown: LiveBreakdown): BreakdownQuery {
    const to = new Date();
    return { by: breakdown.by, measure: breakdown.measure, where: breakdown.where, limit: LIVE_BREAKDOWN_LIMIT, from: new Date(to.getTime() - LIVE_BREAKDOWN_SPAN_MS), to };
  }

  /**
   * Recomputes each breakdown this node's sockets follow for the pipeline, once per distinct one,
   * and sends it to those sockets only. One recomputation per pipeline at a time; events stored
   * meanwhile make one more follow, so the last state always goes out.
   */
  private breakdownsChanged(pipelineId: string): void {
    if (this.recomputing.has(pipelineId)) {
      this.recomputing.set(pipelineId, true);
      return;
    }
    const followers = new Map<string, { breakdown: LiveBreakdown; sockets: LiveSocket[] }>();
    for (const id of this.server.of('/').adapter.rooms.get(pipelineRoom(pipelineId)) ?? []) {
      const socket = this.server.of('/').sockets.get(id);
      const breakdown = socket?.data.breakdowns?.get(pipelineId);
      if (!socket || !breakdown) continue;
      const group = followers.get(breakdown.key) ?? { breakdown, sockets: [] };
      group.sockets.push(socket);
      followers.set(breakdown.key, group);
    }
    if (followers.size === 0) return;
    this.recomputing.set(pipelineId, false);
    void (async () => {
      try {
        const cached = await this.pipelines.get(pipelineId);
        if (!cached) return;
        for (const { breakdown, sockets } of followers.values()) {
          const result = await this.breakdowns.breakdown(cached.entity, this.liveQuery(breakdown)).catch((error: Error) => {
            // A dimension removed meanwhile, or the database away: this update is skipped.
            this.logger.warn(`live breakdown of pipeline ${pipelineId}: ${error.message}`);
            return null;
          });
          if (!result) continue;
          const update = { pipelineId, by: result.by, items: result.items, emittedAt: new Date().toISOString() };
          for (const socket of sockets) if (socket.connected) socket.emit(SocketEvent.BreakdownUpdated, update);
        }
      } finally {
        const again = this.recomputing.get(pipelineId);
        this.recomputing.delete(pipelineId);
        if (again) this.breakdownsChanged(pipelineId);
      }
    })();
  }

  @SubscribeMessage(SocketEvent.Unsubscribe)
  async unsubscribe(@ConnectedSocket() socket: LiveSocket, @MessageBody() request: unknown): Promise<{ ok: boolean }> {
    const pipelineId = pipelineIdOf(request);
    if (!pipelineId) return { ok: false };
    await socket.leave(pipelineRoom(pipelineId));
    socket.data.breakdowns?.delete(pipelineId);
    return { ok: true };
  }
}
