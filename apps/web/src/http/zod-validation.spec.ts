import { DashError } from '@dash/domain';
import { FAILURE_ROUTES } from '../failures/failures.api';
import { failuresQuerySchema } from '../failures/failures.schemas';
import { buildOpenApi } from '../openapi/openapi';
import { PIPELINE_ROUTES } from '../pipelines/pipelines.api';
import { createPipelineSchema, createTokenSchema } from '../pipelines/pipelines.schemas';
import { READING_ROUTES } from '../reading/reading.api';
import { eventsQuerySchema } from '../reading/reading.schemas';
import { SERIES_ROUTES } from '../series/series.api';
import { parseSeriesQuery, seriesQuerySchema } from '../series/series.params';
import { TOKEN_ROUTES } from '../tokens/tokens.api';
import { ZodValidationPipe } from './zod-validation';

/** The pipe's answer: the parsed value, or the status, code and message of its error. */
function run(pipe: { transform(value: unknown): unknown }, value: unknown) {
  try {
    return { value: pipe.transform(value) };
  } catch (error) {
    if (error instanceof DashError) return { status: error.status, error: error.code, message: error.message };
    throw error;
  }
}

describe(ZodValidationPipe.name, () => {
  describe('a JSON body', () => {
    const pipe = new ZodValidationPipe(createPipelineSchema);

    it('answers the parsed body', () => {
      expect(pipe.transform({ name: '  orders ', source: { type: 'webhook' } })).toEqual({ name: 'orders', source: { type: 'webhook' } });
    });

    it.each([
      ['an empty name', { name: '', source: { type: 'webhook' } }, 'name'],
      ['an unknown key', { name: 'x', source: { type: 'webhook' }, extra: 1 }, 'extra'],
      ['a poll source with an ftp URL', { name: 'x', source: { type: 'poll', url: 'ftp://x', intervalSeconds: 60 } }, 'source.url'],
      ['no body at all', undefined, 'name'],
      ['a JSON array', [1, 2], 'expected object'],
    ])('refuses %s with 400 invalid_request naming the problem', (_name, body, words) => {
      const answer = run(pipe, body);
      expect(answer).toMatchObject({ status: 400, error: 'invalid_request' });
      expect((answer as { message: string }).message).toContain(words);
    });
  });

  describe('the events query', () => {
    const pipe = new ZodValidationPipe(eventsQuerySchema);

    it('answers the defaults for an empty query, numbers as numbers', () => {
      expect(pipe.transform({})).toEqual({ limit: 50 });
      expect(pipe.transform({ limit: '500', before: 'abc', type: 'order.paid', eventId: 'evt_1', other: 'ignored' })).toEqual({ limit: 500, before: 'abc', type: 'order.paid', eventId: 'evt_1' });
    });

    it.each([
      [{ limit: '0' }, 'limit'],
      [{ limit: '501' }, 'limit'],
      [{ limit: '1e2' }, 'limit'],
      [{ limit: '99999999999999999999' }, 'limit'],
      [{ limit: ['1', '2'] }, 'limit'],
      [{ eventId: '' }, 'eventId'],
      [{ type: 'x'.repeat(501) }, 'type'],
      [{ before: ['a', 'b'] }, 'before'],
    ])('refuses case %# with 400 invalid_request', (query, words) => {
      const answer = run(pipe, query);
      expect(answer).toMatchObject({ status: 400, error: 'invalid_request' });
      expect((answer as { message: string }).message).toContain(words);
    });
  });

  it('bounds the failures limit from 1 to 1000, 100 by default', () => {
    const pipe = new ZodValidationPipe(failuresQuerySchema);
    expect(pipe.transform(undefined)).toEqual({ limit: 100 });
    expect(pipe.transform({ limit: '1000' })).toEqual({ limit: 1000 });
    expect(run(pipe, { limit: '1001' })).toMatchObject({ status: 400, error: 'invalid_request' });
  });

  describe('the series query', () => {
    const pipe = new ZodValidationPipe(seriesQuerySchema);

    it('answers the range aligned to the bucket, as dates', () => {
      expect(pipe.transform({ bucket: '1h', from: '2025-03-10T10:30:00Z', to: '2025-03-10T13:00:00Z' })).toEqual({
        bucket: '1h',
        from: new Date('2025-03-10T10:00:00Z'),
        to: new Date('2025-03-10T13:00:00Z'),
        type: undefined,
      });
    });

    it('covers the last hour by minutes when nothing is asked', () => {
      const now = Date.parse('2025-03-10T12:00:30Z');
      expect(parseSeriesQuery({}, now)).toEqual({ bucket: '1m', from: new Date('2025-03-10T11:00:00Z'), to: new Date(now), type: undefined });
    });

    it.each([
      [{ bucket: '2m' }, 'bucket'],
      [{ bucket: ['1m', '1h'] }, 'bucket'],
      [{ from: 'yesterday' }, 'from'],
      [{ to: '2025-13-45T99:00:00Z' }, 'to'],
      [{ from: '2025-03-10T11:00:00Z', to: '2025-03-10T10:00:00Z' }, 'from must be before to'],
      [{ bucket: '1m', from: '2025-03-01T00:00:00Z', to: '2025-03-10T00:00:00Z' }, 'at most 2 days'],
      [{ type: '' }, 'type'],
    ])('refuses %j with 400 invalid_request', (query, words) => {
      const answer = run(pipe, query);
      expect(answer).toMatchObject({ status: 400, error: 'invalid_request' });
      expect((answer as { message: string }).message).toContain(words);
    });
  });

  it('validates with the very schemas the route tables document', () => {
    const find = (routes: typeof READING_ROUTES, operationId: string) => routes.find((route) => route.operationId === operationId);
    expect(find(READING_ROUTES, 'listEvents')?.query).toBe(eventsQuerySchema);
    expect(find(FAILURE_ROUTES, 'listFailures')?.query).toBe(failuresQuerySchema);
    expect(find(SERIES_ROUTES, 'getSeries')?.query).toBe(seriesQuerySchema);
    expect(find(PIPELINE_ROUTES, 'createPipeline')?.body).toBe(createPipelineSchema);
    expect(find(TOKEN_ROUTES, 'createToken')?.body).toBe(createTokenSchema);
  });

  it('documents each field of a checked-across-fields query as a query parameter', () => {
    const document = buildOpenApi(SERIES_ROUTES, 'test') as { paths: Record<string, { get: { parameters: Array<{ name: string; in: string; required: boolean }> } }> };
    const parameters = document.paths['/api/pipelines/{id}/series'].get.parameters;
    expect(parameters.map(({ name, in: where, required }) => ({ name, where, required }))).toEqual([
      { name: 'id', where: 'path', required: true },
      { name: 'bucket', where: 'query', required: false },
      { name: 'from', where: 'query', required: false },
      { name: 'to', where: 'query', required: false },
      { name: 'type', where: 'query', required: false },
      { name: 'groupBy', where: 'query', required: false },
      { name: 'measure', where: 'query', required: false },
      { name: 'limit', where: 'query', required: false },
      { name: 'where', where: 'query', required: false },
    ]);
  });
});
