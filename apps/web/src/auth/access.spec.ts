import { Reflector } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import { DashError } from '@dash/domain';
import type { PipelineEntity } from '@dash/infra';
import type { CachedPipeline } from '../pipelines/pipeline-cache';
import { AccessGuard, AdminOnly, PipelineRoute } from './access';
import type { Principal } from './auth.service';

const MINE = '11111111-1111-4111-8111-111111111111';
const THEIRS = '22222222-2222-4222-8222-222222222222';
const UNKNOWN = '33333333-3333-4333-8333-333333333333';

/** The pipeline cache as the guard asks it: known ids answer, the rest are null; every id asked is recorded. */
class FakePipelineCache {
  readonly asked: string[] = [];
  constructor(private readonly known: string[]) {}

  async get(id: string): Promise<CachedPipeline | null> {
    this.asked.push(id);
    if (!this.known.includes(id)) return null;
    return { entity: { id, name: `pipeline ${id}` } as PipelineEntity, currentKey: Buffer.alloc(0), previousKey: null, previousKeyUntil: 0 };
  }
}

class AccountRoutes {
  list(): string {
    return 'list';
  }
  @AdminOnly()
  create(): string {
    return 'create';
  }
}

@PipelineRoute()
class PipelineRoutes {
  stats(): string {
    return 'stats';
  }
  @AdminOnly()
  replay(): string {
    return 'replay';
  }
}

class NamedParamRoutes {
  @PipelineRoute('pipelineId')
  read(): string {
    return 'read';
  }
}

const admin: Principal = { kind: 'admin' };
const viewer: Principal = { kind: 'viewer', tokenId: 't1', pipelineIds: new Set([MINE]) };

type Request = { principal?: Principal; params: Record<string, string>; pipeline?: PipelineEntity };

describe(AccessGuard.name, () => {
  let cache: FakePipelineCache;
  let guard: AccessGuard;

  beforeEach(() => {
    cache = new FakePipelineCache([MINE, THEIRS]);
    guard = new AccessGuard(new Reflector(), cache);
  });

  function contextOf<T extends object>(controller: new () => T, handler: keyof T, request: Request) {
    return new ExecutionContextHost([request, {}], controller, controller.prototype[handler] as (...args: unknown[]) => unknown);
  }

  /** What the guard decided: true, or the status and code of the error it raised. */
  async function decide<T extends object>(controller: new () => T, handler: keyof T, request: Request) {
    try {
      return await guard.canActivate(contextOf(controller, handler, request));
    } catch (error) {
      if (error instanceof DashError) return { status: error.status, error: error.code };
      throw error;
    }
  }

  it('lets the admin through an @AdminOnly() route and refuses a viewer with 403 forbidden', async () => {
    expect(await decide(AccountRoutes, 'create', { principal: admin, params: {} })).toBe(true);
    expect(await decide(AccountRoutes, 'create', { principal: viewer, params: {} })).toEqual({ status: 403, error: 'forbidden' });
  });

  it('lets a viewer through a route that declares nothing', async () => {
    expect(await decide(AccountRoutes, 'list', { principal: viewer, params: {} })).toBe(true);
    expect(cache.asked).toEqual([]);
  });

  it('refuses a request that AuthGuard did not authenticate with 401 unauthorized', async () => {
    expect(await decide(AccountRoutes, 'list', { params: {} })).toEqual({ status: 401, error: 'unauthorized' });
  });

  it('hands the handler the pipeline a viewer may read, whatever the case of its id', async () => {
    const request: Request = { principal: viewer, params: { id: MINE.toUpperCase() } };
    expect(await decide(PipelineRoutes, 'stats', request)).toBe(true);
    expect(request.pipeline?.id).toBe(MINE);
    expect(cache.asked).toEqual([MINE]);
  });

  it('answers 404 not_found to the admin for an unknown or malformed pipeline id', async () => {
    expect(await decide(PipelineRoutes, 'stats', { principal: admin, params: { id: UNKNOWN } })).toEqual({ status: 404, error: 'not_found' });
    expect(await decide(PipelineRoutes, 'stats', { principal: admin, params: { id: 'not-a-uuid' } })).toEqual({ status: 404, error: 'not_found' });
    const request: Request = { principal: admin, params: { id: THEIRS } };
    expect(await decide(PipelineRoutes, 'stats', request)).toBe(true);
    expect(request.pipeline?.id).toBe(THEIRS);
  });

  it('answers a viewer 403 forbidden alike for a pipeline it may not read and for an unknown one, without looking either up', async () => {
    expect(await decide(PipelineRoutes, 'stats', { principal: viewer, params: { id: THEIRS } })).toEqual({ status: 403, error: 'forbidden' });
    expect(await decide(PipelineRoutes, 'stats', { principal: viewer, params: { id: UNKNOWN } })).toEqual({ status: 403, error: 'forbidden' });
    expect(cache.asked).toEqual([]);
  });

  it('refuses a viewer an @AdminOnly() route of its own pipeline, before any lookup', async () => {
    expect(await decide(PipelineRoutes, 'replay', { principal: viewer, params: { id: MINE } })).toEqual({ status: 403, error: 'forbidden' });
    expect(cache.asked).toEqual([]);
    expect(await decide(PipelineRoutes, 'replay', { principal: admin, params: { id: MINE } })).toBe(true);
  });

  it('resolves the param the route names', async () => {
    const request: Request = { principal: viewer, params: { id: THEIRS, pipelineId: MINE } };
    expect(await decide(NamedParamRoutes, 'read', request)).toBe(true);
    expect(request.pipeline?.id).toBe(MINE);
    expect(await decide(NamedParamRoutes, 'read', { principal: viewer, params: { id: MINE } })).toEqual({ status: 403, error: 'forbidden' });
  });
});
