import { valueNestsDeeperThan } from '@dash/domain';
import { nestsDeeperThan, repeatedHeaders, signatureHeaders } from './webhooks.service';

describe(nestsDeeperThan.name, () => {
  const deep = (n: number) => Buffer.from('{"a":'.repeat(n) + '1' + '}'.repeat(n));

  it('accepts nesting up to the limit and refuses one level more', () => {
    expect(nestsDeeperThan(deep(100), 100)).toBe(false);
    expect(nestsDeeperThan(deep(101), 100)).toBe(true);
  });

  it('ignores brackets inside strings, escaped quotes included', () => {
    expect(nestsDeeperThan(Buffer.from(JSON.stringify({ s: '[[[[{{{{"\\\\' + '['.repeat(500) })), 3)).toBe(false);
  });

  it('counts each NDJSON line on its own', () => {
    const line = '[[[1]]]';
    expect(nestsDeeperThan(Buffer.from(Array.from({ length: 50 }, () => line).join('\n')), 3, true)).toBe(false);
  });

  it('does not reset the depth at newlines in a JSON body (only NDJSON is read per line)', () => {
    const objects = Buffer.from('{"a":\n'.repeat(8000) + '1' + '}'.repeat(8000));
    const arrays = Buffer.from('[\n'.repeat(8000) + '1' + ']'.repeat(8000));
    expect(nestsDeeperThan(objects, 100)).toBe(true);
    expect(nestsDeeperThan(arrays, 100)).toBe(true);
    // One NDJSON line that is itself too deep is still found.
    expect(nestsDeeperThan(Buffer.from('{"a":1}\n' + '['.repeat(101) + ']'.repeat(101)), 100, true)).toBe(true);
  });

  it('finds deep nesting in an unclosed body without recursion', () => {
    expect(nestsDeeperThan(Buffer.from('['.repeat(1_000_000)), 100)).toBe(true);
  });
});

describe(valueNestsDeeperThan.name, () => {
  it('measures parsed values without recursion, at any depth', () => {
    const deep = (n: number) => JSON.parse('[{"a":'.repeat(n) + '1' + '}]'.repeat(n)) as unknown;
    expect(valueNestsDeeperThan(deep(50), 100)).toBe(false);
    expect(valueNestsDeeperThan(deep(51), 100)).toBe(true);
    expect(valueNestsDeeperThan(JSON.parse('['.repeat(200_000) + ']'.repeat(200_000)), 100)).toBe(true);
    expect(valueNestsDeeperThan('text', 0)).toBe(false);
  });
});

describe(signatureHeaders.name, () => {
  it('reads the svix- headers when no webhook- header is there', () => {
    expect(signatureHeaders({ 'svix-id': 'm', 'svix-timestamp': '1', 'svix-signature': 'v1,x' }, new Set())).toEqual({ id: 'm', timestamp: '1', signature: 'v1,x' });
  });

  it('reads one set whole: any webhook- header makes that set decide, never mixed with svix-', () => {
    const both = { 'webhook-id': 'w', 'webhook-timestamp': '2', 'webhook-signature': 'v1,w', 'svix-id': 's', 'svix-timestamp': '1', 'svix-signature': 'v1,s' };
    expect(signatureHeaders(both, new Set())).toEqual({ id: 'w', timestamp: '2', signature: 'v1,w' });
    expect(signatureHeaders({ 'webhook-id': 'w', 'svix-id': 's', 'svix-timestamp': '1', 'svix-signature': 'v1,s' }, new Set())).toEqual({ id: 'w', timestamp: undefined, signature: undefined });
  });

  it('treats a repeated svix- header as missing', () => {
    const repeated = repeatedHeaders(['svix-id', 'a', 'Svix-Id', 'b', 'svix-timestamp', '1', 'svix-signature', 'v1,x']);
    expect(signatureHeaders({ 'svix-id': 'a, b', 'svix-timestamp': '1', 'svix-signature': 'v1,x' }, repeated).id).toBeUndefined();
  });
});

describe(repeatedHeaders.name, () => {
  it('names the signature headers sent more than once, in any case', () => {
    const raw = ['Webhook-Id', 'a', 'webhook-id', 'b', 'webhook-signature', 'v1,x', 'X-Other', '1', 'x-other', '2'];
    expect([...repeatedHeaders(raw)]).toEqual(['webhook-id']);
    expect(repeatedHeaders(undefined).size).toBe(0);
  });
});
