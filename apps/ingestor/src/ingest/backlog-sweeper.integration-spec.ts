import { QueueName } from '@dash/domain';
import { Backlog, RedisKeys } from '@dash/infra';
import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { BacklogSweeper } from './backlog-sweeper';

describe(BacklogSweeper.name, () => {
  const keys = new RedisKeys(`dash_t_sweep_${randomBytes(4).toString('hex')}`);
  const redis = new Redis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
  const backlog = new Backlog(redis, keys);

  afterAll(async () => {
    const found = await redis.keys(`${keys.prefix}:*`);
    if (found.length) await redis.del(...found);
    redis.disconnect();
  });

  it('sweeps the backlog of before partitions too', async () => {
    await backlog.add('legacy-ghost', { p9: 4 });
    const sweeper = new BacklogSweeper(redis, keys, backlog);
    expect(await sweeper.sweep()).toBe(0);
    expect((await backlog.totals()).byPipeline.get('p9')).toBe(4);
    expect(await redis.hexists(keys.legacyBacklog.jobs, 'legacy-ghost')).toBe(1);
    expect(await sweeper.sweep()).toBe(1);
    expect((await backlog.totals()).byPipeline.get('p9')).toBeUndefined();
  });

  it('releases a count whose job is missing on two passes in a row, and keeps counts of queued jobs', async () => {
    const queued = Backlog.jobId(3, 'queued');
    await redis.hset(`${keys.ingestBull(3)}:${QueueName.Pipelines}:${queued}`, 'name', 'ingest');
    await backlog.add(queued, { p1: 3 });
    await backlog.add(Backlog.jobId(5, 'ghost'), { p1: 5, p2: 2 });
    const sweeper = new BacklogSweeper(redis, keys, backlog);
    expect(await sweeper.sweep()).toBe(0); // first sighting: could be an enqueue under way
    expect((await backlog.totals()).total).toBe(10);
    expect(await sweeper.sweep()).toBe(1);
    const totals = await backlog.totals();
    expect(totals.total).toBe(3);
    expect(Object.fromEntries(totals.byPipeline)).toEqual({ p1: 3 });
    expect(await sweeper.sweep()).toBe(0);
  });
});
