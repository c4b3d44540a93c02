import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import type { DashConfig } from '../config/config';
import { DASH_CONFIG } from '../config/config.module';
import { HealthService } from './health';
import { DashMetrics } from './metrics';
import { MetricsServer } from './metrics-server';

/** The node's metrics registry, its health checks, and the `METRICS_PORT` server (both apps). */
@Global()
@Module({
  providers: [{ provide: DashMetrics, inject: [DASH_CONFIG], useFactory: (config: DashConfig) => new DashMetrics(config.role, config.nodeId) }, HealthService, MetricsServer],
  exports: [DashMetrics, HealthService],
})
export class ObservabilityModule implements OnApplicationShutdown {
  constructor(@Inject(DashMetrics) private readonly metrics: DashMetrics) {}

  onApplicationShutdown(): void {
    this.metrics.stop();
  }
}
