import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { ClusterModule, ConfigModule, DatabaseModule, RedisModule, type DashConfig } from '@dash/infra';
import { AlertsModule } from './alerts/alerts.module';
import { AuthModule } from './auth/auth.module';
import { WebClusterModule } from './cluster/cluster.module';
import { HealthController } from './health/health.controller';
import { FailuresModule } from './failures/failures.module';
import { ErrorFilter } from './http/errors';
import { LiveModule } from './live/live.module';
import { MetricsModule } from './metrics/metrics.module';
import { PagesModule } from './pages/pages.module';
import { PipelinesModule } from './pipelines/pipelines.module';
import { ReadingModule } from './reading/reading.module';
import { SeriesModule } from './series/series.module';
import { WebhooksModule } from './webhooks/webhooks.module';

@Module({})
export class WebModule {
  static forRoot(config: DashConfig): DynamicModule {
    return {
      module: WebModule,
      imports: [ConfigModule.forRoot(config), DatabaseModule, RedisModule, ClusterModule, WebClusterModule, MetricsModule, AuthModule, PipelinesModule, WebhooksModule, FailuresModule, ReadingModule, SeriesModule, LiveModule, PagesModule, AlertsModule],
      controllers: [HealthController],
      providers: [{ provide: APP_FILTER, useClass: ErrorFilter }],
    };
  }
}
