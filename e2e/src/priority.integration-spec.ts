import { getPriority } from 'node:os';
import { testEnv } from './support/harness';
import { killAll, spawnIngestor, spawnWeb, type Proc } from './support/processes';

/**
 * On a host shared with the web app, the ingestor's background work yields the CPU to intake and
 * dashboards: it lowers its own priority to INGESTOR_NICE (default 5), never raising it.
 */
describe('CPU priority of the built apps', () => {
  const env = testEnv('priority');
  const procs: Proc[] = [];
  const own = getPriority();

  afterAll(async () => {
    await killAll(procs);
    await env.cleanup();
  });

  it('runs the ingestor at nice 5 by default, and the web app at the priority it was started with', async () => {
    const ingestor = await spawnIngestor(env.env);
    procs.push(ingestor);
    const web = await spawnWeb(env.env);
    procs.push(web);
    expect(getPriority(ingestor.pid)).toBe(Math.max(5, own));
    expect(getPriority(web.pid)).toBe(own);
    expect(ingestor.lines.join('\n')).toMatch(/running \(.*nice \d+\)/);
  });

  it('leaves the ingestor at the priority it was started with when INGESTOR_NICE is 0', async () => {
    const ingestor = await spawnIngestor({ ...env.env, INGESTOR_NICE: '0' }, 'ingestor-nice-0');
    procs.push(ingestor);
    expect(getPriority(ingestor.pid)).toBe(own);
  });
});
