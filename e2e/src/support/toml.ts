/**
 * The TOML that fly.*.toml use, parsed strictly enough for tests: comments, `[table]`,
 * `[[array of tables]]`, dotted table names, and `key = value` with strings, numbers, booleans
 * and arrays of those. Anything else throws, so a malformed file fails the test.
 */
export type TomlValue = string | number | boolean | TomlValue[] | TomlTable | TomlTable[];
export interface TomlTable {
  [key: string]: TomlValue;
}

function parseValue(text: string, line: number): TomlValue {
  const value = text.trim();
  if (/^"([^"\\]|\\.)*"$/.test(value)) return JSON.parse(value) as string;
  if (/^'[^']*'$/.test(value)) return value.slice(1, -1);
  if (value === 'true' || value === 'false') return value === 'true';
  if (/^[+-]?\d[\d_]*(\.\d+)?$/.test(value)) return Number(value.replace(/_/g, ''));
  if (value.startsWith('[') && value.endsWith(']')) {
    const inner = value.slice(1, -1).trim();
    if (!inner) return [];
    const items = inner.match(/"(?:[^"\\]|\\.)*"|'[^']*'|[^,\s][^,]*/g) ?? [];
    return items.map((item) => parseValue(item, line));
  }
  throw new Error(`line ${line}: unsupported TOML value ${value}`);
}

function stripComment(line: string): string {
  let quote: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '#') return line.slice(0, i);
  }
  return line;
}

export function parseToml(text: string): TomlTable {
  const root: TomlTable = {};
  let current = root;
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = stripComment(lines[n]).trim();
    if (!line) continue;
    const header = /^(\[\[?)\s*([A-Za-z0-9_.-]+)\s*(\]\]?)$/.exec(line);
    if (header) {
      const array = header[1] === '[[';
      if (array !== (header[3] === ']]')) throw new Error(`line ${n + 1}: malformed table header`);
      const path = header[2].split('.');
      let table = root;
      for (const [i, key] of path.entries()) {
        const last = i === path.length - 1;
        if (last && array) {
          const list = (table[key] ??= []) as TomlTable[];
          if (!Array.isArray(list)) throw new Error(`line ${n + 1}: ${key} is not an array of tables`);
          const entry: TomlTable = {};
          list.push(entry);
          table = entry;
        } else {
          const next = (table[key] ??= {}) as TomlTable | TomlTable[];
          table = Array.isArray(next) ? next[next.length - 1] : next;
        }
      }
      current = table;
      continue;
    }
    const pair = /^([A-Za-z0-9_-]+)\s*=\s*(.+)$/.exec(line);
    if (!pair) throw new Error(`line ${n + 1}: not TOML: ${line}`);
    if (pair[1] in current) throw new Error(`line ${n + 1}: ${pair[1]} defined twice`);
    current[pair[1]] = parseValue(pair[2], n + 1);
  }
  return root;
}
