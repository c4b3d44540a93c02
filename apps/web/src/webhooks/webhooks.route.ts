import { Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { WEBHOOK_ROUTE } from '@dash/domain';
import type { FastifyInstance } from 'fastify';
import { sendError } from '../http/errors';
import { TurnBatch } from './turn-batch';
import { WebhooksService } from './webhooks.service';

/**
 * `POST /webhooks/:pipelineId`, the hot path, registered on Fastify directly: no Nest router,
 * pipes or interceptors per request, and the answer written as ready JSON text. Errors take the
 * same `{"error", "message"}` form as every other route (body-parser errors reach Nest's handler).
 */
@Injectable()
export class WebhooksRoute implements OnModuleInit {
  /** A turn's requests are verified and queued back to back (see TurnBatch). */
  private readonly turn = new TurnBatch();

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly webhooks: WebhooksService,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.post<{ Params: { pipelineId: string } }>(WEBHOOK_ROUTE, async (request, reply) => {
      try {
        const { accepted } = await this.turn.run(() => this.webhooks.receive(request.params.pipelineId, request.headers, request.body, request.raw.rawHeaders));
        // `202 {"accepted": n}` once every event of the request is durably queued.
        return await reply.code(202).type('application/json; charset=utf-8').send(`{"accepted":${accepted}}`);
      } catch (error) {
        sendError(reply, error);
        return reply;
      }
    });
  }
}
