import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import type { IngestEvent } from '@dash/domain';
import { DASH_CONFIG, DashMetrics, type DashConfig } from '@dash/infra';
import { FieldCatalog } from '../catalog/field-catalog';
import { LivePublisher } from '../live/live-publisher';
import { EventWriter, isDataError, type WriteOutcome } from '../writer/event-writer';
import { EventBuffer } from './event-buffer';

/** FNV-1a: a cheap, stable hash so one pipeline always lands in the same partition. */
function partitionOf(pipelineId: string, partitions: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < pipelineId.length; i++) hash = Math.imul(hash ^ pipelineId.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % partitions;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * `BUFFER_PARTITIONS` group-commit buffers, partitioned by pipeline. A flush writes its batch
 * (retrying while the database is unreachable), announces the new stats live, then lets the
 * field catalog learn from a sample of it.
 */
@Injectable()
export class BufferService {
  private readonly logger = new Logger(BufferService.name);
  private readonly partitions: EventBuffer<IngestEvent>[];
  private stopping = false;
  /** Events handed to `add` and not yet settled (buffered, in flight, or waiting for the database). */
  private heldEvents = 0;
  /** Flushes currently waiting for an unreachable database. */
  private retrying = 0;

  constructor(
    @Inject(DASH_CONFIG) config: DashConfig,
    // Only what a flush asks of each (a unit spec hands fakes).
    @Inject(EventWriter) private readonly writer: Pick<EventWriter, 'write'>,
    @Inject(LivePublisher) private readonly publisher: Pick<LivePublisher, 'publish'>,
    private readonly metrics: DashMetrics,
    @Optional() @Inject(FieldCatalog) private readonly catalog?: Pick<FieldCatalog, 'learn'>,
  ) {
    this.partitions = Array.from({ length: config.buffer.partitions }, () => new EventBuffer<IngestEvent>((events) => this.flush(events), config.buffer));
  }

  /** Resolves once every event is committed (or recorded as a failure). */
  async add(events: readonly IngestEvent[]): Promise<void> {
    this.heldEvents += events.length;
    try {
      await this.addToPartitions(events);
    } finally {
      this.heldEvents -= events.length;
    }
  }

  private async addToPartitions(events: readonly IngestEvent[]): Promise<void> {
    const count = this.partitions.length;
    if (count === 1) return this.partitions[0].add(events);
    const groups = new Map<number, IngestEvent[]>();
    for (const event of events) {
      const index = partitionOf(event.pipelineId, count);
      const group = groups.get(index);
      if (group) group.push(event);
      else groups.set(index, [event]);
    }
    await Promise.all([...groups].map(([index, group]) => this.partitions[index].add(group)));
  }

  /** Events buffered and not yet committed on this node. */
  get backlog(): number {
    return this.partitions.reduce((sum, buffer) => sum + buffer.size, 0);
  }

  /** Events this node holds in memory until they are committed: what the high-water mark bounds. */
  get held(): number {
    return this.heldEvents;
  }

  /** True while some flush is retrying against an unreachable database. */
  get degraded(): boolean {
    return this.retrying > 0;
  }

  /** Shutdown: flush whatever waits now instead of after `BUFFER_MAX_WAIT_MS`. */
  flushNow(): void {
    for (const buffer of this.partitions) buffer.flushNow();
  }

  /** After this, a flush that meets an unreachable database fails instead of waiting for it. */
  stop(): void {
    this.stopping = true;
  }

  private async flush(events: IngestEvent[]): Promise<void> {
    let waiting = false;
    let stats: WriteOutcome['stats'];
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          const outcome = await this.writer.write(events);
          if (attempt > 1) this.logger.log(`database back: ${events.length} events committed after ${attempt} attempts`);
          this.metrics.eventsStored.inc(events.length - outcome.failed - outcome.orphaned);
          if (outcome.failed > 0) this.metrics.eventsFailed.inc(outcome.failed);
          if (outcome.orphaned > 0) this.metrics.eventsOrphaned.inc(outcome.orphaned);
          stats = outcome.stats;
          break;
        } catch (error) {
          // The database is away or refuses for a reason no single event causes: wait and retry
          // (the events stay acknowledged and queued; nothing is dropped or recorded as poison).
          if (isDataError(error) || this.stopping) throw error;
          if (!waiting) {
            waiting = true;
            this.retrying += 1;
          }
          // Capped exponential backoff: 200 ms, 400 ms, ... 2 s, so a returning database is used within 2 s.
          const delay = Math.min(100 * 2 ** attempt, 2000);
          if (attempt === 1 || attempt % 10 === 0) this.logger.warn(`database unavailable (${(error as Error).message}); retrying ${events.length} events in ${delay} ms (attempt ${attempt})`);
          await sleep(delay);
        }
      }
    } finally {
      if (waiting) this.retrying -= 1;
    }
    // Outside the retry loop: the events are committed; a live update that cannot be sent is logged,
    // never taken for a database outage (that would pause intake for every pipeline) nor a failed job.
    try {
      this.publisher.publish(stats);
    } catch (error) {
      this.logger.error(`live update not sent: ${(error as Error).message}`);
    }
    // After the live update, so that sampling never delays it; awaited, so that it holds this buffer
    // (one catalog statement at a time per buffer, at most).
    if (this.catalog && stats.length > 0) await this.catalog.learn(events, new Set(stats.map((s) => s.pipelineId)));
  }
}
