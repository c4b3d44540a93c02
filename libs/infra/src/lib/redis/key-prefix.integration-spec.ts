import { Redis } from 'ioredis';
import { randomBytes, randomUUID } from 'node:crypto';
import { RedisKeys } from './keys';
import { bindKeyPrefix } from './redis';

describe('bindKeyPrefix', () => {
  const redis = new Redis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
  const keys = new RedisKeys(`dash_t_prefix_${randomBytes(4).toString('hex')}`);

  afterAll(async () => {
    await redis.del(keys.owner);
    redis.disconnect();
  });

  it('claims a free prefix, lets the same database bind again, and refuses another database naming DASH_KEY_PREFIX', async () => {
    const mine = randomUUID();
    await bindKeyPrefix(redis, keys, mine);
    expect(await redis.get(keys.owner)).toBe(mine);
    await expect(bindKeyPrefix(redis, keys, mine)).resolves.toBeUndefined();
    await expect(bindKeyPrefix(redis, keys, randomUUID())).rejects.toThrow(new RegExp(`DASH_KEY_PREFIX "${keys.prefix}" belongs to another Dash deployment`));
    expect(await redis.get(keys.owner)).toBe(mine);
  });

  it('claims the prefix again once the binding is gone (a Redis restarted empty)', async () => {
    const mine = randomUUID();
    await redis.del(keys.owner);
    await bindKeyPrefix(redis, keys, mine);
    expect(await redis.get(keys.owner)).toBe(mine);
  });
});
