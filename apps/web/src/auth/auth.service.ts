import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { LruCache, VIEWER_TOKEN_PREFIX } from '@dash/domain';
import { DASH_CONFIG, TokensRepository, type DashConfig } from '@dash/infra';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export type ViewerPrincipal = { kind: 'viewer'; tokenId: string; pipelineIds: ReadonlySet<string> };
export type Principal = { kind: 'admin' } | ViewerPrincipal;

const CACHE_MS = 30_000;
const CACHE_MAX = 10_000;
// Unknown tokens are remembered briefly and apart, so random guesses cannot push valid tokens out.
const MISS_MS = 5_000;
const MISS_MAX = 1_000;
/** `last_used_at` is written at most this often per token and node... */
const TOUCH_EVERY_MS = 60_000;
/** ...by one UPDATE for all tokens used, this often, off the request path. */
const TOUCH_FLUSH_MS = 5_000;

const sha256 = (value: string) => createHash('sha256').update(value).digest();

export function canRead(principal: Principal, pipelineId: string): boolean {
  return principal.kind === 'admin' || principal.pipelineIds.has(pipelineId);
}

/**
 * The admin token (from configuration) and viewer tokens (stored only as SHA-256 hashes,
 * each scoped to pipelines). Comparisons are in constant time. Viewer lookups are cached in a
 * bounded LRU; a revocation (announced to every node, see TokenRevocationsController) empties it.
 */
@Injectable()
export class AuthService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(AuthService.name);
  private readonly adminHash: Buffer;
  private readonly viewers = new LruCache<string, { principal: ViewerPrincipal; until: number }>(CACHE_MAX);
  private readonly misses = new LruCache<string, number>(MISS_MAX);
  /** Bumped by every revocation, so a lookup that started before it cannot cache the revoked token. */
  private generation = 0;
  private readonly lastTouched = new LruCache<string, number>(CACHE_MAX);
  private readonly pendingTouches = new Map<string, Date>();
  private readonly revokedListeners = new Set<(tokenId: string) => void>();
  private touchTimer?: NodeJS.Timeout;

  constructor(
    @Inject(DASH_CONFIG) config: DashConfig,
    private readonly tokens: TokensRepository,
  ) {
    this.adminHash = sha256(config.adminToken);
  }

  onModuleInit(): void {
    this.touchTimer = setInterval(() => void this.flushTouches(), TOUCH_FLUSH_MS);
    this.touchTimer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.touchTimer);
    await this.flushTouches();
  }

  /** Entries held by the token caches (both bounded). */
  get cacheSize(): { viewers: number; misses: number } {
    return { viewers: this.viewers.size, misses: this.misses.size };
  }

  /**
   * The principal behind a bearer token where it is known without the database (the admin token,
   * a viewer token in the cache), else null: what a client address throttled for failed
   * authentications may still use.
   */
  knownPrincipal(token: unknown): Principal | null {
    if (typeof token !== 'string' || token.length === 0 || token.length > 200) return null;
    const hash = sha256(token);
    if (timingSafeEqual(hash, this.adminHash)) return { kind: 'admin' };
    const now = Date.now();
    const cached = this.viewers.get(hash.toString('hex'));
    if (!cached || cached.until <= now) return null;
    this.touch(cached.principal.tokenId, now);
    return cached.principal;
  }

  /** The principal behind a bearer token, or null. */
  async authenticate(token: unknown): Promise<Principal | null> {
    const known = this.knownPrincipal(token);
    if (known) return known;
    if (typeof token !== 'string' || token.length === 0 || token.length > 200 || !token.startsWith(VIEWER_TOKEN_PREFIX)) return null;
    const hash = sha256(token);
    const key = hash.toString('hex');
    const now = Date.now();
    const missedUntil = this.misses.get(key);
    if (missedUntil !== undefined && missedUntil > now) return null;
    const generation = this.generation;
    // Looked up by its hash: an index probe, not a comparison that leaks timing.
    const row = await this.tokens.findByHash(hash);
    const principal: ViewerPrincipal | null = row ? { kind: 'viewer', tokenId: row.id, pipelineIds: new Set(row.pipelineIds) } : null;
    if (generation === this.generation) {
      if (principal) this.viewers.set(key, { principal, until: Date.now() + CACHE_MS });
      else this.misses.set(key, Date.now() + MISS_MS);
    }
    if (principal) this.touch(principal.tokenId, Date.now());
    return principal;
  }

  /** Creates a viewer token for the given pipelines; the token is returned once and never stored. */
  async createViewerToken(pipelineIds: string[], label: string | null = null): Promise<{ id: string; token: string; createdAt: Date }> {
    const token = VIEWER_TOKEN_PREFIX + randomBytes(24).toString('base64url');
    const { id, createdAt } = await this.tokens.insert(sha256(token), pipelineIds, label);
    // A miss remembered for this hash (impossible in practice: the token is new) must not hide it.
    this.misses.delete(sha256(token).toString('hex'));
    return { id, token, createdAt };
  }

  /**
   * Forgets a revoked token on this node: the cache is emptied (revocations are rare; a hash is
   * not kept per token id) and listeners (the socket gateway) drop what was opened with it.
   */
  forget(tokenId: string): void {
    this.generation += 1;
    this.viewers.clear();
    this.lastTouched.delete(tokenId);
    this.pendingTouches.delete(tokenId);
    for (const listener of this.revokedListeners) listener(tokenId);
  }

  onRevoked(listener: (tokenId: string) => void): () => void {
    this.revokedListeners.add(listener);
    return () => this.revokedListeners.delete(listener);
  }

  /** Which of these token ids still exist (the periodic recheck of open sockets). */
  async existingTokenIds(ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    return this.tokens.existingIds(ids);
  }

  private touch(tokenId: string, now: number): void {
    const last = this.lastTouched.get(tokenId);
    if (last !== undefined && now - last < TOUCH_EVERY_MS) return;
    this.lastTouched.set(tokenId, now);
    if (this.pendingTouches.size < CACHE_MAX) this.pendingTouches.set(tokenId, new Date(now));
  }

  private async flushTouches(): Promise<void> {
    if (this.pendingTouches.size === 0) return;
    const ids = [...this.pendingTouches.keys()];
    const times = [...this.pendingTouches.values()];
    this.pendingTouches.clear();
    try {
      await this.tokens.touch(ids, times);
    } catch (error) {
      // Only the "last used" hint is lost; the next use writes it again.
      for (const id of ids) this.lastTouched.delete(id);
      this.logger.warn(`could not record token use: ${(error as Error).message}`);
    }
  }
}
