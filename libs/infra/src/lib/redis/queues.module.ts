import { Global, Inject, Injectable, Logger, Module, type DynamicModule, type OnApplicationShutdown, type Provider } from '@nestjs/common';
import { Jobs, jobNamesOf, QueueName, withTimeout, type AnyJobName, type IngestJobData } from '@dash/domain';
import { Queue, UnrecoverableError, type JobType } from 'bullmq';
import type { DashConfig } from '../config/config';
import { DASH_CONFIG } from '../config/config.module';
import { Backlog } from './backlog';
import { RedisKeys } from './keys';
import { createLiveBroadcaster, liveAdapterKind, redisVersionOf } from './live';
import { coalesceWrites, createRedis, quit, type RedisClient, type RedisRole } from './redis';
import { REDIS } from './redis.module';
import { REPLICA_ACK_TIMEOUT_MS, ReplicaAcks } from './replica-acks';

/** Fails fast while Redis is away (`enableOfflineQueue: false`): queue producers, so intake answers 503 at once. */
export const REDIS_PRODUCER = Symbol('REDIS_PRODUCER');
/** Retries forever (`maxRetriesPerRequest: null`), as BullMQ workers ask; also publishes (the socket.io adapter). */
export const REDIS_WORKER = Symbol('REDIS_WORKER');
/** In subscriber mode once used: the socket.io adapter's subscriptions. */
export const REDIS_SUBSCRIBER = Symbol('REDIS_SUBSCRIBER');
/**
 * A socket.io server that does not listen, on the same Redis adapter as the web nodes: updates to
 * every web node's sockets from a process without sockets of its own (`createLiveBroadcaster`).
 */
export const LIVE_SERVER = Symbol('LIVE_SERVER');

/** The injection token of a named queue (as `@nestjs/bullmq`'s `getQueueToken`). */
export function getQueueToken(name: QueueName): string {
  return `dash:queue:${name}`;
}

/** Injects the named queue (`default` or `mailers`; the ingest queue is `IngestQueues`). */
export const InjectQueue = (name: ControlQueueName) => Inject(getQueueToken(name));

/** The queues that are not partitioned: one each, under the control hash tag. */
export type ControlQueueName = Exclude<QueueName, typeof QueueName.Pipelines>;
const CONTROL_QUEUES: ControlQueueName[] = [QueueName.Default, QueueName.Mailers];

/**
 * The ingest queue, split into `QUEUE_PARTITIONS` BullMQ queues named `pipelines`, each under its
 * partition's hash tag (its own slot on a cluster). A pipeline's events always take its partition's
 * queue, so its order holds; a job holds events of one partition only.
 */
export class IngestQueues {
  constructor(
    readonly partitions: Array<Queue<IngestJobData>>,
    private readonly keys: RedisKeys,
  ) {}

  /** Every partition's queue on one connection (the producer's, in the apps). */
  static open(connection: RedisClient, keys: RedisKeys, each: (queue: Queue<IngestJobData>, label: string) => void = () => undefined): IngestQueues {
    const queues = Array.from({ length: keys.partitions }, (_, partition) => {
      const queue = new Queue<IngestJobData>(QueueName.Pipelines, { connection, prefix: keys.ingestBull(partition) });
      each(queue, `${QueueName.Pipelines}/${partition}`);
      return queue;
    });
    return new IngestQueues(queues, keys);
  }

  /** A key of a partition's slot (where its queue and backlog live). */
  slotKey(partition: number): string {
    return this.keys.ingestBull(partition);
  }

  /** The queue a pipeline's events travel on. */
  queueOf(pipelineId: string): { partition: number; queue: Queue<IngestJobData> } {
    const partition = this.keys.partitionOf(pipelineId);
    return { partition, queue: this.partitions[partition] };
  }

  /** Jobs by state over every partition (one queue's figures, as `dash_queue_jobs{queue="pipelines"}` shows them). */
  async jobCounts(...states: JobType[]): Promise<Record<string, number>> {
    const counts = await Promise.all(this.partitions.map((queue) => queue.getJobCounts(...states)));
    const sum: Record<string, number> = {};
    for (const count of counts) for (const [state, n] of Object.entries(count)) sum[state] = (sum[state] ?? 0) + n;
    return sum;
  }

