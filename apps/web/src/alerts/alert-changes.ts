import { Controller, Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { ClientProxy, EventPattern, Payload } from '@nestjs/microservices';
import { ALERT_RULES_CHANGED, ALERT_STATE_CHANGED, pipelineRoom, SocketEvent, type AlertRulesChanged, type AlertStateChanged } from '@dash/domain';
import { DASH_CONFIG, type DashConfig } from '@dash/infra';
import { firstValueFrom } from 'rxjs';
import { LiveGateway } from '../live/live.gateway';

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

/**
 * Alert state changes from the ingestors, relayed to the sockets of this node only: every web
 * node gets the transport event, so a cluster-wide emit here would reach each browser once per node.
 */
@Controller()
export class AlertStateRelay {
  constructor(
    @Inject(DASH_CONFIG) private readonly config: DashConfig,
    private readonly live: LiveGateway,
  ) {}

  @EventPattern(ALERT_STATE_CHANGED)
  onStateChanged(@Payload() change: AlertStateChanged): void {
    if (change?.scope !== this.config.keyPrefix || typeof change.pipelineId !== 'string' || !this.live.server) return;
    const { pipelineId, alertId, state, since } = change;
    this.live.server.local.to(pipelineRoom(pipelineId)).emit(SocketEvent.AlertUpdated, { pipelineId, alertId, state, since });
  }
}
