import { Inject, Injectable, Logger } from '@nestjs/common';
import { ClientProxy } from '@nestjs/microservices';
import { DashError, TOKEN_REVOKED, type TokenRevoked, type ViewerTokenInfo } from '@dash/domain';
import { DASH_CONFIG, type DashConfig } from '@dash/infra';
import { firstValueFrom } from 'rxjs';
import { DataSource } from 'typeorm';
import { AuthService } from '../auth/auth.service';
import { TRANSPORT_CLIENT } from '../pipelines/pipeline-changes';
import { PipelinesService } from '../pipelines/pipelines.service';

interface TokenRow {
  id: string;
  label: string | null;
  pipeline_ids: string[];
  created_at: Date;
  last_used_at: Date | null;
}

/** Viewer tokens: made, listed (never the token or its hash) and revoked on every node at once. */
@Injectable()
export class TokensService {
  private readonly logger = new Logger(TokensService.name);

  constructor(
    private readonly auth: AuthService,
    private readonly pipelines: PipelinesService,
    private readonly dataSource: DataSource,
    @Inject(TRANSPORT_CLIENT) private readonly client: ClientProxy,
    @Inject(DASH_CONFIG) private readonly config: DashConfig,
  ) {}

  async create(pipelines: string[], label: string | undefined) {
    const unique = [...new Set(pipelines.map((id) => id.toLowerCase()))];
    const found = new Set(await this.pipelines.exists(unique));
    const missing = unique.filter((id) => !found.has(id));
    if (missing.length) throw new DashError(400, 'invalid_request', `unknown pipelines: ${missing.join(', ')}`);
    const { id, token, createdAt } = await this.auth.createViewerToken(unique, label ?? null);
    return { id, token, label: label ?? null, pipelines: unique, createdAt: createdAt.toISOString() };
  }

  async list(): Promise<{ items: ViewerTokenInfo[] }> {
    const rows = (await this.dataSource.query(`SELECT id, label, pipeline_ids, created_at, last_used_at FROM api_tokens ORDER BY created_at DESC, id`)) as TokenRow[];
    return {
      items: rows.map((row) => ({
        id: row.id,
        label: row.label,
        pipelines: row.pipeline_ids,
        createdAt: row.created_at.toISOString(),
        lastUsedAt: row.last_used_at?.toISOString() ?? null,
      })),
    };
  }

  /** Deletes the token, forgets it here at once and tells every other node to do the same. */
  async revoke(id: string): Promise<void> {
    const [, affected] = (await this.dataSource.query(`DELETE FROM api_tokens WHERE id = $1`, [id])) as [unknown, number];
    if (!affected) throw new DashError(404, 'not_found', `no token ${id}`);
    this.auth.forget(id);
    try {
      const message: TokenRevoked = { scope: this.config.keyPrefix, tokenId: id };
      await firstValueFrom(this.client.emit<void, TokenRevoked>(TOKEN_REVOKED, message), { defaultValue: undefined });
    } catch (error) {
      // The row is gone: other nodes' socket recheck and cache expiry still end the token within seconds.
      this.logger.warn(`could not announce the revocation of token ${id}: ${(error as Error).message}`);
    }
  }
}
