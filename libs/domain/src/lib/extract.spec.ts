import { eventRecordJson } from './events';
import { DEFAULT_EVENT_PATHS } from './pipeline';
import { extractEvents, parseEventTime, pollEvents, type ExtractInput } from './extract';
import { valueAtPath } from './paths';

const receivedAt = Date.UTC(2026, 10, 28, 12, 0, 0);
const input = (body: string, overrides: Partial<ExtractInput> = {}): ExtractInput => ({
  pipelineId: 'p1',
  webhookId: 'msg_1',
  format: 'json',
  body: Buffer.from(body),
  receivedAt,
  paths: DEFAULT_EVENT_PATHS,
  ...overrides,
});

function errorCode(run: () => unknown): string | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code;
  }
}

describe(extractEvents.name, () => {
  it('takes the webhook-id as the id of a single event, ignoring an id in the payload', () => {
    const body = '{"id":"inner","type":"order.paid","timestamp":"2026-01-01T00:00:00Z"}';
    const [event] = extractEvents(input(body));
    expect(event).toEqual({ pipelineId: 'p1', id: 'msg_1', type: 'order.paid', occurredAt: Date.UTC(2026, 0, 1), receivedAt, payloadJson: body });
  });

  it('keeps the text of a body or an NDJSON line as the payload, and serialises array items', () => {
    const body = '{ "type": "a",  "n": 1.50, "big": 1e300 }';
    expect(extractEvents(input(body))[0].payloadJson).toBe(body);
    const lines = ['{"id":"l1", "n": 1.0}', '{"id":"l2"}'];
    expect(extractEvents(input(lines.join('\n'), { format: 'ndjson' })).map((e) => e.payloadJson)).toEqual(lines);
    expect(extractEvents(input('[{"id":"i1", "n": 2}]')).map((e) => JSON.parse(e.payloadJson))).toEqual([{ id: 'i1', n: 2 }]);
  });

  it('builds the record of an event with its payload inline (what the writer sends and failures keep)', () => {
    const [event] = extractEvents(input('{"type":"t\\"q","text":"tab\\t and \\u00e9"}', { webhookId: 'id "quoted"' }));
    expect(JSON.parse(eventRecordJson(event))).toEqual({ pipelineId: 'p1', id: 'id "quoted"', type: 't"q', occurredAt: receivedAt, receivedAt, payload: { type: 't"q', text: 'tab\t and é' } });
  });

  it('takes batch ids from eventIdPath, else {webhook-id}:{index}', () => {
    const events = extractEvents(input('[{"id":"a"},{"other":1},{"id":7}]'));
    expect(events.map((e) => e.id)).toEqual(['a', 'msg_1:1', '7']);
  });

  it('reads nested paths for id, time and type', () => {
    const paths = { eventIdPath: 'data.object.id', eventTimePath: 'data.created', eventTypePath: 'meta.kind' };
    const [event] = extractEvents(input('[{"data":{"object":{"id":"ch_1"},"created":1767225600},"meta":{"kind":"charge"}}]', { paths }));
    expect(event).toMatchObject({ id: 'ch_1', type: 'charge', occurredAt: Date.UTC(2026, 0, 1) });
  });

  it('falls back to the time received and a null type', () => {
    const [event] = extractEvents(input('{"x":1}'));
    expect(event).toMatchObject({ occurredAt: receivedAt, type: null });
  });

  it('parses NDJSON, skipping blank lines', () => {
    const events = extractEvents(input('{"id":"a"}\n\n{"b":2}\r\n', { format: 'ndjson' }));
    expect(events.map((e) => e.id)).toEqual(['a', 'msg_1:1']);
  });

  it.each([
    ['invalid JSON', '{"a":', 'json', 'invalid_json'],
    ['a bad NDJSON line', '{"a":1}\n{oops', 'ndjson', 'invalid_json'],
    ['a scalar', '"hello"', 'json', 'invalid_event'],
    ['null', 'null', 'json', 'invalid_event'],
    ['an array item that is not an object', '[{}, []]', 'json', 'invalid_event'],
    ['an empty batch', '[]', 'json', 'invalid_event'],
    ['an empty NDJSON body', '\n\n', 'ndjson', 'invalid_event'],
    ['an id that is an object', '[{"id":{"x":1}}]', 'json', 'invalid_event'],
    ['an unparseable time', '{"timestamp":"next tuesday"}', 'json', 'invalid_event'],
    ['a type that is an object', '{"type":{"a":1}}', 'json', 'invalid_event'],
  ] as const)('rejects %s', (_name, body, format, code) => {
    expect(errorCode(() => extractEvents(input(body, { format })))).toBe(code);
  });

  it('rejects more than 1000 events and accepts exactly 1000', () => {
    expect(errorCode(() => extractEvents(input(JSON.stringify(Array.from({ length: 1001 }, () => ({}))))))).toBe('invalid_event');
    expect(extractEvents(input(JSON.stringify(Array.from({ length: 1000 }, () => ({})))))).toHaveLength(1000);
  });

  it('rejects invalid UTF-8', () => {
    expect(errorCode(() => extractEvents(input('', { body: Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x3a, 0x31, 0x7d]) })))).toBe('invalid_json');
  });
});

