import { getPriority } from 'node:os';
import { testEnv } from './support/harness';
import { killAll, spawnIngestor, spawnWeb, type Proc } from './support/processes';

/**
 * INGESTOR_NICE: an ingestor that shares its host with the web app may yield the CPU to intake,
 * by lowering its own priority (never raising it). Off by default.
 */
describe('CPU priority of the built apps', () => {
  const env = testEnv('priority');
  const procs: Proc[] = [];
  const own = getPriority();

  afterAll(async () => {
    await killAll(procs);
    await env.cleanup();
  });

  it('runs both apps at the priority they were started with by default', async () => {
    const ingestor = await spawnIngestor(env.env);
    procs.push(ingestor);
    const web = await spawnWeb(env.env);
    procs.push(web);
    expect(getPriority(ingestor.pid)).toBe(own);
    expect(getPriority(web.pid)).toBe(own);
  });

  it('lowers the ingestor to INGESTOR_NICE, and says so when it starts', async () => {
    const ingestor = await spawnIngestor({ ...env.env, INGESTOR_NICE: '10' }, 'ingestor-nice-10');
    procs.push(ingestor);
    const expected = Math.max(10, own);
    expect(getPriority(ingestor.pid)).toBe(expected);
    expect(ingestor.lines.join('\n')).toContain(`nice ${expected})`);
  });
});
