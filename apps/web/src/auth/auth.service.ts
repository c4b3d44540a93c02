import { Inject, Injectable } from '@nestjs/common';
import { ApiTokenEntity, DASH_CONFIG, type DashConfig } from '@dash/infra';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { DataSource, type Repository } from 'typeorm';

export type Principal = { kind: 'admin' } | { kind: 'viewer'; pipelineIds: ReadonlySet<string> };

const VIEWER_PREFIX = 'dash_vt_';
const CACHE_MS = 30_000;
const CACHE_MAX = 10_000;

const sha256 = (value: string) => createHash('sha256').update(value).digest();

export function canRead(principal: Principal, pipelineId: string): boolean {
  return principal.kind === 'admin' || principal.pipelineIds.has(pipelineId);
}

/**
 * The admin token (from configuration) and viewer tokens (stored only as SHA-256 hashes,
 * each scoped to pipelines). Comparisons are in constant time.
 */
@Injectable()
export class AuthService {
  private readonly adminHash: Buffer;
  private readonly viewers = new Map<string, { principal: Principal | null; until: number }>();
  private readonly tokens: Repository<ApiTokenEntity>;

  constructor(@Inject(DASH_CONFIG) config: DashConfig, dataSource: DataSource) {
    this.adminHash = sha256(config.adminToken);
    this.tokens = dataSource.getRepository(ApiTokenEntity);
  }

  /** The principal behind a bearer token, or null. */
  async authenticate(token: unknown): Promise<Principal | null> {
    if (typeof token !== 'string' || token.length === 0 || token.length > 200) return null;
    const hash = sha256(token);
    if (timingSafeEqual(hash, this.adminHash)) return { kind: 'admin' };
    if (!token.startsWith(VIEWER_PREFIX)) return null;
    const key = hash.toString('hex');
    const cached = this.viewers.get(key);
    if (cached && cached.until > Date.now()) return cached.principal;
    // Looked up by its hash: an index probe, not a comparison that leaks timing.
    const row = await this.tokens.findOne({ where: { tokenHash: hash } });
    const principal: Principal | null = row ? { kind: 'viewer', pipelineIds: new Set(row.pipelineIds) } : null;
    if (this.viewers.size >= CACHE_MAX) this.viewers.clear();
    this.viewers.set(key, { principal, until: Date.now() + CACHE_MS });
    return principal;
  }

  /** Creates a viewer token for the given pipelines; the token is returned once and never stored. */
  async createViewerToken(pipelineIds: string[]): Promise<string> {
    const token = VIEWER_PREFIX + randomBytes(24).toString('base64url');
    await this.tokens.insert({ tokenHash: sha256(token), pipelineIds });
    return token;
  }
}
