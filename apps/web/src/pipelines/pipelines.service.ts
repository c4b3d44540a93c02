import { Inject, Injectable } from '@nestjs/common';
import { DashError, DEFAULT_EVENT_PATHS, generateSigningSecret, sourceForViewer, type PipelineSource, type PipelineView } from '@dash/domain';
import { assertPublicUrl, DASH_CONFIG, DimensionsRepository, PipelinesRepository, StatsRepository, type DashConfig, type PipelineEntity, type StatsSummary } from '@dash/infra';
import { PipelineChangesPublisher } from './pipeline-changes';
import { PollScheduler, redisUnavailable } from './poll-scheduler';
import { isUuid, type CreatePipeline, type UpdatePipeline } from './pipelines.schemas';

/** How long a rotated-out secret keeps verifying signatures. */
export const PREVIOUS_SECRET_GRACE_MS = 24 * 60 * 60 * 1000;

@Injectable()
export class PipelinesService {
  constructor(
    private readonly pipelines: PipelinesRepository,
    private readonly stats: StatsRepository,
    private readonly changes: PipelineChangesPublisher,
    private readonly polls: PollScheduler,
    @Inject(DASH_CONFIG) private readonly config: DashConfig,
    private readonly dimensions: DimensionsRepository,
  ) {}

  /**
   * A change that needs Redis (a poll schedule, other nodes' caches) is refused up front while
   * Redis is away: 503 with Retry-After and nothing changed, rather than a request that hangs while
   * the database already holds the change (a client retrying a create would get a duplicate).
   */
  private requireRedis(what: string): void {
    if (!this.polls.available) throw redisUnavailable(what);
  }

  async create(input: CreatePipeline): Promise<PipelineView & { signingSecret: string }> {
    // A webhook pipeline needs nothing of Redis: a new id is in no cache and has no schedule.
    if (input.source.type === 'poll') this.requireRedis('creating a poll pipeline');
    await this.assertReachable(input.source);
    const signingSecret = generateSigningSecret();
    const entity = await this.pipelines.create({
      name: input.name,
      source: input.source,
      eventIdPath: input.eventIdPath ?? DEFAULT_EVENT_PATHS.eventIdPath,
      eventTimePath: input.eventTimePath ?? DEFAULT_EVENT_PATHS.eventTimePath,
      eventTypePath: input.eventTypePath ?? DEFAULT_EVENT_PATHS.eventTypePath,
      signingSecret,
    });
    if (entity.source.type === 'poll') {
      try {
        await this.polls.sync(entity);
      } catch (error) {
        // Committed first (so reconciliation never takes its schedule for an orphan), taken back
        // when the schedule cannot be set: the answer is 503 and nothing is left half-made.
        await this.pipelines.deleteNew(entity.id);
        await this.polls.unschedule(entity.id).catch(() => undefined);
        throw redisUnavailable(`creating a poll pipeline (${(error as Error).message})`);
      }
    }
    await this.changes.announce({ pipelineId: entity.id, change: 'created' });
    return { ...(await this.view(entity)), signingSecret };
  }

  /** The pipelines `visible` lets through; `admin: false` hides a poll source's credentials (a viewer's view). */
  async list(visible: (id: string) => boolean, admin = true): Promise<PipelineView[]> {
    const entities = await this.pipelines.list();
    const shown = entities.filter((entity) => visible(entity.id));
    const stats = await this.stats.summaries(shown.map((entity) => entity.id));
    return shown.map((entity) => shownTo(toView(entity, stats.get(entity.id)), admin));
  }

  async get(id: string, admin = true): Promise<PipelineView> {
    const entity = await this.entity(id);
    return shownTo({ ...(await this.view(entity)), backfill: await this.dimensions.progress(entity.id) }, admin);
  }

