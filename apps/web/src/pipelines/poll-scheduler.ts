import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { DashError, JobName, QueueName, type PollJobData } from '@dash/domain';
import { createRedis, DASH_CONFIG, quit, RedisKeys, type DashConfig, type LastPoll, type PipelineEntity } from '@dash/infra';
import { Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';

const RUN_NOW_TIMEOUT_MS = 30_000;
const schedulerId = (pipelineId: string) => `poll:${pipelineId}`;

/**
 * Poll sources run as BullMQ job schedulers on the `default` queue, one per pipeline, kept in
 * step with the pipeline by the web node that changes it. Ingestors run the polls.
 */
@Injectable()
export class PollScheduler implements OnApplicationShutdown {
  private readonly logger = new Logger(PollScheduler.name);
  private readonly connection: Redis;
  private readonly queue: Queue<PollJobData>;
  private events: QueueEvents | null = null;
  private eventsConnection: Redis | null = null;

  constructor(
    @Inject(DASH_CONFIG) private readonly config: DashConfig,
    private readonly keys: RedisKeys,
  ) {
    this.connection = createRedis(config.redisUrl, 'producer', 'poll-scheduler');
    this.queue = new Queue<PollJobData>(QueueName.Default, { connection: this.connection, prefix: keys.bull });
    this.queue.on('error', (error) => this.logger.warn(`queue: ${error.message}`));
  }

  /** Starts, changes or stops the schedule to match the pipeline's source. */
  async sync(pipeline: PipelineEntity): Promise<void> {
    if (pipeline.source.type !== 'poll') {
      await this.unschedule(pipeline.id);
      return;
    }
    await this.queue.upsertJobScheduler(
      schedulerId(pipeline.id),
      { every: pipeline.source.intervalSeconds * 1000 },
      { name: JobName.Poll, data: { pipelineId: pipeline.id }, opts: { removeOnComplete: true, removeOnFail: 100 } },
    );
  }

  async unschedule(pipelineId: string): Promise<void> {
    await this.queue.removeJobScheduler(schedulerId(pipelineId));
  }

  /** Runs one poll now on an ingestor and answers with its outcome. */
  async runNow(pipelineId: string): Promise<LastPoll> {
    if (!this.events) {
      this.eventsConnection = createRedis(this.config.redisUrl, 'worker', 'poll-events');
      this.events = new QueueEvents(QueueName.Default, { connection: this.eventsConnection, prefix: this.keys.bull });
    }
    await this.events.waitUntilReady();
    const job = await this.queue.add(JobName.Poll, { pipelineId }, { removeOnComplete: 100, removeOnFail: 100 });
    try {
      const result = (await job.waitUntilFinished(this.events, RUN_NOW_TIMEOUT_MS)) as LastPoll | null;
      if (!result) throw new DashError(400, 'invalid_request', 'this pipeline has no poll source');
      return result;
    } catch (error) {
      if (error instanceof DashError) throw error;
      throw new DashError(503, 'unavailable', `no ingestor finished the poll: ${(error as Error).message}`, 5);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.events?.close().catch(() => undefined);
    if (this.eventsConnection) await quit(this.eventsConnection);
    await this.queue.close().catch(() => undefined);
    await quit(this.connection);
  }
}
