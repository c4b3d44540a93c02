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

/** A deleted token whole (its hash included), so that a revocation that cannot be promised is taken back. */
export interface DeletedToken extends TokenRow {
  token_hash: Buffer;
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
    return (await this.take(id)) !== null;
  }

  /** Deletes the token and answers it whole (null: there was none). */
  async take(id: string): Promise<DeletedToken | null> {
    const [rows] = (await this.dataSource.query(`DELETE FROM api_tokens WHERE id = $1 RETURNING id, token_hash, label, pipeline_ids, created_at, last_used_at`, [id])) as [DeletedToken[], number];
    return rows[0] ?? null;
  }

  /** Puts a token taken by `take` back as it was (same id and hash). */
  async restore(token: DeletedToken): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO api_tokens (id, token_hash, label, pipeline_ids, created_at, last_used_at) VALUES ($1, $2, $3, $4::uuid[], $5, $6) ON CONFLICT (id) DO NOTHING`,
      [token.id, token.token_hash, token.label, token.pipeline_ids, token.created_at, token.last_used_at],
    );
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
