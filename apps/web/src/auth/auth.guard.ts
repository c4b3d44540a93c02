import { createParamDecorator, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { DashError } from '@dash/domain';
import type { FastifyRequest } from 'fastify';
import type { Principal } from './auth.service';
import { RequestLimits } from './request-limits';

type AuthedRequest = FastifyRequest & { principal?: Principal; clientAddress?: string };

/**
 * `Authorization: Bearer <token>` on every /api route, with the API's rate limits (RequestLimits):
 * failed authentications per client address, reads per token.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(private readonly limits: RequestLimits) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<AuthedRequest>();
    const header = request.headers.authorization;
    const token = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7).trim() || undefined : undefined;
    const address = this.limits.clientAddress(request.headers, request.raw.socket.remoteAddress);
    const principal = await this.limits.principalFor(token, address);
    if (request.method === 'GET' || request.method === 'HEAD') this.limits.read(principal);
    request.principal = principal;
    request.clientAddress = address;
    return true;
  }
}

export const CurrentPrincipal = createParamDecorator((_data: unknown, context: ExecutionContext): Principal => {
  const principal = context.switchToHttp().getRequest<AuthedRequest>().principal;
  if (!principal) throw new DashError(401, 'unauthorized', 'not authenticated');
  return principal;
});

/** The client's address as the API's limits count it (RequestLimits.clientAddress). */
export const ClientAddress = createParamDecorator((_data: unknown, context: ExecutionContext): string => context.switchToHttp().getRequest<AuthedRequest>().clientAddress ?? 'unknown');
