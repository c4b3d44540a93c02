/** The JSON types the field catalog tells apart. */
export type JsonType = 'string' | 'number' | 'boolean' | 'null' | 'object' | 'array';

/** The catalog follows objects this many levels deep (arrays are listed, not entered). */
export const MAX_FIELD_DEPTH = 8;
/** Paths kept per pipeline (and read from one event): the first ones seen, shallow ones first. */
export const MAX_FIELD_PATHS = 500;
/** Distinct example values kept per path. */
export const MAX_FIELD_EXAMPLES = 5;
/** A longer string example is cut to this many characters. */
export const MAX_FIELD_EXAMPLE_LENGTH = 100;

/** One path of the catalog, as `GET /api/pipelines/:id/fields` lists it. */
export interface FieldView {
  path: string;
  types: JsonType[];
  /** Share of the sampled events that carried the path, 0 to 1. */
  share: number;
  examples: Array<string | number | boolean | null>;
  firstSeenAt: string;
  lastSeenAt: string;
}

/** One path found in a payload: its type and, for a scalar, its value as an example. */
export interface PayloadField {
  path: string;
  type: JsonType;
  example?: string | number | boolean | null;
}

function jsonType(value: unknown): JsonType {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  const type = typeof value;
  return type === 'string' || type === 'number' || type === 'boolean' ? type : 'object';
}

/**
 * The dot paths of a parsed payload, breadth first (so shallow paths are kept when `maxPaths` cuts),
 * objects entered to `maxDepth`, arrays listed but not entered. Keys that a dot path cannot name
 * (empty, or holding a dot) are left out.
 */
export function payloadFields(payload: unknown, maxDepth = MAX_FIELD_DEPTH, maxPaths = MAX_FIELD_PATHS): PayloadField[] {
  const fields: PayloadField[] = [];
  if (jsonType(payload) !== 'object') return fields;
  const queue: Array<[prefix: string, value: Record<string, unknown>, depth: number]> = [['', payload as Record<string, unknown>, 1]];
  for (let next = 0; next < queue.length && fields.length < maxPaths; next++) {
    const [prefix, object, depth] = queue[next];
    for (const [key, value] of Object.entries(object)) {
      if (key === '' || key.includes('.')) continue;
      const path = prefix + key;
      if (path.length > 200) continue;
      const type = jsonType(value);
      const field: PayloadField = { path, type };
      if (type === 'string') field.example = (value as string).slice(0, MAX_FIELD_EXAMPLE_LENGTH);
      else if (type !== 'object' && type !== 'array') field.example = value as number | boolean | null;
      fields.push(field);
      if (fields.length >= maxPaths) break;
      if (type === 'object' && depth < maxDepth) queue.push([`${path}.`, value as Record<string, unknown>, depth + 1]);
    }
  }
  return fields;
}
