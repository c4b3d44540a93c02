import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { testEnv } from '../support/harness';
import { freePort, killAll, Proc } from '../support/processes';

const ROOT = resolve(__dirname, '../../..');
const run = promisify(execFile);

/** The README's quick start section, and its code blocks of one language, in order. */
function quickStart(lang: string): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('\n## ', readme.indexOf('## Quick start') + 1));
  return [...section.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]);
}

/**
 * The README's quick start, pasted as a new user would: `npm start` prints a shell line, and the
 * signed-webhook block runs in bash after it. Sending a second message with `send` (which signs
 * anew) is accepted, where re-running a curl with only a new id used to get 401.
 */
describe('README quick start', () => {
  // No DASH_ADMIN_TOKEN: npm start generates one and prints it, as on a fresh clone.
  const env = testEnv('quickstart', { DASH_ADMIN_TOKEN: '' });
  const procs: Proc[] = [];
  let start: Proc;
  let port = 0;
  let shellLine = '';

  beforeAll(async () => {
    // Not 3000: the block must follow the printed URL, not a port written into the README.
    port = await freePort();
    // --no-build: the suites beside this one run dist/; a rebuild would rewrite it under them.
    const child = spawn(process.execPath, [join(ROOT, 'scripts/start.mjs'), '--no-build'], {
      cwd: ROOT,
      env: { ...process.env, ...env.env, PORT: String(port), LOG_FORMAT: 'json' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    start = new Proc('npm-start', child);
    procs.push(start);
    shellLine = (await start.waitForLine(/For a shell: /, 110_000)).split('For a shell: ')[1].trim();
  }, 120_000);

  afterAll(async () => {
    // SIGTERM, so npm start stops the web app and the ingestor it started (kill -9 would orphan them).
    start?.signal('SIGTERM');
    await start?.waitForExit(40_000).catch(() => undefined);
    await killAll(procs);
    await env.cleanup();
  }, 60_000);

  it('npm start prints an export line for the printed address and the generated token, once the ingestor runs', async () => {
    const token = /Admin token: (\S+)/.exec(start.lines.join('\n'))?.[1];
    expect(token).toMatch(/^dash_admin_[\w-]+$/);
    expect(shellLine).toBe(`export DASH=http://localhost:${port} DASH_TOKEN=${token}`);
    // The banner waited for the ingestor: it is in the cluster already, and no warning was printed.
    const cluster = (await (await fetch(`http://127.0.0.1:${port}/api/cluster`, { headers: { authorization: `Bearer ${token}` } })).json()) as { nodes: Array<{ role: string }> };
    expect(cluster.nodes.map((node) => node.role).sort()).toEqual(['ingestor', 'web']);
    expect(start.lines.some((line) => line.includes('has not reported in'))).toBe(false);
  });

  it('the signed-webhook block, pasted after it, creates a pipeline and sends; send signs each new message', async () => {
    const blocks = quickStart('bash');
    const block = blocks.find((b) => b.includes('send()'));
    expect(block).toBeDefined();
    // One variable for the address: no host or port written into the block.
    expect(block).not.toMatch(/localhost|127\.0\.0\.1|:3000/);
    const script = [shellLine, block, `send '{"type":"order.paid","amount":43}'`].join('\n');
    const { stdout } = await run('bash', ['-c', script], { cwd: tmpdir(), env: { PATH: process.env.PATH ?? '', HOME: tmpdir() }, timeout: 60_000 });
    const lines = stdout.trim().split('\n');
    expect(lines.filter((line) => line === '{"accepted":1}')).toHaveLength(2);
    const open = lines.find((line) => line.startsWith('open '))?.slice('open '.length) ?? '';
    const token = shellLine.split('DASH_TOKEN=')[1];
    const id = new RegExp(`^http://localhost:${port}/pipelines/([0-9a-f-]{36})\\?token=${token}$`).exec(open)?.[1];
    expect(id).toBeDefined();
    // The page it says to open is served.
    expect((await fetch(open)).status).toBe(200);
    // Both messages are stored (distinct ids, both signed): the count reaches 2.
    let count = 0;
    for (let tries = 0; tries < 100 && count < 2; tries++) {
      const stats = (await (await fetch(`http://127.0.0.1:${port}/api/pipelines/${id}/stats`, { headers: { authorization: `Bearer ${token}` } })).json()) as { count: number };
      count = stats.count;
      if (count < 2) await new Promise((done) => setTimeout(done, 100));
    }
    expect(count).toBe(2);
  });

  it('the Node.js example sends a signed webhook that is accepted', async () => {
    const token = shellLine.split('DASH_TOKEN=')[1];
    const dash = `http://127.0.0.1:${port}`;
    const created = (await (
      await fetch(`${dash}/api/pipelines`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'node-example', source: { type: 'webhook' } }),
      })
    ).json()) as { id: string; signingSecret: string };
    const example = quickStart('js')[0].replace('await fetch(', 'const answer = await fetch(');
    const program = `const pipelineId = ${JSON.stringify(created.id)}, signingSecret = ${JSON.stringify(created.signingSecret)};\n${example}\nconsole.log(answer.status, await answer.text());`;
    // Run from the repository, where `standardwebhooks` resolves.
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', program], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', DASH: dash }, timeout: 30_000 });
    expect(stdout.trim()).toBe('202 {"accepted":1}');
  });
});
