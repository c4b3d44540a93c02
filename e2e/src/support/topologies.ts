import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { Cluster, Redis } from 'ioredis';
import { keySlot } from '@dash/infra';
import { startStack, testEnv, type Stack } from './harness';
import { sleep } from './processes';

const ROOT = join(__dirname, '../../..');

/** The Redis Cluster and Sentinel set the topology suites run on (scripts/redis-topologies.sh). */
export interface RedisTopologies {
  /** Where each server keeps its data, log, pid and start.sh. */
  dir: string;
  clusterNodes: string;
  sentinels: string;
  sentinelMaster: string;
}

let started: RedisTopologies | null = null;

/**
 * From `TEST_REDIS_CLUSTER_NODES`, `TEST_REDIS_SENTINELS` and `TEST_REDIS_SENTINEL_MASTER` (CI
 * exports them), else by running scripts/redis-topologies.sh, which reuses servers already up. A
 * topology that cannot be had fails the suite: it is never skipped.
 */
export function redisTopologies(): RedisTopologies {
  const env = process.env;
  if (env.TEST_REDIS_CLUSTER_NODES && env.TEST_REDIS_SENTINELS && env.TEST_REDIS_SENTINEL_MASTER && env.TEST_REDIS_TOPOLOGIES_DIR) {
    return { dir: env.TEST_REDIS_TOPOLOGIES_DIR, clusterNodes: env.TEST_REDIS_CLUSTER_NODES, sentinels: env.TEST_REDIS_SENTINELS, sentinelMaster: env.TEST_REDIS_SENTINEL_MASTER };
  }
  if (started) return started;
  const output = execFileSync(join(ROOT, 'scripts/redis-topologies.sh'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const vars = Object.fromEntries(output.split('\n').filter((line) => line.startsWith('TEST_REDIS_')).map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
  for (const name of ['TEST_REDIS_TOPOLOGIES_DIR', 'TEST_REDIS_CLUSTER_NODES', 'TEST_REDIS_SENTINELS', 'TEST_REDIS_SENTINEL_MASTER']) {
    if (!vars[name]) throw new Error(`scripts/redis-topologies.sh printed no ${name}`);
  }
  started = { dir: vars.TEST_REDIS_TOPOLOGIES_DIR, clusterNodes: vars.TEST_REDIS_CLUSTER_NODES, sentinels: vars.TEST_REDIS_SENTINELS, sentinelMaster: vars.TEST_REDIS_SENTINEL_MASTER };
  return started;
}

const portOf = (url: string) => Number(new URL(url).port);

/** A plain connection to one server of the topologies, by port. */
export function serverAt(port: number): Redis {
  return new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1, lazyConnect: false, retryStrategy: () => null });
}

/** The masters of the cluster now, with the slots each serves. */
export async function clusterMasters(topologies: RedisTopologies): Promise<Array<{ port: number; slots: Array<[number, number]> }>> {
  for (const url of topologies.clusterNodes.split(',')) {
    const redis = serverAt(portOf(url));
    redis.on('error', () => undefined);
    try {
      const shards = (await redis.call('CLUSTER', 'SLOTS')) as Array<[number, number, [string, number, string]]>;
      const masters = new Map<number, Array<[number, number]>>();
      for (const [from, to, [, port]] of shards) masters.set(port, [...(masters.get(port) ?? []), [from, to]]);
      return [...masters].map(([port, slots]) => ({ port, slots }));
    } catch {
      // That node is down: ask the next.
    } finally {
      redis.disconnect();
    }
  }
  throw new Error('no cluster node answers');
}

/** The port of the master serving a key's slot. */
export async function masterOfKey(topologies: RedisTopologies, key: string): Promise<number> {
  const slot = keySlot(key);
  const master = (await clusterMasters(topologies)).find((m) => m.slots.some(([from, to]) => slot >= from && slot <= to));
  if (!master) throw new Error(`no master serves slot ${slot}`);
  return master.port;
}

/** A cluster node's id, asked of the node itself. */
async function nodeId(port: number): Promise<string> {
  const redis = serverAt(port);
  try {
    return String(await redis.call('CLUSTER', 'MYID'));
  } finally {
    redis.disconnect();
  }
}

/**
 * Moves one slot from its master to another master as `redis-cli --cluster reshard` does, key by
 * key while clients keep writing (`CLUSTER SETSLOT … IMPORTING/MIGRATING`, `MIGRATE`, then
 * `SETSLOT … NODE` on every master). Returns the port of the new owner.
 */
export async function migrateSlot(topologies: RedisTopologies, slot: number, pause: () => Promise<void> = async () => undefined): Promise<number> {
  const masters = await clusterMasters(topologies);
  const source = masters.find((m) => m.slots.some(([from, to]) => slot >= from && slot <= to));
  const target = masters.find((m) => m !== source);
  if (!source || !target) throw new Error(`no two masters for slot ${slot}`);
  const [sourceId, targetId] = [await nodeId(source.port), await nodeId(target.port)];
  const [from, to] = [serverAt(source.port), serverAt(target.port)];
  try {
    await to.call('CLUSTER', 'SETSLOT', slot, 'IMPORTING', sourceId);
    await from.call('CLUSTER', 'SETSLOT', slot, 'MIGRATING', targetId);
    for (;;) {
      const keys = (await from.call('CLUSTER', 'GETKEYSINSLOT', slot, 10)) as string[];
      if (keys.length === 0) break;
      await from.call('MIGRATE', '127.0.0.1', target.port, '', 0, 5000, 'REPLACE', 'KEYS', ...keys);
      // Writers keep going between the batches: some keys of the slot are here, some there.
      await pause();
    }
    for (const { port } of masters) {
      const master = serverAt(port);
      try {
        await master.call('CLUSTER', 'SETSLOT', slot, 'NODE', targetId);
      } finally {
        master.disconnect();
      }
    }
  } finally {
    from.disconnect();
    to.disconnect();
  }
  return target.port;
}

/** Kills a server at once (kill -9): no shutdown, no final write. */
export function kill9(topologies: RedisTopologies, port: number): void {
  const pid = Number(execFileSync('cat', [join(topologies.dir, String(port), 'pid')], { encoding: 'utf8' }).trim());
  process.kill(pid, 'SIGKILL');
}

/** Starts a server again as it was started (its start.sh), and waits until it answers. */
export async function restart(topologies: RedisTopologies, port: number): Promise<void> {
  execFileSync(join(topologies.dir, String(port), 'start.sh'), { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    const redis = serverAt(port);
    redis.on('error', () => undefined);
    try {
      if ((await redis.ping()) === 'PONG') return;
    } catch {
      await sleep(100);
    } finally {
      redis.disconnect();
    }
  }
  throw new Error(`redis on port ${port} did not come back`);
}

/** Waits until every slot is served again (`cluster_state:ok` on every master that answers). */
export async function clusterHealthy(topologies: RedisTopologies, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const masters = await clusterMasters(topologies);
      const served = masters.reduce((sum, m) => sum + m.slots.reduce((n, [from, to]) => n + to - from + 1, 0), 0);
      if (served === 16384) {
        const states = await Promise.all(
          masters.map(async ({ port }) => {
            const redis = serverAt(port);
            redis.on('error', () => undefined);
            try {
              return /cluster_state:ok/.test(String(await redis.call('CLUSTER', 'INFO')));
            } catch {
              return false;
            } finally {
              redis.disconnect();
            }
          }),
        );
        if (states.every(Boolean)) return;
      }
    } catch {
      // A node is down: try again.
    }
    await sleep(200);
  }
  throw new Error('the cluster did not become healthy');
}

