import { Controller, Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { ClientProxy, EventPattern, Payload } from '@nestjs/microservices';
import { PIPELINE_CHANGED, withTimeout, type PipelineChanged } from '@dash/domain';
import { DASH_CONFIG, type DashConfig } from '@dash/infra';
import { firstValueFrom } from 'rxjs';
import { PipelineCache } from './pipeline-cache';
import { PollScheduler, SCHEDULE_TIMEOUT_MS } from './poll-scheduler';

export const TRANSPORT_CLIENT = Symbol('TRANSPORT_CLIENT');

/** Announces pipeline changes to every node (this one included) over the NestJS Redis transport. */
@Injectable()
export class PipelineChangesPublisher implements OnApplicationShutdown {
  private readonly logger = new Logger(PipelineChangesPublisher.name);

  constructor(
    @Inject(TRANSPORT_CLIENT) private readonly client: ClientProxy,
    @Inject(DASH_CONFIG) private readonly config: DashConfig,
    private readonly cache: PipelineCache,
    private readonly polls: PollScheduler,
  ) {
    // Announcements sent while this node was cut from Redis never reached it: forget every entry.
    polls.onReconnect(() => cache.clear());
  }

  async announce(change: Omit<PipelineChanged, 'scope'>): Promise<void> {
    this.cache.evict(change.pipelineId);
    if (!this.polls.available) {
      // Redis away: other nodes drop the entry within the cache TTL, or at once when they reconnect.
      this.logger.warn(`could not announce ${change.change} of ${change.pipelineId}: Redis is unavailable`);
      return;
    }
    try {
      const message: PipelineChanged = { ...change, scope: this.config.keyPrefix };
      // Bounded: with Redis away the transport would hold the request forever.
      await withTimeout(firstValueFrom(this.client.emit<void, PipelineChanged>(PIPELINE_CHANGED, message), { defaultValue: undefined }), SCHEDULE_TIMEOUT_MS, 'announce (Redis)');
    } catch (error) {
      // Other nodes still drop the entry within the cache TTL.
      this.logger.warn(`could not announce ${change.change} of ${change.pipelineId}: ${(error as Error).message}`);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.client.close();
  }
}

@Controller()
export class PipelineChangesController {
  constructor(
    @Inject(DASH_CONFIG) private readonly config: DashConfig,
    private readonly cache: PipelineCache,
  ) {}

  @EventPattern(PIPELINE_CHANGED)
  onChanged(@Payload() change: PipelineChanged): void {
    if (change?.scope === this.config.keyPrefix && typeof change.pipelineId === 'string') this.cache.evict(change.pipelineId);
  }
}
