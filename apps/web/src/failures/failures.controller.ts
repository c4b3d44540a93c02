import { Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import type { PipelineEntity } from '@dash/infra';
import { AdminOnly, Authenticated, CurrentPipeline, PipelineRoute } from '../auth/access';
import { ZodQuery } from '../http/zod-validation';
import { failuresQuerySchema, type FailuresQuery } from './failures.schemas';
import { FailuresService } from './failures.service';

/** Events the database refused: listed for readers of the pipeline, replayed or discarded by the admin. */
@Controller('api/pipelines/:id/failures')
@Authenticated()
@PipelineRoute()
export class FailuresController {
  constructor(private readonly failures: FailuresService) {}

  /** `{items: [{id, reason, attempts, failedAt, event}], total, next}`, newest first; `?before=<next>` pages on. */
  @Get()
  list(@CurrentPipeline() pipeline: PipelineEntity, @ZodQuery(failuresQuerySchema) query: FailuresQuery) {
    return this.failures.list(pipeline.id, query.limit, query.before);
  }

  /** `{replayed, stored, failed, pending}`: stored ones leave the list, refused ones stay. */
  @Post('replay')
  @HttpCode(200)
  @AdminOnly()
  replay(@CurrentPipeline() pipeline: PipelineEntity) {
    return this.failures.replay(pipeline.id);
  }

  /** `204`: the failure is gone (an event that can never be stored); `404 not_found` when the pipeline has none with that id. */
  @Delete(':failureId')
  @HttpCode(204)
  @AdminOnly()
  async discard(@CurrentPipeline() pipeline: PipelineEntity, @Param('failureId') failureId: string): Promise<void> {
    await this.failures.discard(pipeline.id, failureId);
  }
}
