import { loadConfig } from '@dash/infra';
import type { AuthService, Principal } from './auth.service';
import { addressKey, MAX_AUTH_FAILURES_PER_MINUTE, RequestLimits } from './request-limits';

/** An AuthService that knows the admin token, and one viewer token only through a "lookup". */
class FakeAuth implements Pick<AuthService, 'knownPrincipal' | 'authenticate'> {
  lookups = 0;
  knownPrincipal(token: unknown): Principal | null {
    return token === 'admin' ? { kind: 'admin' } : null;
  }
  async authenticate(token: unknown): Promise<Principal | null> {
    if (token === 'admin') return { kind: 'admin' };
    this.lookups += 1;
    return token === 'dash_vt_good' ? { kind: 'viewer', tokenId: 't1', pipelineIds: new Set() } : null;
  }
}

const limitsWith = (env: Record<string, string>, auth = new FakeAuth()) => new RequestLimits(loadConfig(env, 'web'), auth as unknown as AuthService);
const codeOf = (promise: Promise<unknown>) => promise.then(() => 'ok', (error: { status?: number }) => error.status);

describe(RequestLimits.name, () => {
  it('takes the address from the connection, and from CLIENT_IP_HEADER only when configured', () => {
    const headers = { 'fly-client-ip': '203.0.113.5', 'x-forwarded-for': '10.0.0.1' };
    expect(limitsWith({}).clientAddress(headers, '127.0.0.1')).toBe('127.0.0.1');
    expect(limitsWith({ CLIENT_IP_HEADER: 'Fly-Client-IP' }).clientAddress(headers, '127.0.0.1')).toBe('203.0.113.5');
    expect(limitsWith({ CLIENT_IP_HEADER: 'Fly-Client-IP' }).clientAddress({}, '127.0.0.1')).toBe('127.0.0.1');
  });

  it(`after ${MAX_AUTH_FAILURES_PER_MINUTE} failures an address gets 429 without a lookup; known tokens and other addresses pass`, async () => {
    const auth = new FakeAuth();
    const limits = limitsWith({}, auth);
    const statuses = await Promise.all(Array.from({ length: 40 }, (_, i) => codeOf(limits.principalFor(`dash_vt_bad${i}`, 'a'))));
    expect(statuses.filter((s) => s === 401)).toHaveLength(MAX_AUTH_FAILURES_PER_MINUTE);
    expect(statuses.filter((s) => s === 429)).toHaveLength(10);
    expect(auth.lookups).toBe(MAX_AUTH_FAILURES_PER_MINUTE);
    expect(await codeOf(limits.principalFor('dash_vt_good', 'a'))).toBe(429);
    expect(await codeOf(limits.principalFor(undefined, 'a'))).toBe(429);
    expect(await codeOf(limits.principalFor('admin', 'a'))).toBe('ok');
    expect(await codeOf(limits.principalFor('dash_vt_good', 'b'))).toBe('ok');
  });

  it('does not count successful lookups against the address', async () => {
    const limits = limitsWith({});
    for (let i = 0; i < 100; i++) expect(await codeOf(limits.principalFor('dash_vt_good', 'a'))).toBe('ok');
  });

  it('limits reads per token at API_READS_PER_SECOND, each token on its own', () => {
    const limits = limitsWith({ API_READS_PER_SECOND: '5' });
    const viewer = (tokenId: string): Principal => ({ kind: 'viewer', tokenId, pipelineIds: new Set() });
    for (let i = 0; i < 5; i++) limits.read(viewer('t1'));
    expect(() => limits.read(viewer('t1'))).toThrow(expect.objectContaining({ status: 429, code: 'rate_limited', retryAfterSeconds: 1 }));
    expect(() => limits.read(viewer('t2'))).not.toThrow();
    expect(() => limits.read({ kind: 'admin' })).not.toThrow();
  });
});

describe(addressKey.name, () => {
  it('keeps IPv4 (mapped or not) whole and groups IPv6 by its /64', () => {
    expect(addressKey('203.0.113.5')).toBe('203.0.113.5');
    expect(addressKey('::ffff:203.0.113.5')).toBe('203.0.113.5');
    expect(addressKey('2001:db8:1:2:aaaa:bbbb:cccc:dddd')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:DB8:1:2::1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('2001:0db8:0001:0002::ffff')).toBe('2001:db8:1:2::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
  });

  it('throttles the addresses of one /64 together', async () => {
    const limits = limitsWith({});
    for (let i = 0; i < MAX_AUTH_FAILURES_PER_MINUTE; i++) await codeOf(limits.principalFor('dash_vt_bad', `2001:db8:1:2::${i.toString(16)}`));
    expect(await codeOf(limits.principalFor('dash_vt_good', '2001:db8:1:2:ffff::9'))).toBe(429);
    expect(await codeOf(limits.principalFor('dash_vt_good', '2001:db8:1:3::1'))).toBe('ok');
  });
});
