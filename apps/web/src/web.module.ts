import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { ClusterModule, ConfigModule, DatabaseModule, ObservabilityModule, QueuesModule, RedisModule, type DashConfig } from '@dash/infra';
import { AlertsModule } from './alerts/alerts.module';
import { AuthModule } from './auth/auth.module';
import { WebClusterModule } from './cluster/cluster.module';
import { HealthController } from './health/health.controller';
import { FailuresModule } from './failures/failures.module';
import { ErrorFilter } from './http/errors';
import { RequestLog } from './http/request-log';
import { LiveModule } from './live/live.module';
import { MetricsModule } from './metrics/metrics.module';
import { OpenApiModule } from './openapi/openapi.module';
import { PagesModule } from './pages/pages.module';
import { PipelinesModule } from './pipelines/pipelines.module';
import { ReadingModule } from './reading/reading.module';
import { RejectionsModule } from './rejections/rejections.module';
import { SeriesModule } from './series/series.module';
import { TokensModule } from './tokens/tokens.module';
import { WebhooksModule } from './webhooks/webhooks.module';

@Module({})
export class WebModule {
  static forRoot(config: DashConfig): DynamicModule {
    return {
      module: WebModule,
      imports: [
        ConfigModule.forRoot(config),
        DatabaseModule,
        RedisModule,
        // Intake waits for each enqueue's answer: the producer is not corked.
        QueuesModule.forRoot({ coalesceWrites: false, subscriber: true }),
        ObservabilityModule, ClusterModule, WebClusterModule, MetricsModule, AuthModule, PipelinesModule, WebhooksModule, FailuresModule, RejectionsModule, ReadingModule, SeriesModule, TokensModule, LiveModule, OpenApiModule, PagesModule, AlertsModule],
      controllers: [HealthController],
      providers: [{ provide: APP_FILTER, useClass: ErrorFilter }, RequestLog],
    };
  }
}
