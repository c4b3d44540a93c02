import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import { PG_POOL, STORAGE_MODE } from '../database.tokens';
import type { ResolvedStorageMode } from '../migrations/1732752000001-event-storage';

/**
 * The layout of the event storage over time: daily partitions in native mode, a TimescaleDB
 * hypertable with policy jobs otherwise. Calls the functions the storage migration installed.
 */
@Injectable()
export class StorageRepository {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(STORAGE_MODE) private readonly mode: ResolvedStorageMode,
  ) {}

  /** Whether retention and compression are TimescaleDB policy jobs (else partitions dropped by Dash). */
  get usesPolicyJobs(): boolean {
    return this.mode === 'timescale';
  }

  /** Creates the daily partitions of the next week that are missing; how many (none with TimescaleDB, which makes chunks itself). */
  async ensurePartitions(): Promise<number> {
    if (this.mode !== 'native') return 0;
    const { rows } = await this.pool.query<{ created: number }>('SELECT dash_ensure_event_partitions(1, 7) AS created');
    return rows[0].created;
  }

  /** Native mode: drops the daily partitions older than `days`; how many. */
  async dropOldPartitions(days: number): Promise<number> {
    const { rows } = await this.pool.query<{ dropped: number }>('SELECT dash_drop_old_event_partitions($1) AS dropped', [days]);
    return rows[0].dropped;
  }

  /** TimescaleDB: sets the retention and compression policies (0 days: none); what was applied. Throws where policy jobs are unavailable. */
  async applyTimescalePolicies(eventDays: number, compressAfterDays: number): Promise<string> {
    const { rows } = await this.pool.query<{ applied: string }>('SELECT dash_apply_timescale_policies($1, $2) AS applied', [eventDays, compressAfterDays]);
    return rows[0].applied;
  }

  /** TimescaleDB without policy jobs: drops the chunks of events older than `days`. */
  async dropOldChunks(days: number): Promise<void> {
    await this.pool.query(`SELECT drop_chunks('events', older_than => make_interval(days => $1))`, [days]);
  }
}
