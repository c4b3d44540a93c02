// C0 and C1 controls, DEL, and the Unicode line and paragraph separators: anything a log
// reader or terminal could take for a new line or a control sequence.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/**
 * A value from input (an event id, a path, an upstream's message) made safe to put inside a
 * log line: control characters are escaped (`\n`, `\u001b`), so a value cannot forge a line
 * or recolour a terminal, and it is cut at `maxLength` characters.
 */
export function logText(value: unknown, maxLength = 200): string {
  const text = String(value);
  const cut = text.length > maxLength ? `${text.slice(0, maxLength)}…` : text;
  return cut.replace(UNSAFE, (char) => {
    if (char === '\n') return '\\n';
    if (char === '\r') return '\\r';
    if (char === '\t') return '\\t';
    return `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}
