import { nestsDeeperThan, repeatedHeaders } from './webhooks.service';

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
    expect(nestsDeeperThan(Buffer.from(Array.from({ length: 50 }, () => line).join('\n')), 3)).toBe(false);
  });

  it('finds deep nesting in an unclosed body without recursion', () => {
    expect(nestsDeeperThan(Buffer.from('['.repeat(1_000_000)), 100)).toBe(true);
  });
});

describe(repeatedHeaders.name, () => {
  it('names the signature headers sent more than once, in any case', () => {
    const raw = ['Webhook-Id', 'a', 'webhook-id', 'b', 'webhook-signature', 'v1,x', 'X-Other', '1', 'x-other', '2'];
    expect([...repeatedHeaders(raw)]).toEqual(['webhook-id']);
    expect(repeatedHeaders(undefined).size).toBe(0);
  });
});
