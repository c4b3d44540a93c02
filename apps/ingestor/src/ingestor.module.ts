import { Module, type DynamicModule } from '@nestjs/common';
import { BacklogGate, ClusterModule, ConfigModule, DatabaseModule, ObservabilityModule, QueuesModule, RedisModule, type DashConfig } from '@dash/infra';
import { AlertDelivery } from './alerts/alert-delivery';
import { AlertDeliveryWorker } from './alerts/alert-delivery.worker';
import { AlertEvaluator } from './alerts/alert-evaluator';
import { AlertRounds } from './alerts/alert-rounds';
import { AlertRulesListener } from './alerts/alert-rules.listener';
import { BackfillWorker } from './backfill/backfill.worker';
import { BufferService } from './buffer/buffer.service';
import { FieldCatalog } from './catalog/field-catalog';
import { IngestorNodeDetails } from './cluster/node-details';
import { DefaultQueueWorker } from './default-queue.worker';
import { BacklogSweeper } from './ingest/backlog-sweeper';
import { IngestHealth } from './ingest/ingest.health';
import { IngestWorker } from './ingest/ingest.worker';
import { LivePublisher } from './live/live-publisher';
import { MaintenanceService } from './maintenance/maintenance.service';
import { PollService } from './poll/poll.service';
import { EventWriter } from './writer/event-writer';

@Module({})
export class IngestorModule {
  static forRoot(config: DashConfig): DynamicModule {
    return {
      module: IngestorModule,
      imports: [
        ConfigModule.forRoot(config),
        DatabaseModule,
        RedisModule,
        // A flush's job completions and backlog releases leave in one write each: corked.
        QueuesModule.forRoot({ coalesceWrites: true, live: true }),
        ObservabilityModule,
        ClusterModule,
      ],
      controllers: [AlertRulesListener],
      providers: [
        BacklogGate, BacklogSweeper, EventWriter, FieldCatalog, LivePublisher, BufferService, IngestWorker, IngestHealth, MaintenanceService, IngestorNodeDetails, PollService, DefaultQueueWorker,
        AlertEvaluator, AlertRounds, AlertDelivery, AlertDeliveryWorker, BackfillWorker,
      ],
    };
  }
}
