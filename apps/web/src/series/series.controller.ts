import { Controller, Get } from '@nestjs/common';
import type { PipelineEntity } from '@dash/infra';
import { Authenticated, CurrentPipeline, PipelineRoute } from '../auth/access';
import { ClientAddress } from '../auth/auth.guard';
import { ZodQuery } from '../http/zod-validation';
import { breakdownQuerySchema, type BreakdownQuery } from './breakdown.params';
import { BreakdownsService } from './breakdowns.service';
import { seriesQuerySchema, type SeriesQuery } from './series.params';
import { SeriesService } from './series.service';

@Controller('api/pipelines/:id')
@Authenticated()
@PipelineRoute()
export class SeriesController {
  constructor(
    private readonly series: SeriesService,
    private readonly breakdowns: BreakdownsService,
  ) {}

  @Get('series')
  get(@CurrentPipeline() pipeline: PipelineEntity, @ClientAddress() address: string, @ZodQuery(seriesQuerySchema) query: SeriesQuery) {
    const { groupBy } = query;
    return groupBy === undefined ? this.series.series(pipeline.id, query) : this.breakdowns.grouped(pipeline, { ...query, groupBy }, address);
  }

  @Get('breakdown')
  breakdown(@CurrentPipeline() pipeline: PipelineEntity, @ClientAddress() address: string, @ZodQuery(breakdownQuerySchema) query: BreakdownQuery) {
    return this.breakdowns.breakdown(pipeline, query, address);
  }
}
