import { MAX_NUMBER_EXPONENT, MAX_NUMBER_LENGTH, scanJsonText } from './bounds';
import { findUnstorable } from './storable';

describe(findUnstorable.name, () => {
  it('accepts what jsonb stores: text, paired surrogates (emoji), numbers JavaScript holds, null and booleans', () => {
    expect(findUnstorable(JSON.parse('{"a":"é \\ud83d\\ude00 \\u0001","b":[1.5,-0,1e308,null,true],"c":{"d":""}}'))).toBeUndefined();
  });

  it('names the place of a \\u0000 in a string value, however deep, arrays included', () => {
    expect(findUnstorable(JSON.parse('{"data":{"name":"a\\u0000b"}}'))).toEqual({ path: 'payload.data.name', problem: 'contains \\u0000, which PostgreSQL cannot store' });
    expect(findUnstorable(JSON.parse('{"items":[{"ok":1},{"tags":["x","\\u0000"]}]}'))?.path).toBe('payload.items[1].tags[1]');
  });

  it('finds a \\u0000 in an object key, and writes odd keys quoted', () => {
    expect(findUnstorable(JSON.parse('{"data":{"a\\u0000":1}}'))).toEqual({ path: 'payload.data["a\\u0000"]', problem: 'is a key that contains \\u0000, which PostgreSQL cannot store' });
    expect(findUnstorable(JSON.parse('{"a b":{"c.d":"\\u0000"}}'))?.path).toBe('payload["a b"]["c.d"]');
  });

  it('finds lone UTF-16 surrogates (high or low, in values or keys), not paired ones', () => {
    for (const text of ['{"s":"\\ud800"}', '{"s":"x\\udc00"}', '{"s":"\\ude00\\ud83d"}', '{"\\ud800":1}']) {
      expect(findUnstorable(JSON.parse(text))?.problem).toMatch(/unpaired UTF-16 surrogate/);
    }
    expect(findUnstorable(JSON.parse('{"s":"\\ud83d\\ude00"}'))).toBeUndefined();
  });

  it('finds numbers JSON.parse reads as ±Infinity', () => {
    expect(findUnstorable(JSON.parse('{"n":[1,1e400000]}'))).toEqual({ path: 'payload.n[1]', problem: 'is a number beyond ±1.8e308, which Dash cannot store' });
    expect(findUnstorable(JSON.parse('{"n":-1e400}'))?.path).toBe('payload.n');
  });

  it('finds nesting deeper than the limit without overflowing the stack', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(findUnstorable(deep, 'payload', 100)?.problem).toBe('nests arrays or objects deeper than 100 levels');
    let ok: unknown = 1;
    for (let i = 0; i < 100; i++) ok = { a: ok };
    expect(findUnstorable(ok, 'payload', 100)).toBeUndefined();
  });
});

describe(scanJsonText.name, () => {
  const scan = (text: string, perLine = false) => scanJsonText(Buffer.from(text), 100, perLine, true).problem;

  it('passes ordinary numbers, and words and strings that look like numbers', () => {
    expect(scan('{"a":[1,-2.5e-10,3E+300,0,true,false,null],"s":"1e999999","t":"-' + '9'.repeat(1000) + '"}')).toBeUndefined();
  });

  it(`refuses a number with an exponent beyond ±${MAX_NUMBER_EXPONENT} (PostgreSQL overflows, JavaScript reads 0 or Infinity)`, () => {
    expect(scan('{"a":1e-400000}')).toEqual({ kind: 'number', line: 1, offset: 5, literal: '1e-400000' });
    expect(scan('{"a":-1E+401}')).toMatchObject({ kind: 'number', literal: '-1E+401' });
    expect(scan('{"a":0.0e-20000}')).toMatchObject({ kind: 'number' });
    expect(scan('{"a":1e400}')).toBeUndefined();
  });

  it(`refuses a number literal longer than ${MAX_NUMBER_LENGTH} characters, and says on which line`, () => {
    const long = '0.' + '0'.repeat(MAX_NUMBER_LENGTH) + '1';
    expect(scan(`{"a":1}\n{"b":${long}}`, true)).toMatchObject({ kind: 'number', line: 2, offset: 13, literal: `${long.slice(0, 24)}…` });
    expect(scan(`{"a":${'9'.repeat(MAX_NUMBER_LENGTH)}}`)).toBeUndefined();
  });

  it('leaves numbers alone unless asked (the depth check alone)', () => {
    expect(scanJsonText(Buffer.from('[1e-400000]'), 100).problem).toBeUndefined();
    expect(scanJsonText(Buffer.from('[[1]]'), 1).problem).toEqual({ kind: 'depth', line: 1 });
  });

  it('calls a text plain only when it has no \\u escape and no number near ±1e308 (what the value walk could find)', () => {
    const plain = (text: string) => scanJsonText(Buffer.from(text), 100, false, true).plain;
    expect(plain('{"a":"tab\\t \\" é","n":[1e300,-2.5e-300,' + '9'.repeat(299) + ']}')).toBe(true);
    expect(plain('{"a":"\\u00e9"}')).toBe(false);
    expect(plain('{"a":1' + '0'.repeat(200) + 'e200}')).toBe(false);
    expect(plain('{"a":' + '9'.repeat(310) + '}')).toBe(false);
    expect(plain('{"a":2e308}')).toBe(false);
    expect(plain('{"a":"1e999 in a string"}')).toBe(true);
    expect(scanJsonText(Buffer.from('{}'), 100).plain).toBe(false); // not asked to look at numbers: unknown
  });
});
