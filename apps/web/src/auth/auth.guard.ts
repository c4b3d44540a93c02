import { createParamDecorator, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { DashError } from '@dash/domain';
import type { FastifyRequest } from 'fastify';
import { AuthService, type Principal } from './auth.service';

type AuthedRequest = FastifyRequest & { principal?: Principal };

/** `Authorization: Bearer <token>` on every /api route. */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(private readonly auth: AuthService) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<AuthedRequest>();
    const header = request.headers.authorization;
    const token = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
    if (!token) throw new DashError(401, 'unauthorized', 'Authorization: Bearer <token> is required');
    const principal = await this.auth.authenticate(token);
    if (!principal) throw new DashError(401, 'unauthorized', 'the token is not valid');
    request.principal = principal;
    return true;
  }
}

export const CurrentPrincipal = createParamDecorator((_data: unknown, context: ExecutionContext): Principal => {
  const principal = context.switchToHttp().getRequest<AuthedRequest>().principal;
  if (!principal) throw new DashError(401, 'unauthorized', 'not authenticated');
  return principal;
});
