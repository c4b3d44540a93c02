import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { Backlog } from './backlog';
import { RedisKeys } from './keys';

describe(Backlog.name, () => {
  const keys = new RedisKeys(`dash_t_backlog_${randomBytes(4).toString('hex')}`, 4);
  const redis = new Redis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
  const backlog = new Backlog(redis, keys);

  afterAll(async () => {
    const found = await redis.keys(`${keys.prefix}:*`);
    if (found.length) await redis.del(...found);
    redis.disconnect();
  });

  it('sums every partition and the backlog of before partitions, per pipeline, in one read', async () => {
    expect(await backlog.totals()).toEqual({ total: 0, committed: 0, byPipeline: new Map() });

    await backlog.add(Backlog.jobId(0, 'a'), { p1: 3, p2: 1 });
    await backlog.add(Backlog.jobId(2, 'b'), { p1: 4 });
    await backlog.add(Backlog.jobId(3, 'c'), { p3: 7 });
    await backlog.add('legacy-job', { p2: 5 });
    await backlog.add(Backlog.jobId(2, 'b'), { p1: 4 }); // a retried add counts once
    expect(await backlog.totals()).toEqual({ total: 20, committed: 0, byPipeline: new Map([['p1', 7], ['p2', 6], ['p3', 7]]) });

    await backlog.release(Backlog.jobId(0, 'a'));
    await backlog.release('legacy-job');
    await backlog.release('legacy-job'); // released twice, counted once
    expect(await backlog.totals()).toEqual({ total: 11, committed: 9, byPipeline: new Map([['p1', 4], ['p3', 7]]) });
  });

  it('reads a partition whose total went below zero as 0, as a read of that partition alone did', async () => {
    await redis.hset(keys.backlog(1).totals, '*', -6, '#', 2);
    const totals = await backlog.totals();
    expect(totals.total).toBe(11);
    expect(totals.committed).toBe(11);
  });
});
