import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, UseGuards } from '@nestjs/common';
import { DashError } from '@dash/domain';
import { AuthGuard, CurrentPrincipal, requireAdmin } from '../auth/auth.guard';
import { canRead, type Principal } from '../auth/auth.service';
import { createPipelineSchema, parseBody, updatePipelineSchema } from './pipelines.schemas';
import { PipelinesService } from './pipelines.service';

@Controller('api')
@UseGuards(AuthGuard)
export class PipelinesController {
  constructor(private readonly pipelines: PipelinesService) {}

  @Post('pipelines')
  create(@CurrentPrincipal() principal: Principal, @Body() body: unknown) {
    requireAdmin(principal);
    return this.pipelines.create(parseBody(createPipelineSchema, body));
  }

  @Get('pipelines')
  async list(@CurrentPrincipal() principal: Principal) {
    return { items: await this.pipelines.list((id) => canRead(principal, id)) };
  }

  @Get('pipelines/:id')
  get(@CurrentPrincipal() principal: Principal, @Param('id') id: string) {
    readable(principal, id);
    return this.pipelines.get(id);
  }

  @Patch('pipelines/:id')
  update(@CurrentPrincipal() principal: Principal, @Param('id') id: string, @Body() body: unknown) {
    requireAdmin(principal);
    return this.pipelines.update(id, parseBody(updatePipelineSchema, body));
  }

  @Delete('pipelines/:id')
  @HttpCode(204)
  async remove(@CurrentPrincipal() principal: Principal, @Param('id') id: string): Promise<void> {
    requireAdmin(principal);
    await this.pipelines.remove(id);
  }

  @Post('pipelines/:id/rotate-secret')
  @HttpCode(200)
  rotate(@CurrentPrincipal() principal: Principal, @Param('id') id: string) {
    requireAdmin(principal);
    return this.pipelines.rotateSecret(id);
  }

  @Post('pipelines/:id/poll')
  @HttpCode(200)
  poll(@CurrentPrincipal() principal: Principal, @Param('id') id: string) {
    requireAdmin(principal);
    return this.pipelines.pollNow(id);
  }
}

/** A viewer token reads only the pipelines it names. */
export function readable(principal: Principal, id: string): void {
  if (!canRead(principal, id)) throw new DashError(403, 'forbidden', `this token may not read pipeline ${id}`);
}