/** Every key under a prefix on every master of the cluster. */
export async function clusterKeys(topologies: RedisTopologies, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for (const { port } of await clusterMasters(topologies)) {
    const redis = serverAt(port);
    try {
      let cursor = '0';
      do {
        const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
        cursor = next;
        keys.push(...found);
      } while (cursor !== '0');
    } finally {
      redis.disconnect();
    }
  }
  return keys;
}

/** Deletes every key under a prefix on the cluster (one key per command: a DEL may not span slots). */
export async function deleteClusterKeys(topologies: RedisTopologies, prefix: string): Promise<void> {
  const keys = await clusterKeys(topologies, prefix);
  if (keys.length === 0) return;
  const cluster = new Cluster(topologies.clusterNodes.split(',').map((url) => ({ host: '127.0.0.1', port: portOf(url) })));
  try {
    await Promise.all(keys.map((key) => cluster.del(key)));
  } finally {
    cluster.disconnect();
  }
}

/** The port of the master the Sentinels name now. */
export async function sentinelMasterPort(topologies: RedisTopologies): Promise<number> {
  for (const url of topologies.sentinels.split(',')) {
    const sentinel = serverAt(portOf(url));
    sentinel.on('error', () => undefined);
    try {
      const [, port] = (await sentinel.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', topologies.sentinelMaster)) as [string, string];
      return Number(port);
    } catch {
      // Ask the next Sentinel.
    } finally {
      sentinel.disconnect();
    }
  }
  throw new Error('no Sentinel answers');
}

/** Deletes every key under a prefix on the Sentinel set's current master. */
export async function deleteSentinelKeys(topologies: RedisTopologies, prefix: string): Promise<void> {
  const redis = serverAt(await sentinelMasterPort(topologies));
  try {
    let cursor = '0';
    do {
      const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (found.length) await redis.del(...found);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

export type TopologyName = 'single' | 'cluster' | 'sentinel';

/** One web node and one ingestor of a suite on a topology, and what `close` cleans up. */
export interface TopologyStack extends Stack {
  topologies: RedisTopologies;
}

/**
 * A suite's stack (its own database and key prefix, as `testEnv` makes them) on one Redis, the
 * cluster or the Sentinel set: on the last two REDIS_URL points nowhere that matters, so every
 * client must come through the topology's setting. `close` stops both apps and deletes the suite's
 * database and its keys wherever they went.
 */
export async function startTopologyStack(label: string, topology: TopologyName, overrides: Record<string, string> = {}): Promise<TopologyStack> {
  const topologies = redisTopologies();
  const settings: Record<string, string> =
    topology === 'cluster'
      ? { REDIS_CLUSTER_NODES: topologies.clusterNodes }
      : topology === 'sentinel'
        ? { REDIS_SENTINELS: topologies.sentinels, REDIS_SENTINEL_MASTER: topologies.sentinelMaster }
        : {};
  const env = testEnv(label, { ...settings, ...overrides });
  const stack = await startStack(env);
  return {
    ...stack,
    topologies,
    close: async () => {
      await stack.close();
      if (topology === 'cluster') await deleteClusterKeys(topologies, env.name);
      if (topology === 'sentinel') await deleteSentinelKeys(topologies, env.name);
    },
  };
}
