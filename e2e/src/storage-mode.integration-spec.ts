import { sendWebhook, testEnv, waitFor, Api, queryDb, type TestEnv } from './support/harness';
import { killAll, spawnApp, spawnStack, type Proc } from './support/processes';

/**
 * The built apps started as `npm start` starts them (no STORAGE_MODE: `auto`), on a server that has
 * TimescaleDB installed but not preloaded (the stock one: the shared script installs the extension
 * for every cluster of the machine). Auto on a server that preloads it: storage.integration-spec
 * and the core path on TimescaleDB.
 */
describe('storage mode at start, with the built apps', () => {
  const procs: Proc[] = [];
  const envs: TestEnv[] = [];

  afterAll(async () => {
    await killAll(procs);
    for (const env of envs) await env.cleanup();
  });

  /** The suite's environment without STORAGE_MODE, as `npm start` passes it. */
  function asNpmStart(env: TestEnv, more: Record<string, string> = {}): Record<string, string> {
    const { STORAGE_MODE: _mode, ...rest } = env.env;
    return { ...rest, ...more };
  }

  it('starts in native mode on a server with TimescaleDB installed but not preloaded, logging why and the fix', async () => {
    const env = testEnv('startnative');
    envs.push(env);
    const { ingestor, web, procs: started } = await spawnStack(asNpmStart(env));
    procs.push(...started);
    const why = [...ingestor.grep(/timescaledb/i), ...web.grep(/timescaledb/i)];
    // One of the two migrated the database; it said why it chose native partitions, and the fix.
    expect(why).toEqual([expect.stringMatching(/STORAGE_MODE=auto: using native partitions because timescaledb is installed but not preloaded.*shared_preload_libraries = 'timescaledb'/)]);
    expect(await queryDb(env, `SELECT value FROM dash_meta WHERE key = 'storage_mode'`)).toEqual([{ value: 'native' }]);

    const api = new Api(web.url);
    const pipeline = await api.createPipeline();
    expect((await sendWebhook(web.url, pipeline, { type: 'x' })).status).toBe(202);
    await waitFor(() => api.stats(pipeline.id), (stats) => stats.count === 1, 15_000, 'the event stored');
  });

  it('stops with the fix when STORAGE_MODE=timescale on that server, leaving no events table', async () => {
    const env = testEnv('starttsdbrefused');
    envs.push(env);
    const web = spawnApp('web', asNpmStart(env, { STORAGE_MODE: 'timescale', PORT: '0' }));
    procs.push(web);
    const exit = await web.waitForExit(60_000);
    expect(exit.code).not.toBe(0);
    expect(web.grep(/STORAGE_MODE=timescale cannot work: timescaledb is installed but not preloaded.*shared_preload_libraries/)).not.toEqual([]);
    expect(await queryDb(env, `SELECT to_regclass('events') AS events`)).toEqual([{ events: null }]);
  });
});
