import { Module, type DynamicModule } from '@nestjs/common';
import { BacklogGate, ClusterModule, ConfigModule, DatabaseModule, ObservabilityModule, QueuesModule, RedisModule, type DashConfig } from '@dash/infra';
import { AlertDelivery } from './alerts/alert-delivery';
import { AlertDeliveryWorker } from './alerts/alert-delivery.worker';
import { AlertEvaluator } from './alerts/alert-evaluator';
import { AlertRulesListener } from './alerts/alert-rules.listener';
import { BufferService } from './buffer/buffer.service';
import { IngestorNodeDetails } from './cluster/node-details';
import { BacklogSweeper } from './ingest/backlog-sweeper';
import { IngestHealth } from './ingest/ingest.health';
import { IngestWorker } from './ingest/ingest.worker';
import { LivePublisher } from './live/live-publisher';
import { MaintenanceService } from './maintenance/maintenance.service';
import { PollService } from './poll/poll.service';
import { PollWorker } from './poll/poll.worker';
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
        BacklogGate, BacklogSweeper, EventWriter, LivePublisher, BufferService, IngestWorker, IngestHealth, MaintenanceService, IngestorNodeDetails, PollService, PollWorker,
        AlertEvaluator, AlertDelivery, AlertDeliveryWorker,
      ],
    };
  }
}
