import { Controller, Delete, Get, HttpCode, Patch, Post } from '@nestjs/common';
import type { PipelineEntity } from '@dash/infra';
import { AdminOnly, Authenticated, CurrentPipeline, PipelineRoute } from '../auth/access';
import { CurrentPrincipal } from '../auth/auth.guard';
import { canRead, type Principal } from '../auth/auth.service';
import { ZodBody } from '../http/zod-validation';
import { createPipelineSchema, updatePipelineSchema, type CreatePipeline, type UpdatePipeline } from './pipelines.schemas';
import { PipelinesService } from './pipelines.service';

@Controller('api')
@Authenticated()
export class PipelinesController {
  constructor(private readonly pipelines: PipelinesService) {}

  @Post('pipelines')
  @AdminOnly()
  create(@ZodBody(createPipelineSchema) body: CreatePipeline) {
    return this.pipelines.create(body);
  }

  @Get('pipelines')
  async list(@CurrentPrincipal() principal: Principal) {
    return { items: await this.pipelines.list((id) => canRead(principal, id), principal.kind === 'admin') };
  }

  @Get('pipelines/:id')
  @PipelineRoute()
  get(@CurrentPipeline() pipeline: PipelineEntity, @CurrentPrincipal() principal: Principal) {
    return this.pipelines.get(pipeline.id, principal.kind === 'admin');
  }

  @Patch('pipelines/:id')
  @AdminOnly()
  @PipelineRoute()
  update(@CurrentPipeline() pipeline: PipelineEntity, @ZodBody(updatePipelineSchema) body: UpdatePipeline) {
    return this.pipelines.update(pipeline.id, body);
  }

  @Delete('pipelines/:id')
  @HttpCode(204)
  @AdminOnly()
  @PipelineRoute()
  async remove(@CurrentPipeline() pipeline: PipelineEntity): Promise<void> {
    await this.pipelines.remove(pipeline.id);
  }

  @Post('pipelines/:id/rotate-secret')
  @HttpCode(200)
  @AdminOnly()
  @PipelineRoute()
  rotate(@CurrentPipeline() pipeline: PipelineEntity) {
    return this.pipelines.rotateSecret(pipeline.id);
  }

  @Post('pipelines/:id/poll')
  @HttpCode(200)
  @AdminOnly()
  @PipelineRoute()
  poll(@CurrentPipeline() pipeline: PipelineEntity) {
    return this.pipelines.pollNow(pipeline.id);
  }
}
