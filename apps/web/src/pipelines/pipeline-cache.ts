import { Inject, Injectable, Optional } from '@nestjs/common';
import { decodeSigningSecret, LruCache } from '@dash/domain';
import { PipelinesRepository, type PipelineEntity } from '@dash/infra';
import { isUuid } from './pipelines.schemas';

/** What intake needs of a pipeline, with its HMAC keys decoded once. */
export interface CachedPipeline {
  entity: PipelineEntity;
  currentKey: Buffer;
  previousKey: Buffer | null;
  previousKeyUntil: number;
}

// Entries are refreshed at least this often even if a change announcement was missed.
const TTL_MS = 30_000;
const MISS_TTL_MS = 5_000;
const MAX_ENTRIES = 50_000;
// Unknown ids live apart, in a smaller cache: a flood of random ids evicts only other misses,
// never the pipelines that real senders are using.
const MAX_MISSES = 5_000;

/** Caps of the two caches (tests use small ones). */
export interface PipelineCacheLimits {
  maxEntries: number;
  maxMisses: number;
}
export const PIPELINE_CACHE_LIMITS = 'PIPELINE_CACHE_LIMITS';

interface Entry<T> {
  value: T;
  until: number;
}

/**
 * Every node's cache of pipelines for the hot path. Changes made on any node are announced
 * over the NestJS Redis transport and evict the entry here (see PipelineChangesController).
 */
@Injectable()
export class PipelineCache {
  private readonly entries: LruCache<string, Entry<CachedPipeline>>;
  private readonly misses: LruCache<string, Entry<null>>;
  private readonly loading = new Map<string, Promise<CachedPipeline | null>>();
  /** Bumped by every eviction, so a load that started before a change cannot cache stale data. */
  private generation = 0;

  constructor(
    private readonly pipelines: PipelinesRepository,
    @Optional() @Inject(PIPELINE_CACHE_LIMITS) limits?: PipelineCacheLimits,
  ) {
    this.entries = new LruCache(limits?.maxEntries ?? MAX_ENTRIES);
    this.misses = new LruCache(limits?.maxMisses ?? MAX_MISSES);
  }

  async get(rawId: string): Promise<CachedPipeline | null> {
    if (!isUuid(rawId)) return null;
    const id = rawId.toLowerCase();
    const now = Date.now();
    const entry = this.entries.get(id) ?? this.misses.get(id);
    if (entry && entry.until > now) return entry.value;
    // One database read per id at a time, however many requests wait for it.
    let load = this.loading.get(id);
    if (!load) {
      const started = this.load(id).finally(() => {
        if (this.loading.get(id) === started) this.loading.delete(id);
      });
      load = started;
      this.loading.set(id, started);
    }
    return load;
  }

  /** HMAC keys valid now: the current secret, and the previous one during its grace period. */
  keysOf(pipeline: CachedPipeline, now = Date.now()): Buffer[] {
    return pipeline.previousKey && pipeline.previousKeyUntil > now ? [pipeline.currentKey, pipeline.previousKey] : [pipeline.currentKey];
  }

  evict(id: string): void {
    this.generation += 1;
    this.entries.delete(id);
    this.misses.delete(id);
    this.loading.delete(id);
  }

  /** Forgets every entry (after a Redis reconnect: changes announced meanwhile were missed). */
  clear(): void {
    this.generation += 1;
    this.entries.clear();
    this.misses.clear();
    this.loading.clear();
  }

  private async load(id: string): Promise<CachedPipeline | null> {
    const generation = this.generation;
    const entity = await this.pipelines.findById(id);
    const value: CachedPipeline | null = entity
      ? {
          entity,
          currentKey: decodeSigningSecret(entity.signingSecret),
          previousKey: entity.previousSecret ? decodeSigningSecret(entity.previousSecret) : null,
          previousKeyUntil: entity.previousSecretExpiresAt?.getTime() ?? 0,
        }
      : null;
    if (generation !== this.generation) return value;
    if (value) {
      this.misses.delete(id);
      this.entries.set(id, { value, until: Date.now() + TTL_MS });
    } else {
      this.entries.delete(id);
      this.misses.set(id, { value: null, until: Date.now() + MISS_TTL_MS });
    }
    return value;
  }

  /** Entries held: pipelines found, and ids found missing (bounded separately). */
  get size(): { hits: number; misses: number } {
    return { hits: this.entries.size, misses: this.misses.size };
  }
}