  async close(): Promise<void> {
    await Promise.all(this.partitions.map((queue) => queue.close().catch(() => undefined)));
  }
}

export interface QueuesOptions {
  /**
   * Cork the producer's and the worker's writes to one per turn of the loop (`coalesceWrites`):
   * where completions and releases leave in bursts (the ingestor), not where every request waits
   * for its own enqueue's answer (the web's intake).
   */
  coalesceWrites: boolean;
  /** A subscriber connection (the web's socket.io adapter). */
  subscriber?: boolean;
  /** `LIVE_SERVER` publishing on the worker connection, with a subscriber connection (the ingestor's live updates). */
  live?: boolean;
}

/** How long a closing app waits for the live adapter's unsubscribes. */
const ADAPTER_CLOSE_TIMEOUT_MS = 2000;

const QUEUES = Symbol('QUEUES');
const CONNECTIONS = Symbol('CONNECTIONS');
const LIVE_SERVERS = Symbol('LIVE_SERVERS');
type LiveServer = ReturnType<typeof createLiveBroadcaster>;

/** Closes what the module made, in order: queues first, then the connections they ran on. */
@Injectable()
class QueuesShutdown implements OnApplicationShutdown {
  constructor(
    @Inject(DASH_CONFIG) private readonly config: DashConfig,
    @Inject(QUEUES) private readonly queues: Queue[],
    @Inject(CONNECTIONS) private readonly connections: RedisClient[],
    @Inject(LIVE_SERVERS) private readonly live: LiveServer[],
  ) {}

  async onApplicationShutdown(): Promise<void> {
    // Its adapter unsubscribes (bounded: a shard whose master was killed may not answer); the
    // connections it ran on close below.
    for (const server of this.live) await withTimeout(Promise.resolve(server.of('/').adapter.close()), ADAPTER_CLOSE_TIMEOUT_MS, 'adapter close').catch(() => undefined);
    // Global modules shut down after the features that use them (Nest's reverse order of distance),
    // so workers, schedulers and publishers have finished with these by now.
    await Promise.all(this.queues.map((queue) => queue.close().catch(() => undefined)));
    for (const connection of this.connections) await quit(connection);
    // The ingestor numbers its shutdown steps (docs/reliability.md); this is the fourth.
    new Logger('Queues').log(`${this.config.role === 'ingestor' ? 'shutdown 4/5: ' : ''}queues and their Redis connections closed`);
  }
}

/**
 * The Redis connections by role, the named BullMQ queues, the backlog counters and the ingestors'
 * non-listening socket.io server (`LIVE_SERVER`), each provided by token: services receive them and never build them, so a unit spec can
 * hand them fakes. Each connection is created after `REDIS` (so after the key prefix is bound).
 */
