import { Module } from '@nestjs/common';
import { ClientProxyFactory } from '@nestjs/microservices';
import { DASH_CONFIG, redisTransport, type DashConfig } from '@dash/infra';
import { AuthModule } from '../auth/auth.module';
import { PipelineCache } from './pipeline-cache';
import { PipelineChangesController, PipelineChangesPublisher, TRANSPORT_CLIENT } from './pipeline-changes';
import { PipelinesController } from './pipelines.controller';
import { PipelinesService } from './pipelines.service';
import { PollScheduler } from './poll-scheduler';

@Module({
  imports: [AuthModule],
  controllers: [PipelinesController, PipelineChangesController],
  providers: [
    PipelinesService,
    PipelineCache,
    PipelineChangesPublisher,
    PollScheduler,
    {
      provide: TRANSPORT_CLIENT,
      inject: [DASH_CONFIG],
      useFactory: (config: DashConfig) => ClientProxyFactory.create(redisTransport(config.redisUrl)),
    },
  ],
  exports: [PipelinesService, PipelineCache, TRANSPORT_CLIENT],
})
export class PipelinesModule {}
