import { Module } from '@nestjs/common';
import { PipelinesModule } from '../pipelines/pipelines.module';
import { BacklogGate } from '@dash/infra';
import { IngestQueue } from './ingest-queue';
import { WebhooksRoute } from './webhooks.route';
import { WebhooksService } from './webhooks.service';

@Module({
  imports: [PipelinesModule],
  providers: [WebhooksService, WebhooksRoute, IngestQueue, BacklogGate],
  exports: [BacklogGate, IngestQueue],
})
export class WebhooksModule {}