describe('events PostgreSQL cannot store', () => {
  const message = (run: () => unknown) => {
    try {
      run();
      return undefined;
    } catch (error) {
      return `${(error as { code?: string }).code} ${(error as Error).message}`;
    }
  };

  it('refuses a \\u0000 in a single event, a batch item or an NDJSON line, naming the event and the place', () => {
    expect(message(() => extractEvents(input('{"data":{"name":"a\\u0000"}}')))).toBe('invalid_event event: payload.data.name contains \\u0000, which PostgreSQL cannot store');
    expect(message(() => extractEvents(input('[{"id":"a"},{"id":"b"},{"id":"c"},{"data":{"name":"\\u0000"}}]')))).toBe('invalid_event event 3: payload.data.name contains \\u0000, which PostgreSQL cannot store');
    expect(message(() => extractEvents(input('{"id":"a"}\n{"\\u0000":1}', { format: 'ndjson' })))).toMatch(/^invalid_event event 1: payload\["\\u0000"\] is a key that contains/);
  });

  it('refuses lone surrogates and numbers beyond ±1.8e308, all or nothing', () => {
    expect(message(() => extractEvents(input('[{"id":"a"},{"s":"\\udc00"}]')))).toMatch(/^invalid_event event 1: payload\.s contains an unpaired UTF-16 surrogate/);
    expect(message(() => extractEvents(input('{"n":-1e400000}')))).toBe('invalid_event event: payload.n is a number beyond ±1.8e308, which Dash cannot store');
  });

  it('skips the walk only for a body the byte scan proved plain', () => {
    expect(extractEvents(input('{"n":1e400000}', { plain: true }))).toHaveLength(1);
    expect(message(() => extractEvents(input('{"n":1e400000}', { plain: false })))).toMatch(/^invalid_event/);
  });

  it('refuses a poll item the same way (the poll records the refusal; nothing is queued)', () => {
    expect(message(() => pollEvents('p', [{ id: 'ok' }, { id: 'bad', v: '\u0000' }], DEFAULT_EVENT_PATHS, 0, () => 'c'))).toBe('invalid_event event 1: payload.v contains \\u0000, which PostgreSQL cannot store');
  });
});

describe(parseEventTime.name, () => {
  it.each([
    [1767225600, Date.UTC(2026, 0, 1)],
    [1767225600123, Date.UTC(2026, 0, 1, 0, 0, 0, 123)],
    ['1767225600', Date.UTC(2026, 0, 1)],
    ['2026-01-01T01:00:00+01:00', Date.UTC(2026, 0, 1)],
    ['2026-01-01', Date.UTC(2026, 0, 1)],
  ])('reads %p', (value, expected) => {
    expect(parseEventTime(value)).toBe(expected);
  });

  it.each([['soon'], [''], [-5], [Number.NaN], [true], [{}], ['May 3'], [1e20]])('refuses %p', (value) => {
    expect(parseEventTime(value)).toBeUndefined();
  });
});

describe(valueAtPath.name, () => {
  it('walks objects and array indexes, never the prototype', () => {
    const value = { a: { b: [{ c: 1 }] } };
    expect(valueAtPath(value, 'a.b.0.c')).toBe(1);
    expect(valueAtPath(value, '')).toBe(value);
    expect(valueAtPath(value, 'a.x.c')).toBeUndefined();
    expect(valueAtPath(value, 'constructor')).toBeUndefined();
    expect(valueAtPath(value, 'a.__proto__')).toBeUndefined();
  });
});

describe(pollEvents.name, () => {
  const paths = { eventIdPath: 'id', eventTimePath: 'timestamp', eventTypePath: 'type' };
  const contentId = (item: unknown) => String(JSON.stringify(item).length);

  it('refuses an item nested deeper than the limit with invalid_event, not a stack overflow', () => {
    const deep = JSON.parse('{"a":'.repeat(8000) + '1' + '}'.repeat(8000)) as unknown;
    expect(() => pollEvents('p', [{ id: 'ok' }, deep], paths, 0, contentId)).toThrow(expect.objectContaining({ status: 400, code: 'invalid_event' }));
    expect(pollEvents('p', [{ id: 'ok', nested: { a: [1] } }], paths, 0, contentId)).toHaveLength(1);
  });
});
