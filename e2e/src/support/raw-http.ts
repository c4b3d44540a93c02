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

export interface SenderOutcome {
  status: number | null;
  error: string | null;
  /** A socket error (EPIPE, ECONNRESET) seen while the body was still being written or before the answer was read. */
  socketError: string | null;
  wrote: number;
}

/**
 * Sends `bodyBytes` to `path` over a raw socket as a real sender does: the head, then the body in
 * chunks (`gapMs` apart for a slow sender), reading whatever comes back meanwhile.
 */
export async function sendBody(url: string, path: string, bodyBytes: number, options: { chunk: number; gapMs: number; headers?: string }): Promise<SenderOutcome> {
  const { hostname, port } = new URL(url);
  // Half-open allowed: a sender still writing its body keeps writing after the server's FIN, as HTTP clients do.
  const socket = connect({ port: Number(port), host: hostname, allowHalfOpen: true });
  let text = '';
  let socketError: string | null = null;
  let wrote = 0;
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  socket.on('error', (error: NodeJS.ErrnoException) => (socketError ??= error.code ?? error.message));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  socket.write(`POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${bodyBytes}\r\n${options.headers ?? ''}\r\n`);
  const chunk = Buffer.alloc(options.chunk, 0x20);
  // A server that neither reads nor closes would stall the writer: bounded, and reported as such.
  const stalled = new Promise<'stalled'>((resolve) => setTimeout(() => resolve('stalled'), 30_000).unref());
  while (wrote < bodyBytes && !socket.destroyed && socketError === null) {
    const part = chunk.subarray(0, Math.min(chunk.length, bodyBytes - wrote));
    const flushed = socket.write(part);
    wrote += part.length;
    if (!flushed && (await Promise.race([new Promise((resolve) => socket.once('drain', resolve)), closed, stalled])) === 'stalled') {
      socketError = 'stalled: the server stopped reading without closing';
      break;
    }
    if (options.gapMs) await new Promise((resolve) => setTimeout(resolve, options.gapMs));
  }
  // The whole body is written: the answer is read, then the sender closes.
  const deadline = Date.now() + 20_000;
  while (!/\r\n\r\n[\s\S]*\}/.test(text) && !socket.destroyed && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  socket.end();
  socket.destroy();
  await closed;
  const status = /^HTTP\/1\.1 (\d{3})/.exec(text);
  const body = /\r\n\r\n(\{[^\r\n]*\})/.exec(text);
  let error: string | null = null;
  try {
    error = body ? ((JSON.parse(body[1]) as { error?: string }).error ?? null) : null;
  } catch {
    // left null
  }
  return { status: status ? Number(status[1]) : null, error, socketError, wrote };
}
