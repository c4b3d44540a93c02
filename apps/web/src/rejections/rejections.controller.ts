import { Controller, Get, Param, UseGuards } from '@nestjs/common';
import { AuthGuard, CurrentPrincipal } from '../auth/auth.guard';
import type { Principal } from '../auth/auth.service';
import { readable } from '../pipelines/pipelines.controller';
import { PipelinesService } from '../pipelines/pipelines.service';
import { RejectionLog } from './rejection-log';

/** Deliveries refused with a 4xx, for whoever may read the pipeline (a sender debugging a signature). */
@Controller('api/pipelines/:id/rejections')
@UseGuards(AuthGuard)
export class RejectionsController {
  constructor(
    private readonly pipelines: PipelinesService,
    private readonly rejections: RejectionLog,
  ) {}

  /** `{items: [{at, status, error, webhookId, contentLength}]}`, newest first, at most 100. */
  @Get()
  async list(@CurrentPrincipal() principal: Principal, @Param('id') id: string) {
    readable(principal, id);
    const pipeline = await this.pipelines.entity(id);
    return this.rejections.list(pipeline.id);
  }
}
