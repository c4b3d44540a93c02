import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, UseGuards } from '@nestjs/common';
import { AuthGuard, CurrentPrincipal, requireAdmin } from '../auth/auth.guard';
import type { Principal } from '../auth/auth.service';
import { readable } from '../pipelines/pipelines.controller';
import { parseBody } from '../pipelines/pipelines.schemas';
import { PipelinesService } from '../pipelines/pipelines.service';
import { createAlertSchema, updateAlertSchema } from './alerts.schemas';
import { AlertsService } from './alerts.service';

/** Alert rules of a pipeline: readers list them (without where they go), the admin manages them. */
@Controller('api/pipelines/:id/alerts')
@UseGuards(AuthGuard)
export class AlertsController {
  constructor(
    private readonly pipelines: PipelinesService,
    private readonly alerts: AlertsService,
  ) {}

  @Post()
  async create(@CurrentPrincipal() principal: Principal, @Param('id') id: string, @Body() body: unknown) {
    requireAdmin(principal);
    await this.pipelines.entity(id);
    return this.alerts.create(id, parseBody(createAlertSchema, body));
  }

  @Get()
  async list(@CurrentPrincipal() principal: Principal, @Param('id') id: string) {
    readable(principal, id);
    await this.pipelines.entity(id);
    return this.alerts.list(id, principal.kind === 'admin');
  }

  @Patch(':alertId')
  async update(@CurrentPrincipal() principal: Principal, @Param('id') id: string, @Param('alertId') alertId: string, @Body() body: unknown) {
    requireAdmin(principal);
    await this.pipelines.entity(id);
    return this.alerts.update(id, alertId, parseBody(updateAlertSchema, body));
  }

  @Delete(':alertId')
  @HttpCode(204)
  async remove(@CurrentPrincipal() principal: Principal, @Param('id') id: string, @Param('alertId') alertId: string): Promise<void> {
    requireAdmin(principal);
    await this.pipelines.entity(id);
    await this.alerts.remove(id, alertId);
  }
}
