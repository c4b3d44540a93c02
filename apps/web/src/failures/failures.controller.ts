import { Controller, Get, HttpCode, Param, Post, Query, UseGuards } from '@nestjs/common';
import { DashError } from '@dash/domain';
import { AuthGuard, CurrentPrincipal, requireAdmin } from '../auth/auth.guard';
import type { Principal } from '../auth/auth.service';
import { readable } from '../pipelines/pipelines.controller';
import { PipelinesService } from '../pipelines/pipelines.service';
import { FailuresService } from './failures.service';

function limitOf(value: unknown): number {
  if (value === undefined) return 100;
  const limit = typeof value === 'string' && /^\d{1,4}$/.test(value) ? Number(value) : NaN;
  if (!(limit >= 1 && limit <= 1000)) throw new DashError(400, 'invalid_request', 'limit must be a whole number from 1 to 1000');
  return limit;
}

/** Events the database refused: listed for readers of the pipeline, replayed by the admin. */
@Controller('api/pipelines/:id/failures')
@UseGuards(AuthGuard)
export class FailuresController {
  constructor(
    private readonly pipelines: PipelinesService,
    private readonly failures: FailuresService,
  ) {}

  /** `{items: [{id, reason, attempts, failedAt, event}], total, next}`, newest first; `?before=<next>` pages on. */
  @Get()
  async list(@CurrentPrincipal() principal: Principal, @Param('id') id: string, @Query() query: Record<string, unknown>) {
    readable(principal, id);
    await this.pipelines.entity(id);
    const before = query.before;
    if (before !== undefined && (typeof before !== 'string' || before.length === 0 || before.length > 500)) throw new DashError(400, 'invalid_request', 'before must be a cursor returned by this API');
    return this.failures.list(id, limitOf(query.limit), before);
  }

  /** `{replayed, stored, failed, pending}`: stored ones leave the list, refused ones stay. */
  @Post('replay')
  @HttpCode(200)
  async replay(@CurrentPrincipal() principal: Principal, @Param('id') id: string) {
    requireAdmin(principal);
    await this.pipelines.entity(id);
    return this.failures.replay(id);
  }
}
