import { Controller, Delete, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import type { PipelineEntity } from '@dash/infra';
import { AdminOnly, Authenticated, CurrentPipeline, PipelineRoute } from '../auth/access';
import { CurrentPrincipal } from '../auth/auth.guard';
import type { Principal } from '../auth/auth.service';
import { ZodBody } from '../http/zod-validation';
import { createAlertSchema, updateAlertSchema, type CreateAlert, type UpdateAlert } from './alerts.schemas';
import { AlertsService } from './alerts.service';

/** Alert rules of a pipeline: readers list them (without where they go), the admin manages them. */
@Controller('api/pipelines/:id/alerts')
@Authenticated()
@PipelineRoute()
export class AlertsController {
  constructor(private readonly alerts: AlertsService) {}

  @Post()
  @AdminOnly()
  create(@CurrentPipeline() pipeline: PipelineEntity, @ZodBody(createAlertSchema) body: CreateAlert) {
    return this.alerts.create(pipeline.id, body);
  }

  @Get()
  list(@CurrentPipeline() pipeline: PipelineEntity, @CurrentPrincipal() principal: Principal) {
    return this.alerts.list(pipeline.id, principal.kind === 'admin');
  }

  @Patch(':alertId')
  @AdminOnly()
  update(@CurrentPipeline() pipeline: PipelineEntity, @Param('alertId') alertId: string, @ZodBody(updateAlertSchema) body: UpdateAlert) {
    return this.alerts.update(pipeline.id, alertId, body);
  }

  @Delete(':alertId')
  @HttpCode(204)
  @AdminOnly()
  async remove(@CurrentPipeline() pipeline: PipelineEntity, @Param('alertId') alertId: string): Promise<void> {
    await this.alerts.remove(pipeline.id, alertId);
  }
}
