import { liveAdapterKind, redisVersionOf } from './live';

describe('liveAdapterKind', () => {
  it('takes the sharded adapter from Redis 7 on, and the classic one before (no sharded pub/sub there)', () => {
    expect(liveAdapterKind('7.0.15')).toBe('sharded');
    expect(liveAdapterKind('7.2.4')).toBe('sharded');
    expect(liveAdapterKind('8.0.0')).toBe('sharded');
    expect(liveAdapterKind('6.2.14')).toBe('classic');
    expect(liveAdapterKind('0')).toBe('classic');
  });

  it('reads the version from INFO server', async () => {
    const info = async () => '# Server\r\nredis_version:7.0.15\r\nredis_mode:cluster\r\n';
    expect(await redisVersionOf({ info })).toBe('7.0.15');
    expect(await redisVersionOf({ info: async () => '# Server\r\n' })).toBe('0');
  });
});
