import { createRedis, type RedisTopology } from '@dash/infra';
import type { Cluster } from 'ioredis';
import { sleep } from '../support/processes';
import { redisTopologies } from '../support/topologies';

const ended = (cluster: Cluster) => new Promise<void>((resolve) => cluster.once('end', () => resolve()));

/** A closed cluster client (createRedis) lets go of its timers (redis.ts, releaseOnClose): ioredis 5's periodic slot refresh re-arms itself after a close that met a refresh under way. */
describe('a Redis Cluster client, once closed', () => {
  const cluster: RedisTopology = {
    topology: 'cluster',
    nodes: redisTopologies().clusterNodes.split(',').map((url) => ({ host: '127.0.0.1', port: Number(new URL(url).port), tls: false })),
  };

  it('stops refreshing its slot map when closed during a refresh', async () => {
    const client = createRedis(cluster, 'worker', `close-timers-${process.pid}`) as Cluster;
    client.on('error', () => undefined);
    await client.ping();
    const refresh = client.refreshSlotsCache.bind(client);
    let refreshes = 0;
    const end = ended(client);
    // The first periodic refresh is under way when the client is closed.
    client.refreshSlotsCache = (callback?: Parameters<Cluster['refreshSlotsCache']>[0]) => {
      refreshes += 1;
      refresh(callback);
      if (refreshes === 1) client.disconnect();
    };
    await end;
    // Two and a half refresh periods (2 s) after the close: none more.
    await sleep(5000);
    expect(refreshes).toBe(1);
  });
});
