import { Injectable, Logger } from '@nestjs/common';
import { logText, LruCache, type IngestEvent, type PipelineStats } from '@dash/domain';
import { EventsRepository, FailuresRepository, isDataError } from '@dash/infra';

export interface WriteOutcome {
  /** New stats of every pipeline that stored at least one event. */
  stats: PipelineStats[];
  /** Events the database rejected, recorded in ingest_failures. */
  failed: number;
  /** The pipelines those failures were recorded for (each once). */
  failedPipelines: string[];
  /** Events of pipelines this database does not have, recorded in orphaned_events. */
  orphaned: number;
}

// Re-exported: the buffer decides on retries with it.
export { isDataError };

/** Removes repeats of (pipeline, event id) within a batch, keeping the first. */
export function uniqueEvents(events: readonly IngestEvent[]): IngestEvent[] {
  const seen = new Set<string>();
  const unique: IngestEvent[] = [];
  for (const event of events) {
    const key = `${event.pipelineId}\u0000${event.id}`;
    if (seen.has(key)) continue;
    seen.add(key);
    unique.push(event);
  }
  return unique;
}

/**
 * Writes batches of events through EventsRepository's one statement per batch (deduplicates, stores,
 * updates rollups and stats in its own transaction: one round trip per flush, whatever its size). A
 * batch the database rejects is split in halves until the bad events are isolated and recorded in
 * the failures; the rest is stored.
 */
@Injectable()
export class EventWriter {
  private readonly logger = new Logger(EventWriter.name);
  /** Pipelines already logged as missing: one warning per pipeline, not per event (bounded). */
  private readonly loggedMissing = new LruCache<string, true>(10_000);

  constructor(
    private readonly events: EventsRepository,
    private readonly failures: FailuresRepository,
  ) {}

  /** Throws on any error but a data error (those are isolated and recorded); the caller retries the whole batch. */
  async write(events: readonly IngestEvent[]): Promise<WriteOutcome> {
    const outcome: WriteOutcome = { stats: [], failed: 0, failedPipelines: [], orphaned: 0 };
    await this.writeIsolating(uniqueEvents(events), outcome);
    return outcome;
  }

  private async writeIsolating(events: IngestEvent[], outcome: WriteOutcome): Promise<void> {
    if (events.length === 0) return;
    try {
      const { stats, orphaned } = await this.events.writeBatch(events);
      for (const [pipelineId, count] of orphaned) this.noteOrphans(pipelineId, count, outcome);
      for (const s of stats) {
        const index = outcome.stats.findIndex((existing) => existing.pipelineId === s.pipelineId);
        if (index < 0) outcome.stats.push(s);
        else if (s.version > outcome.stats[index].version) outcome.stats[index] = s;
      }
    } catch (error) {
      if (!isDataError(error)) throw error;
      if (events.length === 1) {
        await this.recordFailure(events[0], error as Error);
        outcome.failed += 1;
        if (!outcome.failedPipelines.includes(events[0].pipelineId)) outcome.failedPipelines.push(events[0].pipelineId);
        return;
      }
      const middle = events.length >> 1;
      await this.writeIsolating(events.slice(0, middle), outcome);
      await this.writeIsolating(events.slice(middle), outcome);
    }
  }

  private noteOrphans(pipelineId: string, count: number, outcome: WriteOutcome): void {
    outcome.orphaned += count;
    if (this.loggedMissing.has(pipelineId)) return;
    this.loggedMissing.set(pipelineId, true);
    this.logger.warn(
      `events of pipeline ${pipelineId}, which this database does not have, were recorded in orphaned_events (${count} so far in this batch; ` +
        `a deleted pipeline, or another deployment sharing this Redis and DASH_KEY_PREFIX)`,
    );
  }

  private async recordFailure(event: IngestEvent, error: Error): Promise<void> {
    const reason = `${(error as { code?: string }).code ?? 'error'}: ${error.message}`;
    // The id and the database's message come from the sender's input: escaped, they stay on one line.
    this.logger.warn(`event ${logText(event.id)} of pipeline ${logText(event.pipelineId)} rejected by the database: ${logText(reason, 500)}`);
    await this.failures.record(event, reason);
  }
}
