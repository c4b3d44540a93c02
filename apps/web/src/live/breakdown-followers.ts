import { Inject, Injectable, Logger, Optional, type OnApplicationShutdown } from '@nestjs/common';
import { BREAKDOWN_RANGES, breakdownKey, breakdownRoom, DashError, SocketEvent, type BreakdownRequest, type BreakdownUpdated, type ServerToClientEvents } from '@dash/domain';
import { DASH_CONFIG, type DashConfig, type PipelineEntity } from '@dash/infra';
import type { Server } from 'socket.io';
import { PipelineCache } from '../pipelines/pipeline-cache';
import { breakdownQuerySchema, type BreakdownQuery } from '../series/breakdown.params';
import { BreakdownsService } from '../series/breakdowns.service';

/**
 * A pipeline's followed breakdowns are recomputed at most this often on a node by default
 * (BREAKDOWN_INTERVAL_MS; the first change after a quiet spell goes out at once). As often as
 * counts are coalesced, so that a breakdown is as fresh as the count (docs/performance.md).
 */
export const BREAKDOWN_MIN_INTERVAL_MS = 50;

/**
 * A round that took long (filtered breakdowns read the stored events, up to
 * FILTERED_READ_MAX_EVENTS) spaces the next: rounds start at least this many times their
 * duration apart, so that a pipeline's live breakdowns keep a node's reads busy a fifth of the time at most.
 */
export const BREAKDOWN_ROUND_SPACING = 5;

export interface Followed {
  request: BreakdownRequest;
  room: string;
}

interface Pipeline {
  breakdowns: Map<string, Followed>;
  lastRunAt: number;
  /** How long the last round took (ms). */
  lastCostMs: number;
  running: boolean;
  /** A change arrived while running or waiting: one more round follows. */
  pending: boolean;
  timer: NodeJS.Timeout | null;
}

/** The one spelling of a request: only the known fields, defaults filled in, filters sorted. */
function normalize(raw: unknown): BreakdownRequest | string {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return 'breakdown must be an object {by, measure?, where?, range?}';
  const { by, measure, where, range } = raw as Record<string, unknown>;
  if (typeof by !== 'string') return 'breakdown.by must be a dimension path';
  if (measure !== undefined && typeof measure !== 'string') return 'breakdown.measure must be a measure path';
  if (where !== undefined && !(Array.isArray(where) && where.every((item) => typeof item === 'string'))) return 'breakdown.where must be a list of <path>=<value>';
  if (range !== undefined && !(typeof range === 'string' && Object.hasOwn(BREAKDOWN_RANGES, range))) return `breakdown.range must be one of ${Object.keys(BREAKDOWN_RANGES).join(', ')}`;
  const request: BreakdownRequest = { by, range: (range as BreakdownRequest['range']) ?? '24h' };
  if (measure) request.measure = measure;
  if (where?.length) request.where = [...(where as string[])].sort();
  return request;
}

/**
 * Live breakdowns on this web node. A socket that follows a breakdown is in its room
 * (`breakdown:{pipelineId}:{key}`); when a pipeline's `data_updated` arrives here (only on nodes
 * with sockets in its room, see onArrivedUpdate), each breakdown followed on this node is
 * recomputed once from the rollups, at most once per BREAKDOWN_INTERVAL_MS per pipeline (and never
 * two rounds at once; a long round spaces the next, see BREAKDOWN_ROUND_SPACING), and sent to its
 * room on this node only. Cost: one read per distinct breakdown per round, however many sockets.
 */
@Injectable()
export class BreakdownFollowers implements OnApplicationShutdown {
  private readonly logger = new Logger(BreakdownFollowers.name);
  private readonly pipelines = new Map<string, Pipeline>();
  private server: Server<Record<string, never>, ServerToClientEvents> | null = null;
  private readonly intervalMs: number;

  constructor(
    private readonly breakdowns: BreakdownsService,
    private readonly cache: PipelineCache,
    @Optional() @Inject(DASH_CONFIG) config?: Pick<DashConfig, 'breakdownIntervalMs'>,
  ) {
    this.intervalMs = config?.breakdownIntervalMs ?? BREAKDOWN_MIN_INTERVAL_MS;
  }

  attach(server: Server<never, ServerToClientEvents>): void {
    this.server = server as unknown as Server<Record<string, never>, ServerToClientEvents>;
    // A room empties when its last socket leaves or disconnects: stop computing it.
    server.of('/').adapter.on('delete-room', (room: string) => {
      if (room.startsWith('breakdown:')) this.forget(room);
    });
  }

