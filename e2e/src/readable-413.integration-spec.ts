import { startStack, testEnv, type CreatedPipeline, type Stack } from './support/harness';
import { sendBody } from './support/raw-http';

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
        sendBody(stack.web.url, `/webhooks/${pipeline.id}`, size, i % 2 === 0 ? { chunk: 256 * 1024, gapMs: 0 } : { chunk: 64 * 1024, gapMs: 15 }),
      ),
    );
    const bad = outcomes.filter((outcome) => outcome.status !== 413 || outcome.error !== 'payload_too_large' || outcome.socketError !== null || outcome.wrote !== size);
    expect(bad).toEqual([]);
    expect((await fetch(`${stack.web.url}/health`)).status).toBe(200);
  });

  it('answers an oversized API body (3 MB) with 413 JSON, read in full by the sender', async () => {
    const outcomes = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        sendBody(stack.web.url, '/api/pipelines', 3_000_000, { chunk: i % 2 ? 32 * 1024 : 512 * 1024, gapMs: i % 2 ? 5 : 0, headers: `Authorization: Bearer ${stack.api.token}\r\n` }),
      ),
    );
    expect(outcomes.filter((outcome) => outcome.status !== 413 || outcome.error !== 'payload_too_large' || outcome.socketError !== null)).toEqual([]);
  });

  it('stops reading a sender that keeps going past 8 MiB more, closing its connection', async () => {
    const outcome = await sendBody(stack.web.url, `/webhooks/${pipeline.id}`, 64 * 1024 * 1024, { chunk: 1024 * 1024, gapMs: 0 });
    // The answer arrived first; the connection was then closed well before 64 MiB were taken.
    expect(outcome.status).toBe(413);
    expect(outcome.wrote).toBeLessThan(64 * 1024 * 1024);
  });
});
