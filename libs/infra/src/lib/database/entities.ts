import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import { DEFAULT_EVENT_PATHS, type LastPoll, type PipelineSource } from '@dash/domain';

export type { LastPoll } from '@dash/domain';

@Entity({ name: 'pipelines' })
export class PipelineEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column('text')
  name!: string;

  @Column('jsonb')
  source!: PipelineSource;

  @Column('text', { name: 'event_id_path', default: DEFAULT_EVENT_PATHS.eventIdPath })
  eventIdPath!: string;

  @Column('text', { name: 'event_time_path', default: DEFAULT_EVENT_PATHS.eventTimePath })
  eventTimePath!: string;

  @Column('text', { name: 'event_type_path', default: DEFAULT_EVENT_PATHS.eventTypePath })
  eventTypePath!: string;

  @Column('text', { name: 'signing_secret' })
  signingSecret!: string;

  @Column('text', { name: 'previous_secret', nullable: true })
  previousSecret!: string | null;

  @Column('timestamptz', { name: 'previous_secret_expires_at', nullable: true })
  previousSecretExpiresAt!: Date | null;

  /** Payload paths the writer keeps rollups by (besides the event type, always one). */
  @Column('text', { array: true, default: () => "'{}'" })
  dimensions!: string[];

  /** Numeric payload paths whose count, sum, min and max the rollups keep. */
  @Column('text', { array: true, default: () => "'{}'" })
  measures!: string[];

  @Column('jsonb', { name: 'last_poll', nullable: true })
  lastPoll!: LastPoll | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}

@Entity({ name: 'api_tokens' })
export class ApiTokenEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  /** SHA-256 of the token; the token itself is shown once and never stored. */
  @Column('bytea', { name: 'token_hash', unique: true })
  tokenHash!: Buffer;

  @Column('uuid', { name: 'pipeline_ids', array: true })
  pipelineIds!: string[];

  @Column('text', { nullable: true })
  label!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  /** Written at most once a minute per token and node, off the request path. */
  @Column('timestamptz', { name: 'last_used_at', nullable: true })
  lastUsedAt!: Date | null;
}

export const ENTITIES = [PipelineEntity, ApiTokenEntity];
