import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { PipelineSource } from '@dash/domain';

/** The outcome of a poll source's latest poll. */
export interface LastPoll {
  at: string;
  status: 'ok' | 'error';
  /** Items fetched (events stored is at most this: repeats are deduplicated). */
  items: number;
  error: string | null;
  /** The cursor value sent with the next poll, when the source has a cursor. */
  cursor?: string | null;
}

@Entity({ name: 'pipelines' })
export class PipelineEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column('text')
  name!: string;

  @Column('jsonb')
  source!: PipelineSource;

  @Column('text', { name: 'event_id_path', default: 'id' })
  eventIdPath!: string;

  @Column('text', { name: 'event_time_path', default: 'timestamp' })
  eventTimePath!: string;

  @Column('text', { name: 'event_type_path', default: 'type' })
  eventTypePath!: string;

  @Column('text', { name: 'signing_secret' })
  signingSecret!: string;

  @Column('text', { name: 'previous_secret', nullable: true })
  previousSecret!: string | null;

  @Column('timestamptz', { name: 'previous_secret_expires_at', nullable: true })
  previousSecretExpiresAt!: Date | null;

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
