import { AlertJobName, JobName, Jobs, jobNamesOf, QueueName } from '@dash/domain';
import { UnrecoverableError } from 'bullmq';
import { dispatchJobs, type DispatchedJob } from './queues.module';

const quiet = { error: () => undefined };
/** Handlers for every job of the `default` queue. */
const defaultQueue = { [JobName.Poll]: async (job: DispatchedJob) => `polled ${job.id}`, [AlertJobName.Evaluate]: async () => 'evaluated' };

describe(dispatchJobs.name, () => {
  it('runs the handler of the job\'s name and answers what it answers', async () => {
    const run = dispatchJobs(QueueName.Default, defaultQueue, quiet);
    await expect(run({ id: '7', name: JobName.Poll })).resolves.toBe('polled 7');
    await expect(run({ id: '8', name: AlertJobName.Evaluate })).resolves.toBe('evaluated');
  });

  it.each([
    ['a name no job has', 'bogus'],
    ['a job of another queue', JobName.Ingest],
    ['a name inherited by every object', 'constructor'],
  ])('fails %s at once, without retrying, and says so', async (_, name) => {
    const errors: string[] = [];
    const run = dispatchJobs(QueueName.Default, defaultQueue, { error: (message: string) => void errors.push(message) });
    const failure = run({ id: '8', name }).then(
      () => null,
      (error: unknown) => error,
    );
    const error = await failure;
    // UnrecoverableError: BullMQ fails the job for good instead of retrying it `attempts` times.
    expect(error).toBeInstanceOf(UnrecoverableError);
    expect((error as Error).message).toContain(`unknown name "${name}"`);
    expect(errors).toHaveLength(1);
  });

  it('refuses to make a worker that misses a job of its queue, or takes one of another', () => {
    expect(() => dispatchJobs(QueueName.Pipelines, {}, quiet)).toThrow(/missing: ingest/);
    expect(() => dispatchJobs(QueueName.Default, { [JobName.Poll]: async () => 1 }, quiet)).toThrow(/missing: alerts.evaluate/);
    expect(() => dispatchJobs(QueueName.Default, { ...defaultQueue, [JobName.Ingest]: async () => 'x' }, quiet)).toThrow(/not on this queue: ingest/);
  });
});

describe('Jobs', () => {
  it('puts every job on a queue, and each queue\'s jobs are found by name', () => {
    for (const name of [...Object.values(JobName), ...Object.values(AlertJobName)]) expect(Object.values(QueueName)).toContain(Jobs[name].queue);
    expect(jobNamesOf(QueueName.Pipelines)).toEqual([JobName.Ingest]);
    expect(jobNamesOf(QueueName.Default)).toEqual([JobName.Poll, AlertJobName.Evaluate]);
    expect(jobNamesOf(QueueName.Mailers)).toEqual([AlertJobName.Deliver]);
  });

  it('retries ingest jobs for about two hours and keeps those that failed for good', () => {
    const { attempts, backoff, removeOnFail } = Jobs[JobName.Ingest].options;
    // Exponential backoff: the sum of delay × 2^(n−1) over the retries.
    const totalMs = Array.from({ length: attempts - 1 }, (_, n) => backoff.delay * 2 ** n).reduce((sum, ms) => sum + ms, 0);
    expect(totalMs / 3_600_000).toBeGreaterThan(1.5);
    expect(totalMs / 3_600_000).toBeLessThan(2.5);
    expect(removeOnFail).toBe(false);
  });
});
