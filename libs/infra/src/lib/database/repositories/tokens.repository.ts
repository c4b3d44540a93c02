import { Injectable } from '@nestjs/common';
import { DataSource, type Repository } from 'typeorm';
import { ApiTokenEntity } from '../entities';

/** A viewer token as listed (never its hash). */
export interface TokenRow {
  id: string;
  label: string | null;
  pipeline_ids: string[];
  created_at: Date;
  last_used_at: Date | null;
}

/** `api_tokens`: viewer tokens, stored only as SHA-256 hashes. */
@Injectable()
export class TokensRepository {
  private readonly tokens: Repository<ApiTokenEntity>;

  constructor(private readonly dataSource: DataSource) {
    this.tokens = dataSource.getRepository(ApiTokenEntity);
  }

  /** The token with this hash (an index probe, not a comparison that leaks timing). */
  findByHash(hash: Buffer): Promise<Pick<ApiTokenEntity, 'id' | 'pipelineIds'> | null> {
    return this.tokens.findOne({ where: { tokenHash: hash }, select: { id: true, pipelineIds: true } });
  }

  async insert(hash: Buffer, pipelineIds: readonly string[], label: string | null): Promise<{ id: string; createdAt: Date }> {
    const [row] = (await this.dataSource.query(`INSERT INTO api_tokens (token_hash, pipeline_ids, label) VALUES ($1, $2::uuid[], $3) RETURNING id, created_at`, [
      hash,
      pipelineIds,
      label,
    ])) as Array<{ id: string; created_at: Date }>;
    return { id: row.id, createdAt: row.created_at };
  }

  /** Newest first. */
  async list(): Promise<TokenRow[]> {
    return (await this.dataSource.query(`SELECT id, label, pipeline_ids, created_at, last_used_at FROM api_tokens ORDER BY created_at DESC, id`)) as TokenRow[];
  }

  /** Whether a token was deleted (false: there was none). */
  async delete(id: string): Promise<boolean> {
    const [, affected] = (await this.dataSource.query(`DELETE FROM api_tokens WHERE id = $1`, [id])) as [unknown, number];
    return affected > 0;
  }

  /** Which of these ids are still tokens. */
  async existingIds(ids: readonly string[]): Promise<Set<string>> {
    const rows = (await this.dataSource.query(`SELECT id FROM api_tokens WHERE id = ANY($1::uuid[])`, [ids])) as Array<{ id: string }>;
    return new Set(rows.map((row) => row.id));
  }

  /** Records when tokens were last used, in one statement; a later time already stored wins. */
  async touch(ids: readonly string[], times: readonly Date[]): Promise<void> {
    await this.dataSource.query(
      `UPDATE api_tokens t SET last_used_at = u.at FROM unnest($1::uuid[], $2::timestamptz[]) AS u(id, at)
       WHERE t.id = u.id AND (t.last_used_at IS NULL OR t.last_used_at < u.at)`,
      [ids, times],
    );
  }
}
