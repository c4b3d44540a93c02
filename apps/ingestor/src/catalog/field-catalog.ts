import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { LruCache, MAX_FIELD_EXAMPLES, MAX_FIELD_PATHS, payloadFields, type IngestEvent } from '@dash/domain';
import { DASH_CONFIG, FieldsRepository, type DashConfig, type FieldObservation, type FieldSampleCount } from '@dash/infra';

/** The first events of a pipeline this node sees are all sampled; after them, one a second. */
export const CATALOG_FIRST_EVENTS = 20;
export const CATALOG_SAMPLE_INTERVAL_MS = 1000;

/** The clock the sampler reads (a spec hands its own). */
export const CATALOG_CLOCK = Symbol('CATALOG_CLOCK');

interface Sampling {
  sampled: number;
  lastAt: number;
}

/**
 * Learns each pipeline's payload paths from the events stored (the field catalog). Sampled so that
 * its cost stays bounded whatever the rate: a pipeline's first CATALOG_FIRST_EVENTS events, then
 * at most one a second per pipeline; only sampled payloads are parsed. A flush's observations are
 * merged in memory and written in one statement, after the batch is committed.
 */
@Injectable()
export class FieldCatalog {
  private readonly logger = new Logger(FieldCatalog.name);
  private readonly sampling = new LruCache<string, Sampling>(10_000);

  /** FIELD_CATALOG=off: nothing is sampled (to measure what the catalog costs, or to spare it). */
  private readonly enabled: boolean;

  constructor(
    private readonly fields: FieldsRepository,
    @Optional() @Inject(CATALOG_CLOCK) private readonly now: () => number = Date.now,
    @Optional() @Inject(DASH_CONFIG) config?: Pick<DashConfig, 'fieldCatalog'>,
  ) {
    this.enabled = config?.fieldCatalog ?? true;
  }

  /** The events of this batch to learn from: of pipelines that stored events, within the sampling bounds. */
  pick(events: readonly IngestEvent[], storedPipelines: ReadonlySet<string>): IngestEvent[] {
    const picked: IngestEvent[] = [];
    if (!this.enabled) return picked;
    const now = this.now();
    for (const event of events) {
      if (!storedPipelines.has(event.pipelineId)) continue;
      const state = this.sampling.get(event.pipelineId) ?? { sampled: 0, lastAt: -Infinity };
      if (state.sampled >= CATALOG_FIRST_EVENTS && now - state.lastAt < CATALOG_SAMPLE_INTERVAL_MS) continue;
      this.sampling.set(event.pipelineId, { sampled: state.sampled + 1, lastAt: now });
      picked.push(event);
    }
    return picked;
  }

  /** What the sampled events say, one observation per (pipeline, path). */
  static observe(events: readonly IngestEvent[]): { observations: FieldObservation[]; samples: FieldSampleCount[] } {
    const byKey = new Map<string, FieldObservation>();
    const samples = new Map<string, number>();
    for (const event of events) {
      let payload: unknown;
      try {
        payload = JSON.parse(event.payloadJson);
      } catch {
        continue; // stored by the database, so valid JSON; never let a surprise here stop a flush
      }
      samples.set(event.pipelineId, (samples.get(event.pipelineId) ?? 0) + 1);
      const paths = new Set<string>();
      for (const field of payloadFields(payload)) {
        // A key repeated in the text (JSON.parse keeps the last) is one path.
        if (paths.has(field.path)) continue;
        paths.add(field.path);
        const key = `${event.pipelineId}\u0000${field.path}`;
        let observation = byKey.get(key);
        if (observation === undefined) {
          observation = { pipelineId: event.pipelineId, path: field.path, types: [], seen: 0, examples: [] };
          byKey.set(key, observation);
        }
        observation.seen += 1;
        if (!observation.types.includes(field.type)) observation.types.push(field.type);
        if (field.example !== undefined && observation.examples.length < MAX_FIELD_EXAMPLES && !observation.examples.includes(field.example)) observation.examples.push(field.example);
      }
    }
    // Shallow paths first, at most what a pipeline may hold: the database applies the bound exactly.
    const observations = [...byKey.values()].sort((a, b) => a.path.length - b.path.length);
    const perPipeline = new Map<string, number>();
    const kept = observations.filter((observation) => {
      const count = (perPipeline.get(observation.pipelineId) ?? 0) + 1;
      perPipeline.set(observation.pipelineId, count);
      return count <= MAX_FIELD_PATHS;
    });
    return { observations: kept, samples: [...samples].map(([pipelineId, sampled]) => ({ pipelineId, sampled })) };
  }

  /** Learns from a committed batch. Never throws: the catalog is a convenience, the events are stored. */
  async learn(events: readonly IngestEvent[], storedPipelines: ReadonlySet<string>): Promise<void> {
    const picked = this.pick(events, storedPipelines);
    if (picked.length === 0) return;
    const { observations, samples } = FieldCatalog.observe(picked);
    try {
      await this.fields.record(observations, samples);
    } catch (error) {
      this.logger.warn(`field catalog not updated: ${(error as Error).message}`);
    }
  }
}
