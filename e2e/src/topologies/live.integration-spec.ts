import type { INestMicroservice } from '@nestjs/common';
import { SocketEvent, type AlertUpdated, type DataUpdated, type PipelineStats } from '@dash/domain';
import { DASH_CONFIG, REDIS, RedisKeys, type DashConfig, type RedisClient } from '@dash/infra';
import { LivePublisher } from '../../../apps/ingestor/src/live/live-publisher';
import { Api, connectViewer, sendWebhook, startIngestor, startWeb, subscribeTo, testEnv, waitFor, type CreatedPipeline, type RunningWeb, type TestEnv, type Viewer } from '../support/harness';
import { clusterHealthy, deleteClusterKeys, deleteSentinelKeys, kill9, masterOfKey, redisTopologies, restart, sentinelMasterPort, serverAt } from '../support/topologies';

/**
 * Live updates and the NestJS transport on each Redis topology: two web nodes and two ingestors
 * (in-process apps, as the core path runs them) on one Redis, on a Sentinel set and on a Redis
 * Cluster. An update from either ingestor reaches sockets on both web nodes; after `kill -9` of the
 * master that holds the pipeline's room (Sentinel: the master), once a replica is promoted, the
 * same sockets keep getting updates and the transport still reaches every node, with no restart.
 *
 * The Cluster and Sentinel set are scripts/redis-topologies.sh's (support/topologies).
 */
const TOPOLOGIES = redisTopologies();

type Topology = 'single' | 'sentinel' | 'cluster';
const overridesOf = (topology: Topology): Record<string, string> =>
  topology === 'cluster' ? { REDIS_CLUSTER_NODES: TOPOLOGIES.clusterNodes } : topology === 'sentinel' ? { REDIS_SENTINELS: TOPOLOGIES.sentinels, REDIS_SENTINEL_MASTER: TOPOLOGIES.sentinelMaster } : {};

/** Replicas connected to a master and online. */
async function replicasInSync(port: number): Promise<number> {
  const redis = serverAt(port);
  try {
    return ((await redis.info('replication')).match(/^slave\d+:.*state=online/gm) ?? []).length;
  } finally {
    redis.disconnect();
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
        const ack = await subscribeTo(viewer, pipelineId);
        expect(ack.ok).toBe(true);
      }
    }
  }, 60_000);

  afterAll(async () => {
    // Back first, so that nothing waits on it while closing; it rejoins as a replica.
    if (killed !== null) await restart(TOPOLOGIES, killed);
    for (const viewer of viewers) viewer.disconnect();
    for (const web of webs) await web.close();
    for (const ingestor of ingestors) await ingestor.close();
    if (env) {
      if (topology === 'cluster') await deleteClusterKeys(TOPOLOGIES, env.name);
      if (topology === 'sentinel') await deleteSentinelKeys(TOPOLOGIES, env.name);
      await env.cleanup();
    }
    // The next suite finds the cluster whole again (the old master back, as a replica).
    if (topology === 'cluster') await clusterHealthy(TOPOLOGIES);
  }, 60_000);

  /**
   * Each ingestor announces new states and alert changes, one every 200 ms, until both viewers have
   * one of them: updates from either ingestor reach sockets on both web nodes. (Pub/sub keeps
   * nothing: what is published while a master fails over may be lost; the stream shows that the
   * updates flow again, and the webhook check that the latest state arrives all the same.)
   */
  const eachIngestorReachesEveryWebNode = async (label: string) => {
    for (const [i, ingestor] of ingestors.entries()) {
      const publisher = ingestor.get(LivePublisher);
      const versions = new Set<number>();
      const alertIds = new Set<string>();
      const reached = () => [0, 1].every((j) => data[j].some((u) => u.pipelineId === pipeline.id && versions.has(u.version)) && alerts[j].some((u) => alertIds.has(u.alertId)));
      let sentAt = 0;
      await waitFor(
        () => {
          if (Date.now() - sentAt >= 200) {
            sentAt = Date.now();
            const v = ++version;
            const alertId = `${label}-from-ingestor-${i}-${v}`;
            versions.add(v);
            alertIds.add(alertId);
            publisher.publish([stateOf(pipeline.id, v)]);
            publisher.alertUpdated({ pipelineId: pipeline.id, alertId, state: 'firing', since: new Date(0).toISOString() });
          }
          return reached();
        },
        Boolean,
        20_000,
        `an update and an alert change from ingestor ${i} on both web nodes (${label})`,
      );
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
      // The room's channel has no hash tag: its slot is its own, as a key of that name.
      const room = `${webs[0].app.get(RedisKeys).socketio}#/#pipeline:${pipeline.id}#`;
      const port = topology === 'cluster' ? await masterOfKey(TOPOLOGIES, room) : await sentinelMasterPort(TOPOLOGIES);
      // A replica in sync must be there to take over (the topology is left whole by every suite).
      await waitFor(() => replicasInSync(port), (n) => n >= 1, 30_000, `a replica of the master on port ${port}`);
      kill9(TOPOLOGIES, port);
      killed = port;
      // At once: the 202 waits for the promotion (the node timeout or Sentinel's down-after, 2 s, and
      // the election), and the update reaches both viewers, published or, if lost meanwhile, resynced.
      await webhookReachesEveryWebNode('after');
      await eachIngestorReachesEveryWebNode('after');
      await transportReachesOtherWebNode('after');
    }, 120_000);
  }
});
