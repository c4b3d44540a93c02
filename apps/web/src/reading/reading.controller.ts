import { Controller, Get } from '@nestjs/common';
import type { PipelineEntity } from '@dash/infra';
import { Authenticated, CurrentPipeline, PipelineRoute } from '../auth/access';
import { ZodQuery } from '../http/zod-validation';
import { eventsQuerySchema, type EventsQuery } from './reading.schemas';
import { FieldsService } from './fields.service';
import { StatsService } from './stats.service';

@Controller('api/pipelines/:id')
@Authenticated()
@PipelineRoute()
export class ReadingController {
  constructor(
    private readonly reader: StatsService,
    private readonly catalog: FieldsService,
  ) {}

  @Get('stats')
  stats(@CurrentPipeline() pipeline: PipelineEntity) {
    return this.reader.stats(pipeline.id);
  }

  @Get('events')
  events(@CurrentPipeline() pipeline: PipelineEntity, @ZodQuery(eventsQuerySchema) query: EventsQuery) {
    return this.reader.events(pipeline.id, query);
  }

  @Get('fields')
  fields(@CurrentPipeline() pipeline: PipelineEntity) {
    return this.catalog.fields(pipeline.id);
  }
}
