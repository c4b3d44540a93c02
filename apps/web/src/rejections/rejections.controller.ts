import { Controller, Get } from '@nestjs/common';
import type { PipelineEntity } from '@dash/infra';
import { Authenticated, CurrentPipeline, PipelineRoute } from '../auth/access';
import { RejectionLog } from './rejection-log';

/** Deliveries refused with a 4xx, for whoever may read the pipeline (a sender debugging a signature). */
@Controller('api/pipelines/:id/rejections')
@Authenticated()
@PipelineRoute()
export class RejectionsController {
  constructor(private readonly rejections: RejectionLog) {}

  /** `{items: [{at, status, error, message, webhookId, contentLength}]}`, newest first, at most 100. */
  @Get()
  list(@CurrentPipeline() pipeline: PipelineEntity) {
    return this.rejections.list(pipeline.id);
  }
}
