import { Inject, Injectable } from '@nestjs/common';
import type { PipelineSource } from '@dash/domain';
import { DataSource, type Repository } from 'typeorm';
import { STORAGE_MODE } from '../database.tokens';
import { PipelineEntity, type LastPoll } from '../entities';
import type { ResolvedStorageMode } from '../migrations/1732752000001-event-storage';

/** What a new pipeline is made of; the rest (id, times, previous secret, last poll) the database fills. */
export type NewPipeline = Pick<PipelineEntity, 'name' | 'source' | 'eventIdPath' | 'eventTimePath' | 'eventTypePath' | 'signingSecret'>;

/** The fields a change may set (by TypeORM: `updated_at` follows). */
export type PipelineChanges = Partial<Omit<PipelineEntity, 'id' | 'createdAt' | 'updatedAt'>>;

/**
 * `pipelines`: the low-volume API through TypeORM's entity, plus the few plain statements of the
 * poll sources. Removing a pipeline removes its stored events, claims and (native) rollups in the
 * same transaction, so this repository knows which rollups are tables.
 */
@Injectable()
export class PipelinesRepository {
  private readonly pipelines: Repository<PipelineEntity>;

  constructor(
    private readonly dataSource: DataSource,
    @Inject(STORAGE_MODE) private readonly mode: ResolvedStorageMode,
  ) {
    this.pipelines = dataSource.getRepository(PipelineEntity);
  }

  findById(id: string): Promise<PipelineEntity | null> {
    return this.pipelines.findOneBy({ id });
  }

  /** Every pipeline, oldest first. */
  list(): Promise<PipelineEntity[]> {
    return this.pipelines.find({ order: { createdAt: 'ASC' } });
  }

  /** Stores a pipeline with its (empty) stats row, in one transaction. */
  create(fields: NewPipeline): Promise<PipelineEntity> {
    return this.dataSource.transaction(async (manager) => {
      const saved = await manager.save(manager.create(PipelineEntity, fields));
      await manager.query('INSERT INTO pipeline_stats (pipeline_id) VALUES ($1)', [saved.id]);
      return saved;
    });
  }

  save(entity: PipelineEntity): Promise<PipelineEntity> {
    return this.pipelines.save(entity);
  }

  async update(id: string, changes: PipelineChanges): Promise<void> {
    await this.pipelines.update(id, changes);
  }

  /** Takes back a pipeline just created (its stats row follows by cascade); nothing was stored for it yet. */
  async deleteNew(id: string): Promise<void> {
    await this.dataSource.query('DELETE FROM pipelines WHERE id = $1', [id]);
  }

  /** Removes a pipeline and everything stored for it, in one transaction. */
  async delete(id: string): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      await manager.query('DELETE FROM pipelines WHERE id = $1', [id]);
      await manager.query('DELETE FROM event_ids WHERE pipeline_id = $1', [id]);
      await manager.query('DELETE FROM events WHERE pipeline_id = $1', [id]);
      // TimescaleDB's continuous aggregates follow the raw events on their next refresh.
      if (this.mode === 'native') {
        await manager.query('DELETE FROM event_counts_1m WHERE pipeline_id = $1', [id]);
        await manager.query('DELETE FROM event_counts_1h WHERE pipeline_id = $1', [id]);
      }
    });
  }

  /** Which of these ids are pipelines. */
  async existing(ids: readonly string[]): Promise<string[]> {
    const rows = (await this.dataSource.query('SELECT id FROM pipelines WHERE id = ANY($1::uuid[])', [ids])) as Array<{ id: string }>;
    return rows.map((row) => row.id);
  }

  /** Every pipeline with a poll source, with that source (what the poll schedules follow). */
  async pollSources(): Promise<Array<{ id: string; source: PipelineSource }>> {
    return (await this.dataSource.query("SELECT id, source FROM pipelines WHERE source->>'type' = 'poll'")) as Array<{ id: string; source: PipelineSource }>;
  }

  /** Records a poll's outcome; `updated_at` stays (a poll is not a change of the pipeline). */
  async recordPoll(id: string, result: LastPoll): Promise<void> {
    await this.dataSource.query('UPDATE pipelines SET last_poll = $2 WHERE id = $1', [id, JSON.stringify(result)]);
  }
}
