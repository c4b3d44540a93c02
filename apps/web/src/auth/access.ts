import { applyDecorators, createParamDecorator, Inject, Injectable, SetMetadata, UseGuards, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { DashError } from '@dash/domain';
import type { PipelineEntity } from '@dash/infra';
import type { FastifyRequest } from 'fastify';
import { PipelineCache } from '../pipelines/pipeline-cache';
import { isUuid } from '../pipelines/pipelines.schemas';
import { AuthGuard } from './auth.guard';
import { canRead, type Principal } from './auth.service';

const ADMIN_ONLY = 'dash:admin-only';
const PIPELINE_PARAM = 'dash:pipeline-param';

type AccessRequest = FastifyRequest & { principal?: Principal; pipeline?: PipelineEntity; params: Record<string, string | undefined> };

/** The route needs the admin token: a viewer token gets `403 forbidden`. */
export const AdminOnly = () => SetMetadata(ADMIN_ONLY, true);

/**
 * The route's `:id` (or the named param) is a pipeline the token must be allowed to read; the
 * handler receives it with `@CurrentPipeline()`. On a controller, it applies to every route.
 */
export const PipelineRoute = (param = 'id') => SetMetadata(PIPELINE_PARAM, param);

/** `Authorization: Bearer <token>`, then what the route's `@AdminOnly()`/`@PipelineRoute()` declare. */
export const Authenticated = () => applyDecorators(UseGuards(AuthGuard, AccessGuard));

/**
 * Enforces the access a route declares, after AuthGuard has set the principal. The checks keep
 * the order handlers used to type by hand: a viewer learns nothing about pipelines it may not
 * read (403 whether or not they exist); only then is an unknown pipeline a 404.
 */
@Injectable()
export class AccessGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    // Typed by what it is asked, so a unit spec can hand it a small fake.
    @Inject(PipelineCache) private readonly pipelines: Pick<PipelineCache, 'get'>,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<AccessRequest>();
    const principal = request.principal;
    if (!principal) throw new DashError(401, 'unauthorized', 'not authenticated');
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean | undefined>(ADMIN_ONLY, targets) && principal.kind !== 'admin') {
      throw new DashError(403, 'forbidden', 'this needs the admin token');
    }
    const param = this.reflector.getAllAndOverride<string | undefined>(PIPELINE_PARAM, targets);
    if (param === undefined) return true;
    const raw = request.params?.[param] ?? '';
    const id = isUuid(raw) ? raw.toLowerCase() : raw;
    if (!canRead(principal, id)) throw new DashError(403, 'forbidden', `this token may not read pipeline ${id}`);
    const cached = await this.pipelines.get(id);
    if (!cached) throw new DashError(404, 'not_found', `no pipeline ${id}`);
    request.pipeline = cached.entity;
    return true;
  }
}

/** The pipeline AccessGuard resolved for a `@PipelineRoute()`. */
export const CurrentPipeline = createParamDecorator((_data: unknown, context: ExecutionContext): PipelineEntity => {
  const pipeline = context.switchToHttp().getRequest<AccessRequest>().pipeline;
  // A route that asks for it without declaring @PipelineRoute() is a programming error, not a client's.
  if (!pipeline) throw new Error('@CurrentPipeline() needs @PipelineRoute() on the route or its controller');
  return pipeline;
});
