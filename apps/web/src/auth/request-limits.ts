import { Inject, Injectable } from '@nestjs/common';
import { DashError, RateLimiter } from '@dash/domain';
import { DASH_CONFIG, type DashConfig } from '@dash/infra';
import type { IncomingHttpHeaders } from 'node:http';
import { AuthService, type Principal } from './auth.service';

/** A client address failing authentication more often than this a minute gets 429 (contract). */
export const MAX_AUTH_FAILURES_PER_MINUTE = 30;
/** Tokens and addresses tracked per node; past this the least recently seen start again. */
const MAX_TRACKED = 10_000;

/**
 * The key an address is throttled under: an IPv4 address as it is; an IPv6 address by its /64 (one
 * subscriber's network: a client holding one can change addresses within it at will).
 */
export function addressKey(address: string): string {
  const plain = address.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '').replace(/%.*$/, '');
  if (!plain.includes(':')) return plain;
  const [head, tail = ''] = plain.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = plain.includes('::') && tail ? tail.split(':') : [];
  const groups = plain.includes('::') ? [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right] : left;
  return `${groups
    .slice(0, 4)
    .map((group) => group.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/**
 * The API's rate limits, kept in memory on each web node (so with N web nodes a token may read up to
 * N times the rate; no Redis on the read path: reads keep working while Redis is away):
 * - reads (GET) per token: `API_READS_PER_SECOND`, burst as large;
 * - failed authentications per client address (an IPv6 one by its /64): 30 a minute, after which only a token known
 *   without the database (the admin token, a cached viewer token) is let through, so guesses cost
 *   no lookup and a guess that happens to be right is refused all the same.
 */
@Injectable()
export class RequestLimits {
  private readonly reads: RateLimiter;
  private readonly authFailures = new RateLimiter(MAX_AUTH_FAILURES_PER_MINUTE, MAX_AUTH_FAILURES_PER_MINUTE / 60, MAX_TRACKED);
  private readonly addressHeader: string | null;

  constructor(
    @Inject(DASH_CONFIG) config: DashConfig,
    private readonly auth: AuthService,
  ) {
    this.reads = new RateLimiter(config.readsPerSecond, config.readsPerSecond, MAX_TRACKED);
    this.addressHeader = config.clientIpHeader;
  }

  /**
   * The client's address: the connection's peer, or the header a trusted proxy sets
   * (CLIENT_IP_HEADER, e.g. Fly-Client-IP) when configured. Never X-Forwarded-For by default: a
   * client writes what it likes there.
   */
  clientAddress(headers: IncomingHttpHeaders, peer: string | undefined): string {
    if (this.addressHeader) {
      const value = headers[this.addressHeader];
      const first = (Array.isArray(value) ? value[0] : value)?.split(',')[0].trim();
      if (first) return first;
    }
    return peer ?? 'unknown';
  }

  /**
   * The principal behind a token presented from `address` (API or socket handshake): 401 when
   * missing or invalid (counted against the address), 429 with Retry-After while the address is
   * throttled and the token is not one known without the database.
   */
  async principalFor(token: string | undefined, address: string): Promise<Principal> {
    const known = this.auth.knownPrincipal(token);
    if (known) return known;
    // Reserved before the lookup and given back when it succeeds: concurrent guesses each hold
    // one, so no more than the limit are ever looked up.
    const key = addressKey(address);
    const throttled = this.authFailures.take(key);
    if (throttled > 0) throw new DashError(429, 'rate_limited', `too many failed authentications from this address; retry after ${throttled} s`, throttled);
    const principal = token ? await this.auth.authenticate(token) : null;
    if (principal) {
      this.authFailures.refund(key);
      return principal;
    }
    throw new DashError(401, 'unauthorized', token ? 'the token is not valid' : 'Authorization: Bearer <token> is required');
  }

  /** Counts a read by the principal; throws 429 with Retry-After past the rate. */
  read(principal: Principal): void {
    const wait = this.reads.take(principal.kind === 'admin' ? 'admin' : principal.tokenId);
    if (wait > 0) throw new DashError(429, 'rate_limited', `this token reads more than ${this.reads.perSecond} times a second; retry after ${wait} s`, wait);
  }
}
