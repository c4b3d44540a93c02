import { Controller, Get, Param, Query, UseGuards } from '@nestjs/common';
import { DashError } from '@dash/domain';
import { AuthGuard, CurrentPrincipal } from '../auth/auth.guard';
import type { Principal } from '../auth/auth.service';
import { readable } from '../pipelines/pipelines.controller';
import { PipelinesService } from '../pipelines/pipelines.service';
import { StatsService } from './stats.service';

function limitOf(value: unknown): number {
  if (value === undefined) return 50;
  const limit = typeof value === 'string' && /^\d{1,4}$/.test(value) ? Number(value) : NaN;
  if (!(limit >= 1 && limit <= 500)) throw new DashError(400, 'invalid_request', 'limit must be a whole number from 1 to 500');
  return limit;
}

function optionalText(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0 || value.length > 500) throw new DashError(400, 'invalid_request', `${name} must be a non-empty string`);
  return value;
}

@Controller('api/pipelines/:id')
@UseGuards(AuthGuard)
export class ReadingController {
  constructor(
    private readonly pipelines: PipelinesService,
    private readonly reader: StatsService,
  ) {}

  @Get('stats')
  async stats(@CurrentPrincipal() principal: Principal, @Param('id') id: string) {
    readable(principal, id);
    await this.pipelines.entity(id);
    return this.reader.stats(id);
  }

  @Get('events')
  async events(@CurrentPrincipal() principal: Principal, @Param('id') id: string, @Query() query: Record<string, unknown>) {
    readable(principal, id);
    await this.pipelines.entity(id);
    return this.reader.events(id, { limit: limitOf(query.limit), before: optionalText(query.before, 'before'), type: optionalText(query.type, 'type'), eventId: optionalText(query.eventId, 'eventId') });
  }
}
