import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { testEnv } from './support/harness';
import { freePort } from './support/processes';

const ROOT = resolve(__dirname, '../..');
const SUPPLIED_TOKEN = 'supplied-admin-token-do-not-print-7f3a9c';

/**
 * A supplied secret never comes back out: `npm start` does not print a token it was given,
 * and no error answer echoes a URL's query string (where share links carry `?token=`).
 */
describe('secrets in output', () => {
  const env = testEnv('secrets', { DASH_ADMIN_TOKEN: SUPPLIED_TOKEN });
  let child: ChildProcess | null = null;
  let output = '';
  let base = '';

  beforeAll(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    // --no-build: the suites beside this one run dist/ (npm test built it); a rebuild would rewrite it under them.
    child = spawn(process.execPath, [join(ROOT, 'scripts/start.mjs'), '--no-build'], { cwd: ROOT, env: { ...process.env, ...env.env, PORT: String(port), LOG_FORMAT: 'pretty' }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const started = Date.now();
    while (!output.includes('Dash is running') && Date.now() - started < 110_000) {
      if (child.exitCode !== null) throw new Error(`npm start exited ${child.exitCode}:\n${output}`);
      await new Promise((done) => setTimeout(done, 200));
    }
    if (!output.includes('Dash is running')) throw new Error(`npm start did not come up:\n${output.slice(-3000)}`);
  }, 120_000);

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((done) => child?.once('exit', done));
      child.kill('SIGTERM');
      await exited;
    }
    await env.cleanup();
  }, 60_000);

  it('npm start says where a supplied admin token comes from and never prints it', async () => {
    expect(output).toContain('Dash is running');
    expect(output).toContain('DASH_ADMIN_TOKEN');
    expect(output).not.toContain(SUPPLIED_TOKEN);
    expect(output).not.toContain(encodeURIComponent(SUPPLIED_TOKEN));
    // The shell line refers to the variable instead of printing its value.
    expect(output).toContain(`DASH_TOKEN="$DASH_ADMIN_TOKEN"`);
    // And it is the token that works.
    const answer = await fetch(`${base}/api/pipelines`, { headers: { authorization: `Bearer ${SUPPLIED_TOKEN}` } });
    expect(answer.status).toBe(200);
  });

  it.each(['/nothing-here', '/api/nothing-here', '/pipelines/x/y', '/webhooks'])('answers 404 at %s without echoing the query string', async (path) => {
    const secret = 'dash_vt_secretvalue123';
    const answer = await fetch(`${base}${path}?token=${secret}&x=1#frag`);
    const text = await answer.text();
    expect(answer.status).toBe(404);
    expect(JSON.parse(text)).toMatchObject({ error: 'not_found' });
    expect(text).not.toContain(secret);
    expect(text).not.toContain('token=');
  });
});
