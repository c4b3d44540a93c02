import { Inject, Injectable, Logger } from '@nestjs/common';
import { DashError, JobName, Jobs, MAX_JOB_EVENTS, QueueName, withTimeout, type IngestEvent } from '@dash/domain';
import { Backlog, IngestQueues, REDIS_PRODUCER, ReplicaAcks, type RedisClient } from '@dash/infra';
import { randomUUID } from 'node:crypto';

/** While requests keep coming, jobs leave at most this often (a lone request does not wait). */
const BUSY_GATHER_MS = 2;
/** An enqueue that Redis has not confirmed by then is answered 503 (the sender retries; ids deduplicate). */
const ENQUEUE_TIMEOUT_MS = 5000;
const RETRY_AFTER_SECONDS = 5;

/** Ingest jobs are retried with backoff for about two hours if an ingestor fails them (the table in `@dash/domain`). */
export const INGEST_JOB_OPTIONS = Jobs[JobName.Ingest].options;

interface Waiter {
  events: IngestEvent[];
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * One partition's group commit. Each partition has its own job in flight: a partition whose Redis
 * master is failing over holds up only its own requests (up to the enqueue's and the replicas'
 * timeouts), while the others keep being queued.
 */
class Lane {
  waiting: Waiter[] = [];
  waitingEvents = 0;
  scheduled = false;
  lastFlushAt = 0;
  /** Jobs on their way to Redis: requests arriving meanwhile gather for the next one. */
  adding = 0;

  constructor(readonly partition: number) {}
}

/**
 * The producer side of the `pipelines` queue. Events of requests that arrive together are
 * coalesced into one job per partition (one Redis round trip); each request is answered only
 * after Redis has confirmed the job that carries its events.
 */
@Injectable()
export class IngestQueue {
  private readonly logger = new Logger(IngestQueue.name);
  private readonly lanes: Lane[];
  /** Jobs this node has queued since it started, and the events they carried (`GET /metrics`). */
  readonly queued = { jobs: 0, events: 0 };

  // The web's producer connection is not corked (`coalesceWrites`): every request in a job waits for
  // Redis's answer, so the job leaves the moment it is complete (corked, it waited for the loop's
  // next check phase, behind the parsing of every request that had arrived meanwhile). The backlog
  // counts on the same connection as the queue, so the count and the job reach Redis in that order.
  constructor(
    @Inject(REDIS_PRODUCER) private readonly connection: RedisClient,
    private readonly queues: IngestQueues,
    private readonly backlog: Backlog,
    /** `REDIS_ACK_REPLICAS`: with 0, nothing waits and no command is added. */
    private readonly acks: ReplicaAcks,
  ) {
    this.lanes = queues.partitions.map((_, partition) => new Lane(partition));
  }

  /** Resolves once the events are durably queued; rejects with 503 if Redis cannot take them. A request's events are one pipeline's, so in one partition. */
  enqueue(events: IngestEvent[]): Promise<void> {
    const lane = this.lanes[this.queues.queueOf(events[0].pipelineId).partition];
    return new Promise<void>((resolve, reject) => {
      lane.waiting.push({ events, resolve, reject });
      lane.waitingEvents += events.length;
      if (lane.waitingEvents >= MAX_JOB_EVENTS) this.flush(lane);
      else this.schedule(lane);
    });
  }

  /**
   * Group commit, per partition: one job on its way to Redis at a time, and at most one every
   * BUSY_GATHER_MS. A lone request goes out on the next turn of the loop; under load, jobs grow
   * with Redis's round trip (each job costs Redis and the ingestor about the same whatever its
   * size). A full job (MAX_JOB_EVENTS) goes at once.
   */
  private schedule(lane: Lane): void {
    if (lane.scheduled || lane.waiting.length === 0 || lane.adding > 0) return;
    lane.scheduled = true;
    const sinceLast = Date.now() - lane.lastFlushAt;
    if (sinceLast >= BUSY_GATHER_MS) setImmediate(() => this.flush(lane));
    else setTimeout(() => this.flush(lane), BUSY_GATHER_MS - sinceLast);
  }

  private flush(lane: Lane): void {
    lane.scheduled = false;
    if (lane.adding > 0 && lane.waitingEvents < MAX_JOB_EVENTS) return;
    lane.lastFlushAt = Date.now();
    const batch = lane.waiting;
    lane.waiting = [];
    lane.waitingEvents = 0;
    if (batch.length === 0) return;
    lane.adding += 1;
    void this.addToPartition(lane.partition, batch).finally(() => {
      lane.adding -= 1;
      this.schedule(lane);
    });
  }

  private async addToPartition(partition: number, batch: Waiter[]): Promise<void> {
    const events = batch.length === 1 ? batch[0].events : batch.flatMap((waiter) => waiter.events);
    const jobId = Backlog.jobId(partition, randomUUID());
    const shares: Record<string, number> = {};
    for (const event of events) shares[event.pipelineId] = (shares[event.pipelineId] ?? 0) + 1;
    // The share is counted before the job is queued, on the same connection (so it arrives first):
    // an ingestor may commit and release the job before queue.add even returns, and a release
    // that came first would leave the count behind. The job decides the answer; a count that
    // failed alone only leaves the backlog low (its release finds nothing).
    const counting = this.backlog.add(jobId, shares).then(
      () => true,
      () => false,
    );
    try {
      if (this.connection.status !== 'ready') throw new Error(`Redis is ${this.connection.status}`);
      await withTimeout(this.queues.partitions[partition].add(JobName.Ingest, { events }, { ...INGEST_JOB_OPTIONS, jobId }), ENQUEUE_TIMEOUT_MS, 'enqueue (Redis)');
    } catch (error) {
      this.logger.warn(`enqueue of ${events.length} events failed: ${(error as Error).message}`);
      if (await counting) await this.backlog.release(jobId).catch(() => undefined);
      for (const waiter of batch) waiter.reject(unavailable());
      return;
    }
    if (this.acks.replicas > 0) {
      // The job is queued but not yet on enough replicas: a 202 now could be lost with its master.
      // On a timeout the sender retries; the job stays and event ids deduplicate the retry.
      try {
        await this.acks.confirm(this.queues.slotKey(partition));
      } catch (error) {
        this.logger.warn(`enqueue of ${events.length} events not confirmed by replicas: ${(error as Error).message}`);
        for (const waiter of batch) waiter.reject(unavailable());
        return;
      }
    }
    this.queued.jobs += 1;
    this.queued.events += events.length;
    for (const waiter of batch) waiter.resolve();
  }

  /** Jobs of the ingest queue by state (`dash_queue_jobs`): a web node sees a backlog even with every ingestor down. */
  async jobCounts(): Promise<Record<string, Record<string, number>>> {
    return { [QueueName.Pipelines]: await this.queues.jobCounts('waiting', 'active', 'delayed', 'failed') };
  }
}

const unavailable = () => new DashError(503, 'unavailable', 'the queue cannot take events right now; retry later', RETRY_AFTER_SECONDS);
