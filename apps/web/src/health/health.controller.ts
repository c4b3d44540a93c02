import { Controller, Get, Res } from '@nestjs/common';
import { HealthService } from '@dash/infra';
import type { FastifyReply } from 'fastify';

@Controller()
export class HealthController {
  constructor(private readonly health: HealthService) {}

  /** The process serves (its event loop turns); no dependency is checked. */
  @Get('health')
  live(@Res({ passthrough: true }) reply: FastifyReply) {
    const report = this.health.live();
    if (report.ok) return { status: 'ok' };
    void reply.status(503);
    return { error: 'unavailable', message: `unhealthy: ${report.failing.join('; ')}`, failing: report.failing };
  }

  /** PostgreSQL and Redis both answer. */
  @Get('ready')
  async ready(@Res({ passthrough: true }) reply: FastifyReply) {
    const report = await this.health.ready();
    if (report.ok) return { status: 'ready' };
    void reply.status(503);
    return { error: 'unavailable', message: `not ready: ${report.failing.join('; ')}`, failing: report.failing };
  }
}
