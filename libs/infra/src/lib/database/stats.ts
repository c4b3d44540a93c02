import type { PipelineStats, StoredEvent } from '@dash/domain';

/** A `pipeline_stats` row as selected by STATS_COLUMNS. */
export interface StatsRow {
  pipeline_id: string;
  count: string;
  version: string;
  last_event: StoredEvent | null;
  last_event_at: Date | null;
}

export const STATS_COLUMNS = 'pipeline_id, count, version, last_event, last_event_at';

export function toPipelineStats(row: StatsRow): PipelineStats {
  return {
    pipelineId: row.pipeline_id,
    count: Number(row.count),
    lastEvent: row.last_event,
    lastEventAt: row.last_event_at ? row.last_event_at.toISOString() : null,
    version: Number(row.version),
  };
}

export function emptyStats(pipelineId: string): PipelineStats {
  return { pipelineId, count: 0, lastEvent: null, lastEventAt: null, version: 0 };
}
