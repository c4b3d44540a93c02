import { Controller, Inject, Logger } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { ALERT_RULES_CHANGED, type AlertRulesChanged } from '@dash/domain';
import { DASH_CONFIG, type DashConfig } from '@dash/infra';
import { AlertRounds } from './alert-rounds';

/** Rule changes from the web nodes (NestJS Redis transport): evaluate at once instead of at the next tick. */
@Controller()
export class AlertRulesListener {
  private readonly logger = new Logger(AlertRulesListener.name);

  constructor(
    @Inject(DASH_CONFIG) private readonly config: DashConfig,
    private readonly rounds: AlertRounds,
  ) {}

  @EventPattern(ALERT_RULES_CHANGED)
  async onRulesChanged(@Payload() change: AlertRulesChanged): Promise<void> {
    if (change?.scope !== this.config.keyPrefix) return;
    await this.rounds.evaluateSoon().catch((error: Error) => this.logger.warn(`could not schedule an alert round: ${error.message}`));
  }
}
