import { Module } from '@nestjs/common';
import { ClientProxyFactory } from '@nestjs/microservices';
import { DASH_CONFIG, redisTransportClient, type DashConfig } from '@dash/infra';
import { AuthModule } from '../auth/auth.module';
import { PipelinesModule } from '../pipelines/pipelines.module';
import { AlertChangesPublisher, ALERTS_TRANSPORT_CLIENT } from './alert-changes';
import { AlertsController } from './alerts.controller';
import { AlertsService } from './alerts.service';

@Module({
  imports: [AuthModule, PipelinesModule],
  controllers: [AlertsController],
  providers: [
    AlertsService,
    AlertChangesPublisher,
    {
      provide: ALERTS_TRANSPORT_CLIENT,
      inject: [DASH_CONFIG],
      useFactory: (config: DashConfig) => ClientProxyFactory.create(redisTransportClient(config.redis, config.role)),
    },
  ],
})
export class AlertsModule {}
