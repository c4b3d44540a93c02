import { connect } from 'node:net';
import { startStack, testEnv, type CreatedPipeline, type Stack } from './support/harness';

interface SenderOutcome {
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
async function send(url: string, path: string, bodyBytes: number, options: { chunk: number; gapMs: number; headers?: string }): Promise<SenderOutcome> {
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

/** Issue 14 item 9: a 413 the sender can read, without a reset under a sender still writing. */
describe('413 payload_too_large that senders can read', () => {
  const env = testEnv('readable413');
  let stack: Stack;
  let pipeline: CreatedPipeline;

  beforeAll(async () => {
    stack = await startStack(env);
    pipeline = await stack.api.createPipeline();
  });

  afterAll(() => stack?.close());

  it('answers 40 concurrent senders of a 2 MiB webhook body, fast and slow, with 413 JSON and no reset', async () => {
    const size = 2 * 1024 * 1024;
    const outcomes = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        send(stack.web.url, `/webhooks/${pipeline.id}`, size, i % 2 === 0 ? { chunk: 256 * 1024, gapMs: 0 } : { chunk: 64 * 1024, gapMs: 15 }),
      ),
    );
    const bad = outcomes.filter((outcome) => outcome.status !== 413 || outcome.error !== 'payload_too_large' || outcome.socketError !== null || outcome.wrote !== size);
    expect(bad).toEqual([]);
    expect((await fetch(`${stack.web.url}/health`)).status).toBe(200);
  });

  it('answers an oversized API body (3 MB) with 413 JSON, read in full by the sender', async () => {
    const outcomes = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        send(stack.web.url, '/api/pipelines', 3_000_000, { chunk: i % 2 ? 32 * 1024 : 512 * 1024, gapMs: i % 2 ? 5 : 0, headers: `Authorization: Bearer ${stack.api.token}\r\n` }),
      ),
    );
    expect(outcomes.filter((outcome) => outcome.status !== 413 || outcome.error !== 'payload_too_large' || outcome.socketError !== null)).toEqual([]);
  });

  it('stops reading a sender that keeps going past 8 MiB more, closing its connection', async () => {
    const outcome = await send(stack.web.url, `/webhooks/${pipeline.id}`, 64 * 1024 * 1024, { chunk: 1024 * 1024, gapMs: 0 });
    // The answer arrived first; the connection was then closed well before 64 MiB were taken.
    expect(outcome.status).toBe(413);
    expect(outcome.wrote).toBeLessThan(64 * 1024 * 1024);
  });
});
