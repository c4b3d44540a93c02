import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { ClientProxy } from '@nestjs/microservices';
import { ALERT_RULES_CHANGED, type AlertRulesChanged } from '@dash/domain';
import { DASH_CONFIG, type DashConfig } from '@dash/infra';
import { firstValueFrom } from 'rxjs';

export const ALERTS_TRANSPORT_CLIENT = Symbol('ALERTS_TRANSPORT_CLIENT');

/** Tells the ingestors that a pipeline's alert rules changed, so they evaluate them at once. */
@Injectable()
export class AlertChangesPublisher implements OnApplicationShutdown {
  private readonly logger = new Logger(AlertChangesPublisher.name);

  constructor(
    @Inject(ALERTS_TRANSPORT_CLIENT) private readonly client: ClientProxy,
    @Inject(DASH_CONFIG) private readonly config: DashConfig,
  ) {}

  async announce(pipelineId: string, alertId: string): Promise<void> {
    try {
      const message: AlertRulesChanged = { scope: this.config.keyPrefix, pipelineId, alertId };
      await firstValueFrom(this.client.emit<void, AlertRulesChanged>(ALERT_RULES_CHANGED, message), { defaultValue: undefined });
    } catch (error) {
      // The ingestors' next round (every second) sees the change anyway.
      this.logger.warn(`could not announce the alert change of ${pipelineId}: ${(error as Error).message}`);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.client.close();
  }
}
