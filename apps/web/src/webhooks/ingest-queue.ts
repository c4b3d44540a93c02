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
 * The producer side of the `pipelines` queue. Events of requests that arrive together are
 * coalesced into one job (one Redis round trip); each request is answered only after Redis
 * has confirmed the job that carries its events.
 */
@Injectable()
export class IngestQueue {
  private readonly logger = new Logger(IngestQueue.name);
  private waiting: Waiter[] = [];
  private waitingEvents = 0;
  private scheduled = false;
  private lastFlushAt = 0;
  /** Jobs on their way to Redis: requests arriving meanwhile gather for the next one. */
  private adding = 0;
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
  ) {}

  /** Resolves once the events are durably queued; rejects with 503 if Redis cannot take them. */
  enqueue(events: IngestEvent[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ events, resolve, reject });
      this.waitingEvents += events.length;
      if (this.waitingEvents >= MAX_JOB_EVENTS) this.flush();
      else this.schedule();
    });
  }

  /**
   * Group commit: one job on its way to Redis at a time, and at most one every BUSY_GATHER_MS.
   * A lone request goes out on the next turn of the loop; under load, jobs grow with Redis's round
   * trip (each job costs Redis and the ingestor about the same whatever its size). A full job
   * (MAX_JOB_EVENTS) goes at once.
   */
  private schedule(): void {
    if (this.scheduled || this.waiting.length === 0 || this.adding > 0) return;
    this.scheduled = true;
    const sinceLast = Date.now() - this.lastFlushAt;
    if (sinceLast >= BUSY_GATHER_MS) setImmediate(() => this.flush());
    else setTimeout(() => this.flush(), BUSY_GATHER_MS - sinceLast);
  }

  private flush(): void {
    this.scheduled = false;
    if (this.adding > 0 && this.waitingEvents < MAX_JOB_EVENTS) return;
    this.lastFlushAt = Date.now();
    const batch = this.waiting;
    this.waiting = [];
    this.waitingEvents = 0;
    if (batch.length === 0) return;
    this.adding += 1;
    void this.add(batch).finally(() => {
      this.adding -= 1;
      this.schedule();
    });
  }

  /** One job per partition the batch touches (a request's events are one pipeline's, so in one partition). */
  private async add(batch: Waiter[]): Promise<void> {
    if (this.queues.partitions.length === 1) return this.addToPartition(0, batch);
    const byPartition = new Map<number, Waiter[]>();
    for (const waiter of batch) {
      const partition = this.queues.queueOf(waiter.events[0].pipelineId).partition;
      const waiters = byPartition.get(partition);
      if (waiters) waiters.push(waiter);
      else byPartition.set(partition, [waiter]);
    }
    await Promise.all([...byPartition].map(([partition, waiters]) => this.addToPartition(partition, waiters)));
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
