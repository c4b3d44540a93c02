import { Module } from '@nestjs/common';
import { PipelinesModule } from '../pipelines/pipelines.module';
import { BacklogGate } from './backlog-gate';
import { IngestQueue } from './ingest-queue';
import { WebhooksController } from './webhooks.controller';
import { WebhooksService } from './webhooks.service';

@Module({
  imports: [PipelinesModule],
  controllers: [WebhooksController],
  providers: [WebhooksService, IngestQueue, BacklogGate],
  exports: [BacklogGate, IngestQueue],
})
export class WebhooksModule {}
