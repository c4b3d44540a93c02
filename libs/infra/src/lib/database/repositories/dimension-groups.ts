import type { IngestEvent } from '@dash/domain';
import { MAX_DIMENSION_VALUE_LENGTH } from './events.sql';

/** A pipeline's declared paths, as the batch statement last saw them (it returns them). */
export interface DimensionPlan {
  dimensions: readonly string[];
  measures: readonly string[];
}

/** One measure of a group: numbers counted, their exact sum, min and max (decimal text), values skipped. */
interface MeasureGroup {
  k: string;
  c: number;
  s: string | null;
  lo: string | null;
  hi: string | null;
  x: number;
}

/** Events of one pipeline, minute, dimension and raw value (before the cap), with their measures. */
export interface Group {
  p: string;
  d: string;
  b: number;
  v: string | null;
  n: number;
  m: MeasureGroup[];
}

/** What the batch statement receives as its second parameter (see events.sql.ts, `fast_plans`). */
export interface PreGrouped {
  plans: Array<{ p: string; dimensions: readonly string[]; measures: readonly string[]; n: number }>;
  groups: Group[];
}

/** A value found at a path: its JSON kind and its text as sent (strings still escaped). */
interface Token {
  kind: 'string' | 'number' | 'true' | 'false' | 'null' | 'object' | 'array';
  text: string;
}

/** The path cannot be read here as PostgreSQL would read it: the batch statement reads this pipeline's payloads itself. */
class Unsupported extends Error {}
const UNSUPPORTED = new Unsupported();

const isSpace = (code: number) => code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09;

function skipSpace(text: string, at: number): number {
  while (at < text.length && isSpace(text.charCodeAt(at))) at++;
  return at;
}

/** The end of the string starting at `at` (its opening quote), after its closing quote. */
function stringEnd(text: string, at: number): number {
  for (let i = at + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5c) i++;
    else if (c === 0x22) return i + 1;
  }
  throw UNSUPPORTED;
}

/** The end of the JSON value starting at `at`. */
function valueEnd(text: string, at: number): number {
  const c = text.charCodeAt(at);
  if (c === 0x22) return stringEnd(text, at);
  if (c === 0x7b || c === 0x5b) {
    let depth = 0;
    for (let i = at; i < text.length; i++) {
      const d = text.charCodeAt(i);
      if (d === 0x22) i = stringEnd(text, i) - 1;
      else if (d === 0x7b || d === 0x5b) depth++;
      else if (d === 0x7d || d === 0x5d) {
        depth--;
        if (depth === 0) return i + 1;
      }
    }
    throw UNSUPPORTED;
  }
  let i = at;
  while (i < text.length) {
    const d = text.charCodeAt(i);
    if (d === 0x2c || d === 0x7d || d === 0x5d || isSpace(d)) break;
    i++;
  }
  return i;
}

const CANONICAL_INDEX = /^(0|[1-9]\d{0,8})$/;

/**
 * The value at a dot path of a JSON text, as `payload #> path` finds it (an object's last member
 * of that name, as jsonb keeps; an array element by its index), or undefined when absent. Scans
 * the text instead of parsing it, so a number keeps the exact text PostgreSQL reads. Throws
 * Unsupported where the two could differ (a non-canonical array index).
 */
