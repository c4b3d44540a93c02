import { Controller, Delete, Get, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { DashError, TOKEN_REVOKED, type TokenRevoked } from '@dash/domain';
import { DASH_CONFIG, type DashConfig } from '@dash/infra';
import { AdminOnly, Authenticated } from '../auth/access';
import { ZodBody } from '../http/zod-validation';
import { createTokenSchema, isUuid, type CreateToken } from '../pipelines/pipelines.schemas';
import { TokensService } from './tokens.service';

/** `POST/GET /api/tokens`, `DELETE /api/tokens/:id`: admin only. */
@Controller('api/tokens')
@Authenticated()
@AdminOnly()
export class TokensController {
  constructor(private readonly tokens: TokensService) {}

  @Post()
  create(@ZodBody(createTokenSchema) { pipelines, label }: CreateToken) {
    return this.tokens.create(pipelines, label);
  }

  @Get()
  list() {
    return this.tokens.list();
  }

  @Delete(':id')
  @HttpCode(204)
  async revoke(@Param('id') id: string): Promise<void> {
    if (!isUuid(id)) throw new DashError(404, 'not_found', 'no such token');
    await this.tokens.revoke(id.toLowerCase());
  }
}

/** Revocations announced by any node (this one included) over the NestJS Redis transport. */
@Controller()
export class TokenRevocationsController {
  constructor(
    @Inject(DASH_CONFIG) private readonly config: DashConfig,
    private readonly tokens: TokensService,
  ) {}

  @EventPattern(TOKEN_REVOKED)
  async onRevoked(@Payload() message: TokenRevoked): Promise<void> {
    if (message?.scope === this.config.keyPrefix && isUuid(message.tokenId)) await this.tokens.forgetAnnounced(message.tokenId);
  }
}
