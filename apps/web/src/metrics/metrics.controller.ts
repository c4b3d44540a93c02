import { Controller, Get, Inject, Res } from '@nestjs/common';
import { DashError } from '@dash/domain';
import { DASH_CONFIG, type DashConfig } from '@dash/infra';
import type { FastifyReply } from 'fastify';
import { MetricsService } from './metrics.service';

@Controller('metrics')
export class MetricsController {
  constructor(
    private readonly metrics: MetricsService,
    @Inject(DASH_CONFIG) private readonly config: DashConfig,
  ) {}

  /** On the public port only while no METRICS_PORT is set (then they are served there, privately). */
  @Get()
  async render(@Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    if (this.config.metrics.port !== null) throw new DashError(404, 'not_found', `metrics are served on port ${this.config.metrics.port}`);
    void reply.header('content-type', this.metrics.contentType);
    return this.metrics.render();
  }
}