export function tokenAt(text: string, path: readonly string[]): Token | undefined {
  let at = skipSpace(text, 0);
  for (const segment of path) {
    const open = text.charCodeAt(at);
    if (open === 0x7b) {
      let found = -1;
      at = skipSpace(text, at + 1);
      if (text.charCodeAt(at) === 0x7d) return undefined;
      for (;;) {
        const keyEnd = stringEnd(text, at);
        const rawKey = text.slice(at + 1, keyEnd - 1);
        const key = rawKey.includes('\\') ? (JSON.parse(text.slice(at, keyEnd)) as string) : rawKey;
        at = skipSpace(text, skipSpace(text, keyEnd) + 1);
        if (key === segment) found = at;
        at = skipSpace(text, valueEnd(text, at));
        if (text.charCodeAt(at) !== 0x2c) break;
        at = skipSpace(text, at + 1);
      }
      if (found < 0) return undefined;
      at = found;
    } else if (open === 0x5b) {
      if (!CANONICAL_INDEX.test(segment)) throw UNSUPPORTED;
      let index = Number(segment);
      at = skipSpace(text, at + 1);
      if (text.charCodeAt(at) === 0x5d) return undefined;
      while (index > 0) {
        at = skipSpace(text, valueEnd(text, at));
        if (text.charCodeAt(at) !== 0x2c) return undefined;
        at = skipSpace(text, at + 1);
        index--;
      }
    } else return undefined;
  }
  const c = text.charCodeAt(at);
  const end = valueEnd(text, at);
  const token = text.slice(at, end);
  if (c === 0x22) return { kind: 'string', text: token };
  if (c === 0x7b) return { kind: 'object', text: token };
  if (c === 0x5b) return { kind: 'array', text: token };
  if (token === 'true' || token === 'false' || token === 'null') return { kind: token, text: token };
  return { kind: 'number', text: token };
}

const PLAIN_DECIMAL = /^-?(0|[1-9]\d*)(\.\d+)?$/;

/** An exact decimal: value = m / 10^s. */
interface Decimal {
  m: bigint;
  s: number;
}

/** A JSON number as PostgreSQL's numeric reads it, or Unsupported for an exponent (its scale rules are not worth copying). */
function decimal(text: string): Decimal {
  if (!PLAIN_DECIMAL.test(text)) throw UNSUPPORTED;
  const point = text.indexOf('.');
  return point < 0 ? { m: BigInt(text), s: 0 } : { m: BigInt(text.slice(0, point) + text.slice(point + 1)), s: text.length - point - 1 };
}

// Values of one measure mostly share a scale: no power of ten is computed then.
const scaled = (d: Decimal, s: number) => (d.s === s ? d.m : d.m * 10n ** BigInt(s - d.s));
const add = (a: Decimal, b: Decimal): Decimal => {
  const s = a.s > b.s ? a.s : b.s;
  return { m: scaled(a, s) + scaled(b, s), s };
};
const compare = (a: Decimal, b: Decimal): number => {
  const s = a.s > b.s ? a.s : b.s;
  const x = scaled(a, s);
  const y = scaled(b, s);
  return x < y ? -1 : x > y ? 1 : 0;
};

/** numeric's text: the scale kept, no sign on zero. */
function decimalText(d: Decimal): string {
  const negative = d.m < 0n;
  const digits = (negative ? -d.m : d.m).toString().padStart(d.s + 1, '0');
  const text = d.s === 0 ? digits : `${digits.slice(0, digits.length - d.s)}.${digits.slice(digits.length - d.s)}`;
  return negative ? `-${text}` : text;
}

/** `left(text, 200)`: PostgreSQL counts characters (code points), not UTF-16 units. */
function cut(text: string): string {
  if (text.length <= MAX_DIMENSION_VALUE_LENGTH) return text;
  return Array.from(text).slice(0, MAX_DIMENSION_VALUE_LENGTH).join('');
}

/**
 * A number, after a key's `":` (spaces allowed), a `,` or a `[`, that JavaScript would not write
 * back as sent: an exponent, a trailing zero after the point, or 16 characters or more (a double
 * keeps 15 digits). A payload without one has every number as `String(n)` writes it. Conservative
 * (text inside strings that looks like that also matches; a time's `:07.760` does not): a payload
 * it flags has its numbers read from the text instead.
 */