  /**
   * Checks a request against the pipeline (declared dimensions and measures, valid filters): the
   * same rules as `GET …/breakdown`, without reading anything (a filtered breakdown reads stored
   * events: a socket's subscribes must not each cost one). Answers the room to join, or why not.
   */
  validate(pipeline: PipelineEntity, raw: unknown): { request: BreakdownRequest; key: string; room: string } | { problem: string } {
    const request = normalize(raw);
    if (typeof request === 'string') return { problem: request };
    const query = this.query(request);
    if (typeof query === 'string') return { problem: query };
    try {
      this.breakdowns.check(pipeline, query);
    } catch (error) {
      if (error instanceof DashError && error.status < 500) return { problem: error.message };
      throw error;
    }
    const key = breakdownKey(request);
    return { request, key, room: breakdownRoom(pipeline.id, key) };
  }

  /** The room of an (unvalidated) request, or null when it is malformed. */
  roomOf(pipelineId: string, raw: unknown): string | null {
    const request = normalize(raw);
    return typeof request === 'string' ? null : breakdownRoom(pipelineId, breakdownKey(request));
  }

  /** A socket joined this breakdown's room. */
  follow(pipelineId: string, key: string, followed: Followed): void {
    let entry = this.pipelines.get(pipelineId);
    if (!entry) this.pipelines.set(pipelineId, (entry = { breakdowns: new Map(), lastRunAt: 0, lastCostMs: 0, running: false, pending: false, timer: null }));
    entry.breakdowns.set(key, followed);
  }

  /** How many breakdowns this node computes (for tests and metrics). */
  get size(): number {
    let size = 0;
    for (const entry of this.pipelines.values()) size += entry.breakdowns.size;
    return size;
  }

  /** New events of a pipeline were stored: its followed breakdowns are recomputed (coalesced). */
  stored(pipelineId: string): void {
    const entry = this.pipelines.get(pipelineId);
    if (!entry) return;
    if (entry.running || entry.timer) {
      entry.pending = true;
      return;
    }
    const wait = entry.lastRunAt + Math.max(this.intervalMs, BREAKDOWN_ROUND_SPACING * entry.lastCostMs) - Date.now();
    if (wait <= 0) void this.run(pipelineId, entry);
    else {
      entry.timer = setTimeout(() => void this.run(pipelineId, entry), wait);
      entry.timer.unref();
    }
  }

  onApplicationShutdown(): void {
    for (const entry of this.pipelines.values()) if (entry.timer) clearTimeout(entry.timer);
    this.pipelines.clear();
  }

  private forget(room: string): void {
    for (const [pipelineId, entry] of this.pipelines) {
      for (const [key, followed] of entry.breakdowns) if (followed.room === room) entry.breakdowns.delete(key);
      if (entry.breakdowns.size === 0) {
        if (entry.timer) clearTimeout(entry.timer);
        this.pipelines.delete(pipelineId);
      }
    }
  }

  private query(request: BreakdownRequest, now = Date.now()): BreakdownQuery | string {
    const parsed = breakdownQuerySchema.safeParse({
      by: request.by,
      measure: request.measure,
      where: request.where,
      from: new Date(now - BREAKDOWN_RANGES[request.range ?? '24h']).toISOString(),
      to: new Date(now).toISOString(),
    });
    return parsed.success ? parsed.data : parsed.error.issues.map((issue) => `${issue.path.join('.') || 'breakdown'}: ${issue.message}`).join('; ');
  }

  private async run(pipelineId: string, entry: Pipeline): Promise<void> {
    entry.timer = null;
    entry.pending = false;
    entry.running = true;
    entry.lastRunAt = Date.now();
    try {
      // The pipeline as it is now (dimensions may have changed since the sockets followed).
      const pipeline = (await this.cache.get(pipelineId))?.entity;
      if (!pipeline) return;
      for (const [key, followed] of [...entry.breakdowns]) {
        const query = this.query(followed.request);
        if (typeof query === 'string') continue;
        try {
          const answer = await this.breakdowns.breakdown(pipeline, query);
          const update: BreakdownUpdated = { pipelineId, key, ...answer, emittedAt: new Date().toISOString() };
          // Every node computes for its own sockets: no need to cross Redis.
          this.server?.local.to(followed.room).emit(SocketEvent.BreakdownUpdated, update);
        } catch (error) {
          this.logger.warn(`breakdown ${followed.room} not recomputed: ${(error as Error).message}`);
        }
      }
    } catch (error) {
      this.logger.warn(`breakdowns of pipeline ${pipelineId} not recomputed: ${(error as Error).message}`);
    } finally {
      entry.running = false;
      entry.lastCostMs = Date.now() - entry.lastRunAt;
      // Changes that came during the round: one more, no sooner than the interval.
      if (entry.pending && this.pipelines.get(pipelineId) === entry) this.stored(pipelineId);
    }
  }
}
