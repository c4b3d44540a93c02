import { MAX_JSON_DEPTH } from './bounds';

/** Where in a value something unstorable was found (`payload.data.name`), and what it is. */
export interface Unstorable {
  path: string;
  problem: string;
}

const PLAIN_KEY = /^[A-Za-z_$][\w$-]*$/;
// With the u flag a paired surrogate is one code point: \p{Cs} matches only a lone one.
const UNSTORABLE_CHARACTER = /[\0\p{Cs}]/u;

function stringProblem(text: string): string | undefined {
  // JSON.parse keeps both as they were escaped; jsonb refuses \u0000 (22P05) and a lone surrogate
  // (22P02), and JSON.stringify writes them back as those same escapes.
  if (!UNSTORABLE_CHARACTER.test(text)) return undefined;
  if (text.includes('\0')) return 'contains \\u0000, which PostgreSQL cannot store';
  return 'contains an unpaired UTF-16 surrogate (a lone \\ud800-\\udfff escape), which PostgreSQL cannot store';
}

/**
 * One walk over a parsed value (the recursion is bounded by `maxDepth`): returns the first string or
 * key PostgreSQL's jsonb refuses, number JavaScript cannot hold (beyond ±1.8e308 JSON.parse reads
 * Infinity, which is served and re-serialised as null), or nesting deeper than `maxDepth`. The path is
 * built only when something is found, on the way back up.
 */
export function findUnstorable(value: unknown, root = 'payload', maxDepth = MAX_JSON_DEPTH): Unstorable | undefined {
  const path: Array<string | number> = [];
  const problem = problemIn(value, 1, maxDepth, path);
  if (problem === undefined) return undefined;
  let text = root;
  for (let i = path.length - 1; i >= 0; i--) {
    const key = path[i];
    if (typeof key === 'number') text += `[${key}]`;
    else text += PLAIN_KEY.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
  }
  return { path: text, problem };
}

function problemIn(value: unknown, depth: number, maxDepth: number, path: Array<string | number>): string | undefined {
  if (typeof value === 'string') return stringProblem(value);
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : 'is a number beyond ±1.8e308, which Dash cannot store';
  if (value === null || typeof value !== 'object') return undefined;
  if (depth > maxDepth) return `nests arrays or objects deeper than ${maxDepth} levels`;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const problem = problemIn(value[i], depth + 1, maxDepth, path);
      if (problem !== undefined) {
        path.push(i);
        return problem;
      }
    }
    return undefined;
  }
  for (const key of Object.keys(value)) {
    const keyProblem = stringProblem(key);
    if (keyProblem !== undefined) {
      path.push(key);
      return `is a key that ${keyProblem}`;
    }
    const problem = problemIn((value as Record<string, unknown>)[key], depth + 1, maxDepth, path);
    if (problem !== undefined) {
      path.push(key);
      return problem;
    }
  }
  return undefined;
}