const NON_CANONICAL_NUMBER = /(?:"\s*:|[,[])\s*-?(?:[0-9.]{16}|[0-9]+(?:\.[0-9]*)?(?:[eE]|(?<=\.[0-9]*0)(?![0-9])))/;

/** The value at a path of a parsed payload, as `payload #> path` finds it (JSON.parse, like jsonb, keeps a repeated key's last value). */
function valueAt(value: unknown, path: readonly string[]): unknown {
  for (const segment of path) {
    if (Array.isArray(value)) {
      if (!CANONICAL_INDEX.test(segment)) throw UNSUPPORTED;
      value = value[Number(segment)];
    } else if (value !== null && typeof value === 'object') value = Object.hasOwn(value, segment) ? (value as Record<string, unknown>)[segment] : undefined;
    else return undefined;
  }
  return value;
}

/** An object or array found at a path. */
const COMPOSITE = Symbol('composite');

/** One event's payload, parsed once; numbers are read back as their exact text. */
class Payload {
  private readonly value: unknown;
  private canonical: boolean | undefined;
  constructor(private readonly text: string) {
    this.value = JSON.parse(text);
  }

  /** The JSON at a path: undefined (missing), or a string, boolean, null, exact decimal, or COMPOSITE (an object or array). */
  at(path: readonly string[]): string | boolean | null | Decimal | typeof COMPOSITE | undefined {
    const found = valueAt(this.value, path);
    if (typeof found === 'number') {
      this.canonical ??= !NON_CANONICAL_NUMBER.test(this.text);
      const written = String(found);
      if (this.canonical && !written.includes('e')) return decimal(written);
      const token = tokenAt(this.text, path);
      if (token?.kind !== 'number') throw UNSUPPORTED;
      return decimal(token.text);
    }
    if (found !== null && typeof found === 'object') return COMPOSITE;
    return found as string | boolean | null | undefined;
  }
}

/** A dimension's raw value as `payload #>> path` gives it (null: missing or JSON null). */
function dimensionValue(found: ReturnType<Payload['at']>): string | null {
  if (found === undefined || found === null) return null;
  if (typeof found === 'string') return cut(found);
  if (typeof found === 'boolean') return String(found);
  if (found === COMPOSITE) throw UNSUPPORTED; // jsonb's own text form of an object or array
  return cut(decimalText(found));
}

interface MeasureState {
  c: number;
  sum: Decimal | null;
  lo: Decimal | null;
  hi: Decimal | null;
  loText: string | null;
  hiText: string | null;
  x: number;
}

interface GroupState {
  group: Omit<Group, 'm'>;
  measures: MeasureState[];
}

const unique = (list: readonly string[]) => [...new Set(list)];

/**
 * Pre-aggregates a batch's dimension rollups in the ingestor, so that PostgreSQL adds a few
 * aggregated rows instead of reading every event's payload per dimension: for each pipeline with a
 * known plan, its events by (dimension, minute, raw value) with each measure's count, exact sum,
 * min, max and skipped. Raw values are those before the cardinality cap (admitted in SQL). A
 * pipeline whose payloads hold anything read differently here (an object as a dimension value, an
 * exponent) is left out: the statement reads its payloads itself, as before. The statement uses a
 * pipeline's groups only when the plan still holds and it stored every event of the pipeline
 * (a duplicate or replay in the batch: payloads read in SQL over the stored ones, exact either way).
 */
export function preGroup(events: readonly IngestEvent[], planOf: (pipelineId: string) => DimensionPlan | undefined): PreGrouped {
  const byPipeline = new Map<string, IngestEvent[]>();
  for (const event of events) {
    const plan = planOf(event.pipelineId);
    if (!plan || (plan.dimensions.length === 0 && plan.measures.length === 0)) continue;
    let list = byPipeline.get(event.pipelineId);
    if (!list) byPipeline.set(event.pipelineId, (list = []));
    list.push(event);
  }
  const result: PreGrouped = { plans: [], groups: [] };
  for (const [pipelineId, list] of byPipeline) {
    const plan = planOf(pipelineId) as DimensionPlan;
    try {
      const groups = groupPipeline(pipelineId, list, unique(['type', ...plan.dimensions]), unique(plan.measures), true);
      result.plans.push({ p: pipelineId, dimensions: plan.dimensions, measures: plan.measures, n: list.length });
      for (const group of groups) result.groups.push(group);
    } catch (error) {
      if (!(error instanceof Unsupported)) throw error;
    }
  }
  return result;
}

/**
 * A backfill step's events (one pipeline's, stored before the declaration) grouped as the writer
 * groups a batch: the dimensions declared later, counted, with every measure; the earlier
 * dimensions with the measures declared later only, not counted again. Null where a payload holds
 * anything read differently here (the step then reads the payloads in SQL).
 */
export function groupBackfill(pipelineId: string, events: readonly IngestEvent[], job: { dimensions: readonly string[]; measures: readonly string[]; allDimensions: readonly string[]; allMeasures: readonly string[] }): Group[] | null {
  const earlier = job.allDimensions.filter((dimension) => !job.dimensions.includes(dimension));
  try {
    return [
      ...(job.dimensions.length > 0 ? groupPipeline(pipelineId, events, unique(job.dimensions), unique(job.allMeasures), true) : []),
      ...(earlier.length > 0 && job.measures.length > 0 ? groupPipeline(pipelineId, events, unique(earlier), unique(job.measures), false) : []),
    ];
  } catch (error) {
    if (error instanceof Unsupported) return null;
    throw error;
  }
}

/** Events by (dimension, minute, raw value), with each measure; `counts` false: the events are counted elsewhere already (n = 0). */
function groupPipeline(pipelineId: string, events: readonly IngestEvent[], dimensions: readonly string[], measures: readonly string[], counts: boolean): Group[] {
  const dimensionPaths = dimensions.map((d) => d.split('.'));
  const measurePaths = measures.map((m) => m.split('.'));
  const states = new Map<string, GroupState>();
  const found: Array<Decimal | 'skip' | undefined> = new Array(measures.length);
  for (const event of events) {
    const minute = Math.floor(event.occurredAt / 60_000) * 60_000;
    const payload = new Payload(event.payloadJson);
    for (let j = 0; j < measures.length; j++) {
      const value = payload.at(measurePaths[j]);
      found[j] = value === undefined ? undefined : typeof value === 'object' && value !== null ? value : 'skip';
    }
    for (let i = 0; i < dimensions.length; i++) {
      const raw = dimensions[i] === 'type' ? (event.type === null ? null : cut(event.type)) : dimensionValue(payload.at(dimensionPaths[i]));
      const key = `${i}\u0000${minute}\u0000${raw === null ? 'N' : `S${raw}`}`;
      let state = states.get(key);
      if (!state) {
        state = {
          group: { p: pipelineId, d: dimensions[i], b: minute, v: raw, n: 0 },
          measures: measures.map(() => ({ c: 0, sum: null, lo: null, hi: null, loText: null, hiText: null, x: 0 })),
        };
        states.set(key, state);
      }
      if (counts) state.group.n++;
      for (let j = 0; j < measures.length; j++) {
        const value = found[j];
        if (value === undefined) continue;
        const m = state.measures[j];
        if (value === 'skip') {
          m.x++;
          continue;
        }
        m.c++;
        m.sum = m.sum === null ? value : add(m.sum, value);
        if (m.lo === null || compare(value, m.lo) < 0) m.lo = value;
        if (m.hi === null || compare(value, m.hi) > 0) m.hi = value;
      }
    }
  }
  return [...states.values()].map(({ group, measures: ms }) => ({
    ...group,
    m: ms.map((m, j) => ({ k: measures[j], c: m.c, s: m.sum && decimalText(m.sum), lo: m.lo && decimalText(m.lo), hi: m.hi && decimalText(m.hi), x: m.x })),
  }));
}
