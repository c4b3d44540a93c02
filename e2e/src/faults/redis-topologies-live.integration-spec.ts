import type { INestMicroservice } from '@nestjs/common';
import { SocketEvent, type AlertUpdated, type DataUpdated, type PipelineStats } from '@dash/domain';
import { createRedis, DASH_CONFIG, quit, REDIS, RedisKeys, type DashConfig, type RedisClient } from '@dash/infra';
import { Cluster } from 'ioredis';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { LivePublisher } from '../../../apps/ingestor/src/live/live-publisher';
import { Api, connectViewer, sendWebhook, startIngestor, startWeb, testEnv, waitFor, type CreatedPipeline, type RunningWeb, type TestEnv, type Viewer } from '../support/harness';

/**
 * Live updates and the NestJS transport on each Redis topology: two web nodes and two ingestors
 * (in-process apps, as the core path runs them) on one Redis, on a Sentinel set and on a Redis
 * Cluster. An update from either ingestor reaches sockets on both web nodes; after `kill -9` of the
 * master that holds the pipeline's room (Sentinel: the master), once a replica is promoted, the
 * same sockets keep getting updates and the transport still reaches every node, with no restart.
 *
 * The Cluster and Sentinel set come from TEST_REDIS_CLUSTER_NODES / TEST_REDIS_SENTINELS /
 * TEST_REDIS_SENTINEL_MASTER (and TEST_REDIS_TOPOLOGIES_DIR, whose <port>/start.sh brings a killed
 * server back), as `scripts/redis-topologies.sh` prints them; unset, that script is run here.
 */
interface Topologies {
  dir: string;
  clusterNodes: string;
  sentinels: string;
  sentinelMaster: string;
}

function topologies(): Topologies {
  const fromEnv = (env: NodeJS.ProcessEnv): Topologies | null =>
    env.TEST_REDIS_CLUSTER_NODES && env.TEST_REDIS_SENTINELS && env.TEST_REDIS_SENTINEL_MASTER && env.TEST_REDIS_TOPOLOGIES_DIR
      ? { dir: env.TEST_REDIS_TOPOLOGIES_DIR, clusterNodes: env.TEST_REDIS_CLUSTER_NODES, sentinels: env.TEST_REDIS_SENTINELS, sentinelMaster: env.TEST_REDIS_SENTINEL_MASTER }
      : null;
  const given = fromEnv(process.env);
  if (given) return given;
  const output = execFileSync('bash', [resolve(__dirname, '../../../scripts/redis-topologies.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const printed = Object.fromEntries(output.split('\n').filter((line) => line.startsWith('TEST_REDIS_')).map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
  const found = fromEnv(printed);
  if (!found) throw new Error(`scripts/redis-topologies.sh printed no topologies:\n${output}`);
  return found;
}

const TOPOLOGIES = topologies();

type Topology = 'single' | 'sentinel' | 'cluster';
const overridesOf = (topology: Topology): Record<string, string> =>
  topology === 'cluster' ? { REDIS_CLUSTER_NODES: TOPOLOGIES.clusterNodes } : topology === 'sentinel' ? { REDIS_SENTINELS: TOPOLOGIES.sentinels, REDIS_SENTINEL_MASTER: TOPOLOGIES.sentinelMaster } : {};

/** The pid of the redis-server answering on a port (INFO), and `kill -9` of it. */
function kill9(port: number): void {
  const info = execFileSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), 'info', 'server'], { encoding: 'utf8' });
  const pid = Number(/process_id:(\d+)/.exec(info)?.[1]);
  if (!pid) throw new Error(`no redis-server on port ${port}`);
  process.kill(pid, 'SIGKILL');
}

/** Replicas connected to a master and online. */
function replicasInSync(port: number): number {
  const info = execFileSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), 'info', 'replication'], { encoding: 'utf8' });
  return (info.match(/^slave\d+:.*state=online/gm) ?? []).length;
}

