import { Inject, Injectable, Logger } from '@nestjs/common';
import { eventRecordJson, logText, LruCache, type IngestEvent, type PipelineStats } from '@dash/domain';
import { PG_POOL, STORAGE_MODE, toPipelineStats, type ResolvedStorageMode, type StatsRow } from '@dash/infra';
import type { Pool } from 'pg';
import { RECORD_FAILURE, writeBatchSql } from './event-writer.sql';

export interface WriteOutcome {
  /** New stats of every pipeline that stored at least one event. */
  stats: PipelineStats[];
  /** Events the database rejected, recorded in ingest_failures. */
  failed: number;
  /** Events of pipelines this database does not have, recorded in orphaned_events. */
  orphaned: number;
}

type WriteRow = StatsRow & { orphaned: string | null };

// Errors that one event's data can cause (data exception, integrity constraint, program limit):
// only these are isolated and recorded per event. Anything else (a missing table, a permission)
// is the database's or the deployment's fault and must not turn a whole stream into failures.
const DATA_SQLSTATE = /^(22|23|54)/;

export function isDataError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && DATA_SQLSTATE.test(code);
}

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
 * Writes batches of events with `pg` directly: one prepared statement per batch, the events as one
 * JSON parameter, that deduplicates, stores, updates rollups and stats in its own transaction (one
 * round trip and one socket write per flush, whatever its size). A batch the database rejects is split
 * in halves until the bad events are isolated and recorded; the rest is stored.
 */
@Injectable()
export class EventWriter {
  private readonly logger = new Logger(EventWriter.name);
  private readonly statement: { name: string; text: string };
  /** Pipelines already logged as missing: one warning per pipeline, not per event (bounded). */
  private readonly loggedMissing = new LruCache<string, true>(10_000);

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(STORAGE_MODE) mode: ResolvedStorageMode,
  ) {
    this.statement = { name: `dash_write_batch_${mode}`, text: writeBatchSql(mode) };
  }

  /** Throws on any error but a data error (those are isolated and recorded); the caller retries the whole batch. */
  async write(events: readonly IngestEvent[]): Promise<WriteOutcome> {
    const outcome: WriteOutcome = { stats: [], failed: 0, orphaned: 0 };
    await this.writeIsolating(uniqueEvents(events), outcome);
    return outcome;
  }

  private async writeIsolating(events: IngestEvent[], outcome: WriteOutcome): Promise<void> {
    if (events.length === 0) return;
    try {
      const { stats, orphaned } = await this.writeBatch(events);
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

  private async writeBatch(events: IngestEvent[]): Promise<{ stats: PipelineStats[]; orphaned: Map<string, number> }> {
    const client = await this.pool.connect();
    let broken = false;
    // A connection lost mid-query emits 'error' on the checked-out client (the pool only
    // listens to idle ones): without a listener it would crash the process.
    const onError = () => (broken = true);
    client.on('error', onError);
    try {
      const { rows } = await client.query<WriteRow>({ ...this.statement, values: [`[${events.map(eventRecordJson).join(',')}]`] });
      const stats: PipelineStats[] = [];
      const orphaned = new Map<string, number>();
      for (const row of rows) {
        if (row.orphaned === null) stats.push(toPipelineStats(row));
        else orphaned.set(row.pipeline_id, Number(row.orphaned));
      }
      return { stats, orphaned };
    } catch (error) {
      // A data error leaves the connection (and its prepared statement) fit for the next try.
      broken = broken || !isDataError(error);
      throw error;
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }

  private async recordFailure(event: IngestEvent, error: Error): Promise<void> {
    const reason = `${(error as { code?: string }).code ?? 'error'}: ${error.message}`;
    // The id and the database's message come from the sender's input: escaped, they stay on one line.
    this.logger.warn(`event ${logText(event.id)} of pipeline ${logText(event.pipelineId)} rejected by the database: ${logText(reason, 500)}`);
    // The event is kept as JSON text: the database may refuse it as jsonb (that can be the reason).
    const safeId = event.id.replaceAll('\u0000', '\uFFFD');
    await this.pool.query(RECORD_FAILURE, [event.pipelineId, safeId, eventRecordJson(event), reason]);
  }
}
