import { Module } from '@nestjs/common';
import { ClientProxyFactory } from '@nestjs/microservices';
import { DASH_CONFIG, redisTransportClient, type DashConfig } from '@dash/infra';
import { AuthModule } from '../auth/auth.module';
import { PipelineCacheModule } from './pipeline-cache.module';
import { PipelineChangesController, PipelineChangesPublisher, TRANSPORT_CLIENT } from './pipeline-changes';
import { PipelinesController } from './pipelines.controller';
import { PipelinesService } from './pipelines.service';
import { PollScheduler } from './poll-scheduler';

@Module({
  imports: [AuthModule, PipelineCacheModule],
  controllers: [PipelinesController, PipelineChangesController],
  providers: [
    PipelinesService,
    PipelineChangesPublisher,
    PollScheduler,
    {
      provide: TRANSPORT_CLIENT,
      inject: [DASH_CONFIG],
      useFactory: (config: DashConfig) => ClientProxyFactory.create(redisTransportClient(config.redis, config.role)),
    },
  ],
  exports: [PipelinesService, PipelineCacheModule, TRANSPORT_CLIENT],
})
export class PipelinesModule {}
