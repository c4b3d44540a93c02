import { Controller, Get, Param, Query, UseGuards } from '@nestjs/common';
import { AuthGuard, CurrentPrincipal } from '../auth/auth.guard';
import type { Principal } from '../auth/auth.service';
import { readable } from '../pipelines/pipelines.controller';
import { PipelinesService } from '../pipelines/pipelines.service';
import { parseSeriesQuery } from './series.params';
import { SeriesService } from './series.service';

@Controller('api/pipelines/:id')
@UseGuards(AuthGuard)
export class SeriesController {
  constructor(
    private readonly pipelines: PipelinesService,
    private readonly series: SeriesService,
  ) {}

  @Get('series')
  async get(@CurrentPrincipal() principal: Principal, @Param('id') id: string, @Query() query: Record<string, unknown>) {
    readable(principal, id);
    const parsed = parseSeriesQuery(query);
    await this.pipelines.entity(id);
    return this.series.series(id, parsed);
  }
}
