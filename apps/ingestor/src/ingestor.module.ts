import { Module, type DynamicModule } from '@nestjs/common';
import { ClientProxyFactory } from '@nestjs/microservices';
import { BacklogGate, ClusterModule, ConfigModule, DASH_CONFIG, DatabaseModule, ObservabilityModule, QueuesModule, redisTransport, RedisModule, type DashConfig } from '@dash/infra';
import { AlertDelivery } from './alerts/alert-delivery';
import { AlertDeliveryWorker } from './alerts/alert-delivery.worker';
import { AlertEvaluator, ALERTS_TRANSPORT_CLIENT } from './alerts/alert-evaluator';
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
        QueuesModule.forRoot({ coalesceWrites: true, emitter: true }),
        ObservabilityModule,
        ClusterModule,
      ],
      controllers: [AlertRulesListener],
      providers: [
        BacklogGate, BacklogSweeper, EventWriter, FieldCatalog, LivePublisher, BufferService, IngestWorker, IngestHealth, MaintenanceService, IngestorNodeDetails, PollService, DefaultQueueWorker,
        AlertEvaluator, AlertRounds, AlertDelivery, AlertDeliveryWorker, BackfillWorker,
        // Alert state changes go to the web nodes on the NestJS Redis transport.
        { provide: ALERTS_TRANSPORT_CLIENT, inject: [DASH_CONFIG], useFactory: (config: DashConfig) => ClientProxyFactory.create(redisTransport(config.redisUrl)) },
      ],
    };
  }
}
