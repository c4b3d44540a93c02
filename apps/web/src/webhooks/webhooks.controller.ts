import { Controller, HttpCode, Param, Post, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { WebhooksService } from './webhooks.service';

@Controller('webhooks')
export class WebhooksController {
  constructor(private readonly webhooks: WebhooksService) {}

  /** `202 {"accepted": n}` once every event of the request is durably queued. */
  @Post(':pipelineId')
  @HttpCode(202)
  receive(@Param('pipelineId') pipelineId: string, @Req() request: FastifyRequest) {
    return this.webhooks.receive(pipelineId, request.headers, request.body, request.raw.rawHeaders);
  }
}
