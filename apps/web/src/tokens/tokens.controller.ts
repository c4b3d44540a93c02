import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, UseGuards } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { DashError, TOKEN_REVOKED, type TokenRevoked } from '@dash/domain';
import { DASH_CONFIG, type DashConfig } from '@dash/infra';
import { AuthGuard, CurrentPrincipal, requireAdmin } from '../auth/auth.guard';
import { AuthService, type Principal } from '../auth/auth.service';
import { createTokenSchema, isUuid, parseBody } from '../pipelines/pipelines.schemas';
import { TokensService } from './tokens.service';

/** `POST/GET /api/tokens`, `DELETE /api/tokens/:id`: admin only. */
@Controller('api/tokens')
@UseGuards(AuthGuard)
export class TokensController {
  constructor(private readonly tokens: TokensService) {}

  @Post()
  create(@CurrentPrincipal() principal: Principal, @Body() body: unknown) {
    requireAdmin(principal);
    const { pipelines, label } = parseBody(createTokenSchema, body);
    return this.tokens.create(pipelines, label);
  }

  @Get()
  list(@CurrentPrincipal() principal: Principal) {
    requireAdmin(principal);
    return this.tokens.list();
  }

  @Delete(':id')
  @HttpCode(204)
  async revoke(@CurrentPrincipal() principal: Principal, @Param('id') id: string): Promise<void> {
    requireAdmin(principal);
    if (!isUuid(id)) throw new DashError(404, 'not_found', 'no such token');
    await this.tokens.revoke(id.toLowerCase());
  }
}

/** Revocations announced by any node (this one included) over the NestJS Redis transport. */
@Controller()
export class TokenRevocationsController {
  constructor(
    @Inject(DASH_CONFIG) private readonly config: DashConfig,
    private readonly auth: AuthService,
  ) {}

  @EventPattern(TOKEN_REVOKED)
  onRevoked(@Payload() message: TokenRevoked): void {
    if (message?.scope === this.config.keyPrefix && isUuid(message.tokenId)) this.auth.forget(message.tokenId);
  }
}
