import { logText } from './log-text';

describe('logText', () => {
  it('escapes line breaks so an id cannot forge a log line', () => {
    const id = 'evt_1\n[Nest] 1  - LOG [Auth] admin login from 10.0.0.1\r\n';
    const text = logText(id);
    expect(text).not.toMatch(/[\r\n]/);
    expect(text).toBe('evt_1\\n[Nest] 1  - LOG [Auth] admin login from 10.0.0.1\\r\\n');
  });

  it('escapes terminal escapes, NUL and Unicode line separators', () => {
    expect(logText('a\u001b[31mred\u0000b\u2028c\u0085')).toBe('a\\u001b[31mred\\u0000b\\u2028c\\u0085');
  });

  it('leaves ordinary text, including non-ASCII, as it is', () => {
    expect(logText('order.created été 😀')).toBe('order.created été 😀');
  });

  it('cuts long values', () => {
    expect(logText('x'.repeat(1000), 10)).toBe(`${'x'.repeat(10)}…`);
  });
});
