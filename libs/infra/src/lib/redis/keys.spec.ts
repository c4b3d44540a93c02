import { Backlog } from './backlog';
import { RedisKeys } from './keys';
import { keySlot } from './replica-acks';

describe(RedisKeys.name, () => {
  const keys = new RedisKeys('dash', 16);

  it('puts the keys used together in one slot: a partition\'s queue and backlog, and the control keys', () => {
    for (let partition = 0; partition < 16; partition++) {
      const slot = keySlot(`${keys.ingestBull(partition)}:pipelines:wait`);
      expect(keySlot(`${keys.ingestBull(partition)}:pipelines:meta`)).toBe(slot);
      expect(keySlot(keys.backlog(partition).jobs)).toBe(slot);
      expect(keySlot(keys.backlog(partition).totals)).toBe(slot);
    }
    const control = keySlot(`${keys.bull}:default:wait`);
    for (const key of [`${keys.bull}:mailers:meta`, keys.nodes, keys.rejections('a'), keys.rejections('b'), keys.backlogRejections, keys.revocationAcks('t')]) expect(keySlot(key)).toBe(control);
  });

  it('spreads the partitions over slots, and keeps every key under the prefix', () => {
    expect(new Set(Array.from({ length: 16 }, (_, partition) => keySlot(keys.ingestBull(partition)))).size).toBe(16);
    for (const key of [keys.bull, keys.ingestBull(3), keys.backlog(3).jobs, keys.nodes, keys.owner, keys.legacyBull]) expect(key.startsWith('dash:')).toBe(true);
  });

  it('routes a pipeline to one partition, the same on every node, and spreads pipelines over all of them', () => {
    expect(keys.partitionOf('0b8f5a4e-4a7e-4d8c-9d61-2b1f0c3e7a10')).toBe(new RedisKeys('other', 16).partitionOf('0b8f5a4e-4a7e-4d8c-9d61-2b1f0c3e7a10'));
    const seen = new Set<number>();
    for (let i = 0; i < 1000; i++) {
      const partition = keys.partitionOf(`pipeline-${i}`);
      expect(partition).toBeGreaterThanOrEqual(0);
      expect(partition).toBeLessThan(16);
      seen.add(partition);
    }
    expect(seen.size).toBe(16);
    expect(new RedisKeys('dash', 1).partitionOf('anything')).toBe(0);
  });

  it('names the partition in an ingest job id, so its release finds the partition\'s backlog; older ids go to the un-tagged one', () => {
    const id = Backlog.jobId(7, 'abc');
    expect(Backlog.partitionOfJob(id)).toBe(7);
    expect(Backlog.partitionOfJob('3f1c0e9a-uuid')).toBeNull();
  });
});

describe(keySlot.name, () => {
  it('computes the slots Redis Cluster uses (CRC16 of the hash tag, else of the key)', () => {
    // Values from `redis-cli CLUSTER KEYSLOT`.
    expect(keySlot('foo')).toBe(12182);
    expect(keySlot('{user1000}.following')).toBe(keySlot('{user1000}.followers'));
    expect(keySlot('{user1000}.following')).toBe(keySlot('user1000'));
    expect(keySlot('foo{}{bar}')).toBe(8363); // an empty tag: the whole key is hashed
    expect(keySlot('123456789')).toBe(12739);
  });
});
