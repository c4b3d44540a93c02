import { Module, type DynamicModule } from '@nestjs/common';
import { ClientProxyFactory } from '@nestjs/microservices';
import { ClusterModule, ConfigModule, DASH_CONFIG, DatabaseModule, ObservabilityModule, redisTransport, RedisModule, type DashConfig } from '@dash/infra';
import { AlertDelivery } from './alerts/alert-delivery';
import { AlertDeliveryWorker } from './alerts/alert-delivery.worker';
import { AlertEvaluator, ALERTS_TRANSPORT_CLIENT } from './alerts/alert-evaluator';
import { AlertRulesListener } from './alerts/alert-rules.listener';
import { BufferService } from './buffer/buffer.service';
import { IngestorNodeDetails } from './cluster/node-details';
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
      imports: [ConfigModule.forRoot(config), DatabaseModule, RedisModule, ObservabilityModule, ClusterModule],
      controllers: [AlertRulesListener],
      providers: [
        EventWriter, LivePublisher, BufferService, IngestWorker, IngestHealth, MaintenanceService, IngestorNodeDetails, PollService, PollWorker,
        AlertEvaluator, AlertDelivery, AlertDeliveryWorker,
        // Alert state changes go to the web nodes on the NestJS Redis transport.
        { provide: ALERTS_TRANSPORT_CLIENT, inject: [DASH_CONFIG], useFactory: (config: DashConfig) => ClientProxyFactory.create(redisTransport(config.redisUrl)) },
      ],
    };
  }
}