/** Brings a killed server back as its start.sh made it (it rejoins as a replica). */
function restart(port: number): void {
  const script = join(TOPOLOGIES.dir, String(port), 'start.sh');
  if (existsSync(script)) execFileSync('bash', [script], { stdio: 'ignore' });
}

/** Deletes a suite's keys on every master of its topology. */
async function deleteKeysOn(config: DashConfig): Promise<void> {
  const client = createRedis(config.redis, 'worker', 'test-cleanup');
  try {
    const nodes: RedisClient[] = client instanceof Cluster ? client.nodes('master') : [client];
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', `*${config.keyPrefix}*`, 'COUNT', 1000);
        cursor = next;
        for (const key of keys) await client.del(key);
      } while (cursor !== '0');
    }
  } finally {
    await quit(client);
  }
}

const stateOf = (pipelineId: string, version: number): PipelineStats => ({ pipelineId, count: version, version, lastEventAt: new Date(0).toISOString(), lastEvent: null });

describe.each<Topology>(['single', 'sentinel', 'cluster'])('live updates on %s Redis: 2 web nodes, 2 ingestors', (topology) => {
  let env: TestEnv;
  let ingestors: INestMicroservice[] = [];
  let webs: RunningWeb[] = [];
  /** Announced by the test through each ingestor's publisher (its own versions). */
  let pipeline: CreatedPipeline;
  /** Fed real webhooks: its versions are the ingestors' own. */
  let hooks: CreatedPipeline;
  let viewers: Viewer[] = [];
  /** What each viewer (one on each web node) received. */
  const data: DataUpdated[][] = [[], []];
  const alerts: AlertUpdated[][] = [[], []];
  let version = 0;
  let killed: number | null = null;

  beforeAll(async () => {
    env = testEnv(`live${topology}`, overridesOf(topology));
    ingestors = [await startIngestor(env.config('ingestor')), await startIngestor(env.config('ingestor'))];
    webs = [await startWeb(env.config('web')), await startWeb(env.config('web'))];
    pipeline = await new Api(webs[0].url).createPipeline({ name: `live on ${topology}` });
    hooks = await new Api(webs[0].url).createPipeline({ name: `webhooks on ${topology}` });
    viewers = await Promise.all(webs.map((web) => connectViewer(web.url, env.env.DASH_ADMIN_TOKEN)));
    viewers.forEach((viewer, i) => {
      viewer.on(SocketEvent.DataUpdated, (update) => data[i].push(update));
      viewer.on(SocketEvent.AlertUpdated, (update) => alerts[i].push(update));
    });
    for (const viewer of viewers) {
      for (const pipelineId of [pipeline.id, hooks.id]) {
        const ack = await new Promise<{ ok: boolean }>((done) => viewer.emit(SocketEvent.Subscribe, { pipelineId }, done));
        expect(ack.ok).toBe(true);
      }
    }
  }, 60_000);

  afterAll(async () => {
    // Back first, so that nothing waits on it while closing; it rejoins as a replica.
    if (killed !== null) restart(killed);
    for (const viewer of viewers) viewer.disconnect();
    for (const web of webs) await web.close();
    for (const ingestor of ingestors) await ingestor.close();
    if (env) {
      await deleteKeysOn(env.config('web')).catch(() => undefined);
      await env.cleanup();
    }
  }, 60_000);

  /** Each ingestor announces a new state and an alert change: both viewers get all of them. */
  const eachIngestorReachesEveryWebNode = async (label: string) => {
    for (const [i, ingestor] of ingestors.entries()) {
      const v = ++version;
      const alertId = `${label}-from-ingestor-${i}`;
      const publisher = ingestor.get(LivePublisher);
      publisher.publish([stateOf(pipeline.id, v)]);
      publisher.alertUpdated({ pipelineId: pipeline.id, alertId, state: 'firing', since: new Date(0).toISOString() });
      for (const j of [0, 1]) {
        await waitFor(() => data[j].filter((u) => u.pipelineId === pipeline.id).map((u) => u.version), (seen) => seen.includes(v), 15_000, `version ${v} from ingestor ${i} on web node ${j} (${label})`);
        await waitFor(() => alerts[j].map((u) => u.alertId), (seen) => seen.includes(alertId), 15_000, `${alertId} on web node ${j}`);
      }
    }
  };

  /** A stored webhook's update reaches both web nodes' viewers; a sender retries a 503 as the contract asks. */
  const webhookReachesEveryWebNode = async (label: string) => {
    const id = `${topology}-${label}`;
    await waitFor(async () => (await sendWebhook(webs[1].url, hooks, { type: 'order.created' }, { id })).status, (status) => status === 202, 30_000, `202 for ${id}`);
    for (const j of [0, 1]) await waitFor(() => data[j].filter((u) => u.lastEvent?.id === id).length, (n) => n > 0, 30_000, `update of ${id} on web node ${j}`);
  };

  /** A revocation sent by web node A over the transport is confirmed by web node B (it heard it). */
  const transportReachesOtherWebNode = async (label: string) => {
    const api = new Api(webs[0].url);
    const created = await api.request('POST', '/api/tokens', { pipelines: [pipeline.id], label });
    expect(created.status).toBe(201);
    expect((await api.request('DELETE', `/api/tokens/${created.body.id}`)).status).toBe(204);
    const redis = webs[1].app.get<RedisClient>(REDIS);
    const key = webs[1].app.get(RedisKeys).revocationAcks(created.body.id);
    const nodeB = webs[1].app.get<DashConfig>(DASH_CONFIG).nodeId;
    await waitFor(() => redis.smembers(key), (acked) => acked.includes(nodeB), 15_000, `web node B's confirmation of the revocation (${label})`);
  };

  it('an update from either ingestor reaches sockets on both web nodes, and a stored webhook too', async () => {
    await eachIngestorReachesEveryWebNode('before');
    await webhookReachesEveryWebNode('before');
  }, 60_000);

  it('the transport between the nodes reaches every web node', async () => {
    await transportReachesOtherWebNode('before');
  }, 30_000);

  if (topology !== 'single') {
    it('after kill -9 of the master holding the room, sockets keep getting updates and the transport works, without a restart', async () => {
      const port = await masterPortOf(topology, env.config('web'), `${webs[0].app.get(RedisKeys).socketio}#/#pipeline:${pipeline.id}#`);
      // A replica in sync must be there to take over (the topology is left whole by every suite).
      await waitFor(() => replicasInSync(port), (n) => n >= 1, 30_000, `a replica of the master on port ${port}`);
      kill9(port);
      killed = port;
      // The replica is promoted within the node timeout (2 s) or Sentinel's down-after (2 s) plus its election.
      await eachIngestorReachesEveryWebNode('after');
      await webhookReachesEveryWebNode('after');
      await transportReachesOtherWebNode('after');
    }, 120_000);
  }
});

/** The master that serves the pipeline room's channel (cluster: by its slot) or the Sentinel's master. */
async function masterPortOf(topology: Topology, config: DashConfig, channel: string): Promise<number> {
  if (topology === 'sentinel') {
    const [sentinel] = TOPOLOGIES.sentinels.split(',');
    const url = new URL(sentinel);
    const out = execFileSync('redis-cli', ['-h', url.hostname, '-p', url.port, 'sentinel', 'get-master-addr-by-name', TOPOLOGIES.sentinelMaster], { encoding: 'utf8' }).trim().split('\n');
    return Number(out[1]);
  }
  const client = createRedis(config.redis, 'worker', 'test-slots') as Cluster;
  try {
    const slot = Number(await client.call('CLUSTER', 'KEYSLOT', channel));
    const ranges = (await client.call('CLUSTER', 'SLOTS')) as Array<[number, number, [string, number]]>;
    const range = ranges.find(([from, to]) => slot >= from && slot <= to);
    if (!range) throw new Error(`no master for slot ${slot}`);
    return Number(range[2][1]);
  } finally {
    await quit(client);
  }
}
