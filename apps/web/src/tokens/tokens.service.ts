import { Inject, Injectable, Logger } from '@nestjs/common';
import { ClientProxy } from '@nestjs/microservices';
import { DashError, TOKEN_REVOKED, withTimeout, type TokenRevoked, type ViewerTokenInfo } from '@dash/domain';
import { ClusterHeartbeat, DASH_CONFIG, REDIS, RedisKeys, TokensRepository, type DashConfig } from '@dash/infra';
import type { RedisClient } from '@dash/infra';
import { firstValueFrom } from 'rxjs';
import { AuthService } from '../auth/auth.service';
import { TRANSPORT_CLIENT } from '../pipelines/pipeline-changes';
import { PipelinesService } from '../pipelines/pipelines.service';
import { redisUnavailable, SCHEDULE_TIMEOUT_MS } from '../pipelines/poll-scheduler';

/** How long a revocation waits for every live web node to confirm it has forgotten the token. */
const ACK_WAIT_MS = 2_000;
const ACK_POLL_MS = 20;
const ACK_TTL_SECONDS = 60;

/** Viewer tokens: made, listed (never the token or its hash) and revoked on every node at once. */
@Injectable()
export class TokensService {
  private readonly logger = new Logger(TokensService.name);

  constructor(
    private readonly auth: AuthService,
    private readonly pipelines: PipelinesService,
    private readonly tokens: TokensRepository,
    @Inject(TRANSPORT_CLIENT) private readonly client: ClientProxy,
    @Inject(DASH_CONFIG) private readonly config: DashConfig,
    @Inject(REDIS) private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly heartbeat: ClusterHeartbeat,
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
    const rows = await this.tokens.list();
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

  /**
   * Deletes the token, forgets it here and tells every other node to do the same. The answer
   * waits (up to 2 s) until every live web node has confirmed, so "revoked" means refused at
   * once everywhere, not merely announced; a live node that does not confirm in time still drops
   * it when its socket recheck or cache expiry comes.
   *
   * The announcement needs Redis: while Redis is away other nodes would keep the token for their
   * cache lifetime (30 s), so the answer is 503 with Retry-After and the token is left (or put
   * back) as it was, still working, rather than a 204 that is not true everywhere.
   */
  async revoke(id: string): Promise<void> {
    if (!(await this.tokens.existingIds([id])).has(id)) throw new DashError(404, 'not_found', `no token ${id}`);
    try {
      if (this.redis.status !== 'ready') throw new Error(`Redis is ${this.redis.status}`);
      await withTimeout(this.redis.ping(), SCHEDULE_TIMEOUT_MS, 'revoking a token');
    } catch (error) {
      throw redisUnavailable(`revoking a token (${(error as Error).message})`);
    }
    const taken = await this.tokens.take(id);
    if (!taken) throw new DashError(404, 'not_found', `no token ${id}`);
    this.auth.forget(id);
    try {
      const message: TokenRevoked = { scope: this.config.keyPrefix, tokenId: id };
      await withTimeout(firstValueFrom(this.client.emit<void, TokenRevoked>(TOKEN_REVOKED, message), { defaultValue: undefined }), SCHEDULE_TIMEOUT_MS, 'announcing a revocation');
      await this.confirmed(id);
    } catch (error) {
      // Redis went away between the check and the announcement: nodes that heard nothing still
      // trust the token, so it is put back and the revocation refused, as if Redis had been away.
      this.logger.warn(`could not announce the revocation of token ${id}, so it is kept: ${(error as Error).message}`);
      await this.tokens.restore(taken);
      throw redisUnavailable('revoking a token');
    }
  }

  /** A revocation heard over the transport: forget the token, then say so for the revoking node. */
  async forgetAnnounced(id: string): Promise<void> {
    this.auth.forget(id);
    const key = this.keys.revocationAcks(id);
    await this.redis
      .multi()
      .sadd(key, this.config.nodeId)
      .expire(key, ACK_TTL_SECONDS)
      .exec()
      .catch((error: Error) => this.logger.warn(`could not confirm the revocation of token ${id}: ${error.message}`));
  }

  private async confirmed(id: string): Promise<void> {
    const web = (await this.heartbeat.nodes()).filter((node) => node.role === 'web' && node.id !== this.config.nodeId).map((node) => node.id);
    const until = Date.now() + ACK_WAIT_MS;
    for (;;) {
      const acked = new Set(await this.redis.smembers(this.keys.revocationAcks(id)));
      const waiting = web.filter((node) => !acked.has(node));
      if (waiting.length === 0) return;
      if (Date.now() >= until) {
        this.logger.warn(`token ${id} revoked; ${waiting.length} web node(s) did not confirm within ${ACK_WAIT_MS} ms (their caches expire it)`);
        return;
      }
      await new Promise((done) => setTimeout(done, ACK_POLL_MS));
    }
  }
}
