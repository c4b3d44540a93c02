import { Module, type DynamicModule } from '@nestjs/common';
import { ConfigModule, DatabaseModule, RedisModule, type DashConfig } from '@dash/infra';
import { BufferService } from './buffer/buffer.service';
import { IngestWorker } from './ingest/ingest.worker';
import { LivePublisher } from './live/live-publisher';
import { MaintenanceService } from './maintenance/maintenance.service';
import { EventWriter } from './writer/event-writer';

@Module({})
export class IngestorModule {
  static forRoot(config: DashConfig): DynamicModule {
    return {
      module: IngestorModule,
      imports: [ConfigModule.forRoot(config), DatabaseModule, RedisModule],
      providers: [EventWriter, LivePublisher, BufferService, IngestWorker, MaintenanceService],
    };
  }
}