@Global()
@Module({})
export class QueuesModule {
  static forRoot(options: QueuesOptions): DynamicModule {
    const made: RedisClient[] = [];
    const connection = (token: symbol, role: RedisRole, name: string, cork: boolean): Provider => ({
      provide: token,
      inject: [DASH_CONFIG, REDIS],
      useFactory: (config: DashConfig) => {
        const client = createRedis(config.redis, role, `${config.role}-${name}`);
        made.push(client);
        return cork ? coalesceWrites(client) : client;
      },
    });
    const queues: Queue[] = [];
    const live: LiveServer[] = [];
    const watch = <Q extends Queue>(queue: Q, label: string): Q => {
      const logger = new Logger(`Queue ${label}`);
      queue.on('error', (error) => logger.warn(error.message));
      queues.push(queue);
      return queue;
    };
    const providers: Provider[] = [
      connection(REDIS_PRODUCER, 'producer', 'producer', options.coalesceWrites),
      connection(REDIS_WORKER, 'worker', 'worker', options.coalesceWrites),
      ...CONTROL_QUEUES.map(
        (name): Provider => ({
          provide: getQueueToken(name),
          inject: [REDIS_PRODUCER, RedisKeys],
          useFactory: (producer: RedisClient, keys: RedisKeys) => watch(new Queue(name, { connection: producer, prefix: keys.bull }), name),
        }),
      ),
      {
        provide: IngestQueues,
        inject: [REDIS_PRODUCER, RedisKeys],
        useFactory: (producer: RedisClient, keys: RedisKeys) => IngestQueues.open(producer, keys, watch),
      },
      // On the producer connection, as the ingest queue: a job's count reaches Redis before the job.
      { provide: Backlog, inject: [REDIS_PRODUCER, RedisKeys], useFactory: (producer: RedisClient, keys: RedisKeys) => new Backlog(producer, keys) },
      // REDIS_ACK_REPLICAS: on the producer connection, which carries the ingest jobs.
      {
        provide: ReplicaAcks,
        inject: [DASH_CONFIG, REDIS_PRODUCER],
        useFactory: (config: DashConfig, producer: RedisClient) => new ReplicaAcks(producer, config.redis.ackReplicas, REPLICA_ACK_TIMEOUT_MS),
      },
      { provide: QUEUES, useValue: queues },
      { provide: CONNECTIONS, useValue: made },
      { provide: LIVE_SERVERS, useValue: live },
      QueuesShutdown,
    ];
    const exported: Array<symbol | string | typeof Backlog | typeof IngestQueues | typeof ReplicaAcks> = [REDIS_PRODUCER, REDIS_WORKER, Backlog, IngestQueues, ReplicaAcks, ...CONTROL_QUEUES.map(getQueueToken)];
    if (options.subscriber || options.live) {
      providers.push(connection(REDIS_SUBSCRIBER, 'subscriber', 'subscriber', false));
      exported.push(REDIS_SUBSCRIBER);
    }
    if (options.live) {
      providers.push({
        provide: LIVE_SERVER,
        // REDIS is ready by now (its module waits): its version chooses the adapter, as on the web nodes.
        inject: [REDIS, REDIS_WORKER, REDIS_SUBSCRIBER, RedisKeys],
        useFactory: async (commands: RedisClient, worker: RedisClient, subscriber: RedisClient, keys: RedisKeys) => {
          const server = createLiveBroadcaster(liveAdapterKind(await redisVersionOf(commands)), worker, subscriber, keys);
          live.push(server);
          return server;
        },
      });
      exported.push(LIVE_SERVER);
    }
    return { module: QueuesModule, providers, exports: exported };
  }
}

/** What dispatching reads of a job (a BullMQ `Job` has it). */
export interface DispatchedJob {
  id?: string;
  name: string;
}

/**
 * A worker's processor for one queue: runs the handler of the job's name. Every job name of the
 * queue in `Jobs` must have a handler (checked when the worker is made); a job with any other name
 * fails at once, without retries, and is logged (it was queued by something that should not have).
 */
export function dispatchJobs<J extends DispatchedJob, R>(queue: QueueName, handlers: Partial<Record<AnyJobName, (job: J) => Promise<R>>>, logger: Pick<Logger, 'error'>): (job: J) => Promise<R> {
  const expected = jobNamesOf(queue);
  const missing = expected.filter((name) => !handlers[name]);
  const extra = (Object.keys(handlers) as AnyJobName[]).filter((name) => !expected.includes(name));
  if (missing.length > 0 || extra.length > 0) {
    throw new Error(`queue ${queue}: handlers must match its jobs (${expected.join(', ')}); missing: ${missing.join(', ') || 'none'}, not on this queue: ${extra.join(', ') || 'none'}`);
  }
  return async (job: J) => {
    const known = Object.hasOwn(Jobs, job.name) && Jobs[job.name as AnyJobName].queue === queue;
    const handler = known ? handlers[job.name as AnyJobName] : undefined;
    if (!handler) {
      const message = `job ${job.id} on queue ${queue} has the unknown name "${job.name}" (this queue takes: ${expected.join(', ')}); failed without retrying`;
      logger.error(message);
      throw new UnrecoverableError(message);
    }
    return handler(job);
  };
}
