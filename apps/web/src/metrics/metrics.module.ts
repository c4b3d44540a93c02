import { Module } from '@nestjs/common';
import { LiveModule } from '../live/live.module';
import { WebhooksModule } from '../webhooks/webhooks.module';
import { MetricsController } from './metrics.controller';
import { MetricsService } from './metrics.service';

@Module({
  imports: [LiveModule, WebhooksModule],
  controllers: [MetricsController],
  providers: [MetricsService],
})
export class MetricsModule {}