  async update(id: string, input: UpdatePipeline): Promise<PipelineView> {
    const entity = await this.entity(id);
    this.requireRedis('updating a pipeline');
    if (input.source) await this.assertReachable(input.source);
    const { dimensions, measures, ...rest } = input;
    // Declared in their own transaction, between two batches of the writer (a backfill takes the events before).
    if (dimensions !== undefined || measures !== undefined) {
      await this.dimensions.declare(id, dimensions ?? entity.dimensions, measures ?? entity.measures);
      Object.assign(entity, { dimensions: dimensions ?? entity.dimensions, measures: measures ?? entity.measures });
    }
    Object.assign(entity, Object.fromEntries(Object.entries(rest).filter(([, value]) => value !== undefined)));
    const saved = await this.pipelines.save(entity);
    await this.changes.announce({ pipelineId: id, change: 'updated' });
    try {
      await this.polls.sync(saved);
    } catch (error) {
      // Redis left between the check and now: the database holds the change, the schedule follows
      // when Redis is back (reconciliation); a retry of the same PATCH is harmless.
      throw redisUnavailable(`the pipeline was saved but its poll schedule was not (${(error as Error).message}); it is set when Redis is back`);
    }
    return this.view(saved);
  }

  async remove(id: string): Promise<void> {
    await this.entity(id);
    this.requireRedis('deleting a pipeline');
    await this.pipelines.delete(id);
    await this.changes.announce({ pipelineId: id, change: 'deleted' });
    // Gone from the database, which is what counts: a schedule left behind (Redis lost meanwhile)
    // polls nothing and is removed by reconciliation.
    await this.polls.unschedule(id).catch(() => undefined);
  }

  /** Runs the pipeline's poll now (on an ingestor) and answers with the outcome. */
  async pollNow(id: string): Promise<NonNullable<PipelineView['lastPoll']>> {
    const entity = await this.entity(id);
    if (entity.source.type !== 'poll') throw new DashError(400, 'invalid_request', 'this pipeline has no poll source');
    return this.polls.runNow(id);
  }

  /** A new secret; the previous one keeps working for 24 hours. */
  async rotateSecret(id: string): Promise<{ signingSecret: string; previousSecretExpiresAt: string }> {
    const entity = await this.entity(id);
    // Every node's cache must learn the new secret (announced over Redis).
    this.requireRedis('rotating the secret');
    const signingSecret = generateSigningSecret();
    const expiresAt = new Date(Date.now() + PREVIOUS_SECRET_GRACE_MS);
    await this.pipelines.update(id, { previousSecret: entity.signingSecret, previousSecretExpiresAt: expiresAt, signingSecret });
    await this.changes.announce({ pipelineId: id, change: 'secret_rotated' });
    return { signingSecret, previousSecretExpiresAt: expiresAt.toISOString() };
  }

  exists(ids: readonly string[]): Promise<string[]> {
    return this.pipelines.existing(ids);
  }

  private async entity(id: string): Promise<PipelineEntity> {
    const entity = isUuid(id) ? await this.pipelines.findById(id) : null;
    if (!entity) throw new DashError(404, 'not_found', `no pipeline ${id}`);
    return entity;
  }

  /** A poll source may only name a public address (SSRF), unless OUTBOUND_ALLOW_PRIVATE; the ingestor checks again at connection time. */
  private async assertReachable(source: PipelineSource): Promise<void> {
    if (source.type === 'poll') await assertPublicUrl(source.url, this.config.outbound.allowPrivate);
  }

  private async view(entity: PipelineEntity): Promise<PipelineView> {
    return toView(entity, (await this.stats.summaries([entity.id])).get(entity.id));
  }
}

function shownTo(view: PipelineView, admin: boolean): PipelineView {
  return admin ? view : { ...view, source: sourceForViewer(view.source) };
}

function toView(entity: PipelineEntity, stats?: StatsSummary): PipelineView {
  return {
    id: entity.id,
    name: entity.name,
    source: entity.source,
    eventIdPath: entity.eventIdPath,
    eventTimePath: entity.eventTimePath,
    eventTypePath: entity.eventTypePath,
    dimensions: entity.dimensions ?? [],
    measures: entity.measures ?? [],
    webhookPath: `/webhooks/${entity.id}`,
    createdAt: entity.createdAt.toISOString(),
    updatedAt: entity.updatedAt.toISOString(),
    count: stats?.count ?? 0,
    lastEventAt: stats?.lastEventAt ?? null,
    lastPoll: entity.lastPoll,
  };
}
