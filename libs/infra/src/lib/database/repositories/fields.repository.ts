import { Inject, Injectable } from '@nestjs/common';
import { MAX_FIELD_EXAMPLES, MAX_FIELD_PATHS, type FieldView, type JsonType, type PayloadField } from '@dash/domain';
import type { Pool } from 'pg';
import { PG_POOL } from '../database.tokens';

/** What one flush learned about one path of one pipeline, from its sampled events. */
export interface FieldObservation {
  pipelineId: string;
  path: string;
  types: JsonType[];
  /** Sampled events that carried the path. */
  seen: number;
  examples: Array<NonNullable<PayloadField['example']> | null>;
}

/** How many events of a pipeline one flush sampled. */
export interface FieldSampleCount {
  pipelineId: string;
  sampled: number;
}

interface FieldRow {
  path: string;
  types: JsonType[];
  seen: string;
  sampled: string;
  examples: FieldView['examples'];
  first_seen_at: Date;
  last_seen_at: Date;
}

/**
 * Merges a flush's observations into the catalog in one statement. New paths of a pipeline are
 * taken, shallow first, only up to MAX_FIELD_PATHS (its paths counted once per statement: writers
 * racing on one pipeline may pass the bound by one flush's paths, never grow it without end).
 * Examples keep the first distinct values seen. Rows go in (pipeline, path) order so that two
 * writers never wait on each other's rows in opposite orders.
 */
const UPSERT_SQL = `
  WITH input AS (
    SELECT r."pipelineId" AS pipeline_id, r.path, r.types, r.seen, r.examples
    FROM jsonb_to_recordset($1::jsonb) AS r("pipelineId" uuid, path text, types text[], seen bigint, examples jsonb)
    WHERE EXISTS (SELECT 1 FROM pipelines p WHERE p.id = r."pipelineId")
  ), samples AS (
    INSERT INTO field_samples AS s (pipeline_id, sampled)
    SELECT r."pipelineId", r.sampled FROM jsonb_to_recordset($2::jsonb) AS r("pipelineId" uuid, sampled bigint)
    WHERE EXISTS (SELECT 1 FROM pipelines p WHERE p.id = r."pipelineId")
    ORDER BY 1
    ON CONFLICT (pipeline_id) DO UPDATE SET sampled = s.sampled + excluded.sampled
  ), held AS (
    SELECT c.pipeline_id, count(*) AS n FROM field_catalog c WHERE c.pipeline_id IN (SELECT pipeline_id FROM input) GROUP BY 1
  ), ranked AS (
    SELECT i.*, k.path IS NOT NULL AS known, coalesce(h.n, 0) AS held,
      row_number() OVER (PARTITION BY i.pipeline_id, k.path IS NULL ORDER BY length(i.path), i.path) AS rank
    FROM input i
    LEFT JOIN field_catalog k ON k.pipeline_id = i.pipeline_id AND k.path = i.path
    LEFT JOIN held h ON h.pipeline_id = i.pipeline_id
  )
  INSERT INTO field_catalog AS c (pipeline_id, path, types, seen, examples, first_seen_at, last_seen_at)
  SELECT pipeline_id, path, types, seen, examples, now(), now() FROM ranked
  WHERE known OR held + rank <= $3
  ORDER BY pipeline_id, path
  ON CONFLICT (pipeline_id, path) DO UPDATE SET
    types = ARRAY(SELECT DISTINCT t FROM unnest(c.types || excluded.types) t ORDER BY t),
    seen = c.seen + excluded.seen,
    -- coalesce: a path with no examples on either side (an object, an array) aggregates no rows.
    examples = CASE WHEN jsonb_array_length(c.examples) >= $4 THEN c.examples ELSE coalesce((
      SELECT jsonb_agg(v ORDER BY o) FROM (
        SELECT v, min(o) AS o FROM (
          SELECT v, o FROM jsonb_array_elements(c.examples) WITH ORDINALITY a(v, o)
          UNION ALL SELECT v, o + $4 FROM jsonb_array_elements(excluded.examples) WITH ORDINALITY b(v, o)
        ) u GROUP BY v ORDER BY min(o) LIMIT $4
      ) d), '[]'::jsonb) END,
    last_seen_at = excluded.last_seen_at`;

/** The field catalog: what the ingestor learns of each pipeline's payloads, and what the API lists. */
@Injectable()
export class FieldsRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  async record(observations: readonly FieldObservation[], samples: readonly FieldSampleCount[]): Promise<void> {
    if (samples.length === 0) return;
    await this.pool.query(UPSERT_SQL, [JSON.stringify(observations), JSON.stringify(samples), MAX_FIELD_PATHS, MAX_FIELD_EXAMPLES]);
  }

  /** A pipeline's catalog, by path. */
  async list(pipelineId: string): Promise<FieldView[]> {
    const { rows } = await this.pool.query<FieldRow>(
      `SELECT c.path, c.types, c.seen, s.sampled, c.examples, c.first_seen_at, c.last_seen_at
       FROM field_catalog c JOIN field_samples s USING (pipeline_id) WHERE c.pipeline_id = $1 ORDER BY c.path`,
      [pipelineId],
    );
    return rows.map((row) => ({
      path: row.path,
      types: row.types,
      // Rounded: four decimals say enough of a sample's share.
      share: Math.min(1, Math.round((Number(row.seen) / Math.max(1, Number(row.sampled))) * 10_000) / 10_000),
      examples: row.examples,
      firstSeenAt: row.first_seen_at.toISOString(),
      lastSeenAt: row.last_seen_at.toISOString(),
    }));
  }
}
