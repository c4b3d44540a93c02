import { Controller, Get } from '@nestjs/common';
import type { PipelineEntity } from '@dash/infra';
import { Authenticated, CurrentPipeline, PipelineRoute } from '../auth/access';
import { ZodQuery } from '../http/zod-validation';
import { seriesQuerySchema, type SeriesQuery } from './series.params';
import { SeriesService } from './series.service';

@Controller('api/pipelines/:id')
@Authenticated()
@PipelineRoute()
export class SeriesController {
  constructor(private readonly series: SeriesService) {}

  @Get('series')
  get(@CurrentPipeline() pipeline: PipelineEntity, @ZodQuery(seriesQuerySchema) query: SeriesQuery) {
    return this.series.series(pipeline.id, query);
  }
}
