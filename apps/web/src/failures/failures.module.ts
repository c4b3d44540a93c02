import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { LiveModule } from '../live/live.module';
import { PipelinesModule } from '../pipelines/pipelines.module';
import { WebhooksModule } from '../webhooks/webhooks.module';
import { FailuresController } from './failures.controller';
import { FailuresService } from './failures.service';

@Module({
  imports: [AuthModule, PipelinesModule, WebhooksModule, LiveModule],
  controllers: [FailuresController],
  providers: [FailuresService],
})
export class FailuresModule {}
