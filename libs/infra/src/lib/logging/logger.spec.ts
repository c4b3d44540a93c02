import pino from 'pino';
import { Writable } from 'node:stream';
import { LogSampler, loggableUrl, PinoNestLogger } from './logger';

function capture(): { logger: PinoNestLogger; lines: () => Array<Record<string, unknown>> } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  const instance = pino({ level: 'info', base: { role: 'web', node: 'web-1' }, formatters: { level: (label) => ({ level: label }) }, redact: { paths: ['authorization', '*.authorization', 'token', '*.token'], censor: '[redacted]' } }, stream);
  return { logger: new PinoNestLogger(instance), lines: () => chunks.join('').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>) };
}

describe(loggableUrl.name, () => {
  it('redacts token query values and keeps the rest', () => {
    expect(loggableUrl('/pipelines/p1?token=dash_vt_secret&x=1')).toBe('/pipelines/p1?token=[redacted]&x=1');
    expect(loggableUrl('/?a=1&TOKEN=abc')).toBe('/?a=1&TOKEN=[redacted]');
    expect(loggableUrl('/api/pipelines')).toBe('/api/pipelines');
  });

  it('redacts by the decoded name, whatever its case or encoding', () => {
    for (const name of ['%74oken', '%54%4F%4B%45%4E', 'to%6Ben', '%2574oken', 'token%00', 'token[]', 'to+ken', 'Access_Token', 'signing%5Fsecret', 'x-api-key'.replace('x-', 'apikey')]) {
      expect({ name, url: loggableUrl(`/pipelines/p1?a=1&${name}=dash_admin_secret&b=2`) }).toEqual({ name, url: `/pipelines/p1?a=1&${name}=[redacted]&b=2` });
    }
    expect(loggableUrl('/?token')).toBe('/?token=[redacted]');
    expect(loggableUrl('/?tok%zzen=1&%E0%A4%A=2')).toBe('/?tok%zzen=1&%E0%A4%A=2');
    expect(loggableUrl('/?type=order&where=data.id%3D1')).toBe('/?type=order&where=data.id%3D1');
  });
});

describe(PinoNestLogger.name, () => {
  it("maps Nest's levels and context, and quiets Nest's start-up chatter to debug", () => {
    const { logger, lines } = capture();
    logger.log('hello', 'Web');
    logger.warn('careful');
    logger.error('broke', 'Error: broke\n    at x', 'Http');
    logger.log('Mapped {/api, GET} route', 'RouterExplorer');
    logger.debug('not at info');
    expect(lines()).toEqual([
      expect.objectContaining({ level: 'info', msg: 'hello', context: 'Web', role: 'web', node: 'web-1' }),
      expect.objectContaining({ level: 'warn', msg: 'careful' }),
      expect.objectContaining({ level: 'error', msg: 'broke', context: 'Http', stack: 'Error: broke\n    at x' }),
    ]);
  });

  it('writes an object message as fields, with secrets redacted', () => {
    const { logger, lines } = capture();
    logger.log({ msg: 'request', status: 200, token: 'dash_vt_secret', headers: { authorization: 'Bearer x' } });
    expect(lines()[0]).toMatchObject({ msg: 'request', status: 200, token: '[redacted]', headers: { authorization: '[redacted]' } });
  });
});

describe(LogSampler.name, () => {
  it('lets N lines a second through and counts the rest for the next one', () => {
    const sampler = new LogSampler(2);
    expect([sampler.take(1000), sampler.take(1100), sampler.take(1200), sampler.take(1300)]).toEqual([0, 0, null, null]);
    expect(sampler.take(2100)).toBe(2);
    expect(sampler.take(2200)).toBe(0);
  });
});
