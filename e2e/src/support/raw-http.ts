import { connect } from 'node:net';

export interface RawAnswer {
  /** HTTP status of the first response, or null when the server closed without answering. */
  status: number | null;
  text: string;
  /** The first response's body as JSON, when it is JSON. */
  json: { error?: string } | null;
}

/**
 * Writes bytes to the server over a plain TCP socket, for requests fetch cannot make: duplicate
 * or oversized headers, a Content-Length that lies, a sender that stalls. `parts` are written
 * `gapMs` apart; with `halfClose` the socket's write side ends after the last part.
 */
export async function rawHttp(url: string, parts: Array<string | Buffer>, options: { gapMs?: number; halfClose?: boolean; waitMs?: number } = {}): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  socket.on('error', () => undefined);
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  for (const part of parts) {
    if (socket.destroyed) break;
    socket.write(part);
    if (options.gapMs) await new Promise((resolve) => setTimeout(resolve, options.gapMs));
  }
  if (options.halfClose) socket.end();
  // Until the server answers (first status line complete) or closes, bounded.
  const deadline = Date.now() + (options.waitMs ?? 5000);
  while (Date.now() < deadline && !socket.destroyed && !/\r\n\r\n/.test(text)) await new Promise((resolve) => setTimeout(resolve, 20));
  // Give a body a moment to arrive after the head.
  if (/\r\n\r\n/.test(text)) await new Promise((resolve) => setTimeout(resolve, 50));
  socket.destroy();
  await closed;
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(text);
  let json: RawAnswer['json'] = null;
  try {
    json = JSON.parse(/\r\n\r\n([^\r\n]*)/.exec(text)?.[1] ?? '');
  } catch {
    // no JSON body
  }
  return { status: match ? Number(match[1]) : null, text, json };
}
