import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { APPS, nodeArgs, nodeFlags } from '../../../scripts/launch';
import { PG_ADMIN_URL, testEnv } from '../support/harness';
import { killAll, Proc, spawnApp, spawnWeb, type WebProc } from '../support/processes';
import { parseToml, type TomlTable } from '../support/toml';

const ROOT = resolve(__dirname, '../../..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
const table = (value: unknown) => value as TomlTable;

describe('deploy: the fly tomls, the image and compose hold what docs/deploy.md says', () => {
  const web = parseToml(read('fly.web.toml'));
  const ingestor = parseToml(read('fly.ingestor.toml'));
  const docs = read('docs/deploy.md');

  it('the web app migrates once per release and nodes do not migrate at boot', () => {
    expect(table(web.deploy).release_command).toBe('node scripts/launch.js migrate');
    for (const app of [web, ingestor]) expect(table(app.env)).toMatchObject({ NODE_ENV: 'production', DASH_MIGRATE: 'off' });
    expect(ingestor.deploy && table(ingestor.deploy).release_command).toBeUndefined();
    expect(docs).toContain('release_command = "node scripts/launch.js migrate"');
    expect(docs).toContain('DASH_MIGRATE');
  });

  it('both apps start through the launcher and export metrics on the private network', () => {
    expect(table(web.processes).app).toBe('node scripts/launch.js web');
    expect(table(ingestor.processes).app).toBe('node scripts/launch.js ingestor');
    for (const app of [web, ingestor]) {
      const env = table(app.env);
      expect(env.METRICS_HOST).toBe('fly-local-6pn');
      expect(table(app.metrics)).toMatchObject({ port: Number(env.METRICS_PORT), path: '/metrics' });
    }
    expect(docs).toContain('METRICS_HOST=fly-local-6pn');
  });

  it('the ingestor has no service, runs on performance CPUs and is health-checked on its metrics port', () => {
    expect(ingestor.http_service).toBeUndefined();
    expect(ingestor.services).toBeUndefined();
    const vm = (ingestor.vm as TomlTable[])[0];
    expect(vm.cpu_kind).toBe('performance');
    const health = table(table(ingestor.checks).health);
    expect(health).toMatchObject({ type: 'http', port: Number(table(ingestor.env).METRICS_PORT), path: '/health' });
    expect(docs).toContain('cpu_kind = "performance"');
    expect(docs).toMatch(/fly ips list -c fly\.ingestor\.toml/);
  });

  it('both apps link alerts to the public web app, and the guide says so', () => {
    const publicUrl = table(web.env).DASH_PUBLIC_URL;
    expect(publicUrl).toBe(`https://${String(web.app)}.fly.dev`);
    // The ingestor writes the links: the web app's address, not its own (private) one.
    expect(table(ingestor.env).DASH_PUBLIC_URL).toBe(publicUrl);
    expect(docs).toContain('DASH_PUBLIC_URL');
    // SMTP_URL: a secret on both apps (the web app validates e-mail channels, the ingestor sends).
    expect(docs).toMatch(/fly secrets set -c \$app [^\n]*\\\n[^\n]*SMTP_URL=/);
    expect(docs).toContain('for app in fly.web.toml fly.ingestor.toml');
  });

  it('the web app throttles failed authentications by the address Fly\'s proxy reports, and the guide says why', () => {
    expect(table(web.env).CLIENT_IP_HEADER).toBe('Fly-Client-IP');
    expect(docs).toContain('CLIENT_IP_HEADER = "Fly-Client-IP"');
    for (const setting of ['API_READS_PER_SECOND', 'READ_TIMEOUT_MS']) expect(docs).toContain(`| \`${setting}\` |`);
  });

  it('token recipes are hex, which a ?token= link carries as is', () => {
    for (const file of ['docs/deploy.md', 'docker-compose.yml', 'fly.redis.toml', 'README.md']) {
      const text = read(file);
      expect({ file, base64: /openssl rand -base64/.test(text) }).toEqual({ file, base64: false });
    }
    expect(docs).toContain('DASH_ADMIN_TOKEN=$(openssl rand -hex 32)');
  });

  it('one image: built once under the web app, deployed by tag to both apps', () => {
    const image = `registry.fly.io/${String(web.app)}:$LABEL`;
    expect(docs).toContain('fly deploy -c fly.web.toml --build-only --push --image-label "$LABEL"');
    expect(docs).toContain(`IMAGE="${image}"`);
    expect(docs).toContain('fly deploy -c fly.web.toml --image "$IMAGE"');
    expect(docs).toContain('fly deploy -c fly.ingestor.toml --image "$IMAGE"');
  });

  it('the self-run Redis is private, persistent, never evicts and takes its password from a secret', () => {
    const redis = parseToml(read('fly.redis.toml'));
    expect(redis.http_service).toBeUndefined();
    expect(redis.services).toBeUndefined();
    const command = String(table(redis.processes).app);
    for (const setting of ['--appendonly yes', '--appendfsync everysec', '--maxmemory-policy noeviction', '--requirepass "$REDIS_PASSWORD"']) expect(command).toContain(setting);
    const mount = (redis.mounts as TomlTable[])[0];
    expect(command).toContain(`--dir ${String(mount.destination)}`);
    expect(docs).toContain(`fly volumes create ${String(mount.source)} `);
    expect(docs).toContain('fly secrets set -c fly.redis.toml REDIS_PASSWORD=');
    expect(docs).toContain(`@${String(redis.app)}.internal:6379`);
  });

  it('the web app is routed by /health', () => {
    const service = table(web.http_service);
    expect(service.internal_port).toBe(Number(table(web.env).PORT));
    expect((service.checks as TomlTable[])[0]).toMatchObject({ path: '/health', method: 'GET' });
  });

  it('one image on a supported Node LTS, with a HEALTHCHECK, starting apps through the launcher', () => {
    const dockerfile = read('Dockerfile');
    const bases = [...dockerfile.matchAll(/^FROM node:(\d+)-/gm)].map((m) => Number(m[1]));
    expect(bases.length).toBeGreaterThan(0);
    for (const major of bases) expect([22, 24]).toContain(major);
    expect(dockerfile).toMatch(/^HEALTHCHECK /m);
    expect(dockerfile).toContain('CMD ["node", "scripts/launch.js", "web"]');
    expect(dockerfile).toContain('COPY --from=build /app/scripts/launch.js ./scripts/launch.js');
  });

  it('compose gives every long-running service a healthcheck and a restart policy', () => {
    const compose = read('docker-compose.yml');
    const services = compose.split(/^services:\n/m)[1].split(/^volumes:/m)[0];
    const blocks = services.split(/^ {2}(?=[a-z][\w-]*:\n)/m).filter((b) => b.trim());
    const byName = Object.fromEntries(blocks.map((b) => [b.slice(0, b.indexOf(':')), b]));
    expect(Object.keys(byName).sort()).toEqual(['ingestor', 'migrate', 'redis', 'timescaledb', 'web']);
    for (const name of ['timescaledb', 'redis', 'web', 'ingestor']) {
      expect({ name, healthcheck: byName[name].includes('healthcheck:') }).toEqual({ name, healthcheck: true });
      expect({ name, restart: /restart: unless-stopped/.test(byName[name]) }).toEqual({ name, restart: true });
    }
    // PostgreSQL and Redis alone, for npm start, on their default ports.
    expect(byName.timescaledb).toContain('127.0.0.1:${POSTGRES_PORT:-5432}:5432');
    expect(byName.redis).toContain('127.0.0.1:${REDIS_PORT:-6379}:6379');
    expect(read('README.md')).toContain('docker compose up -d timescaledb redis');
  });
});

describe('deploy: one launcher holds the node flags of each app', () => {
  it('is the only place the flags are written', () => {
    const files = execFileSync('git', ['ls-files'], { cwd: ROOT, encoding: 'utf8' })
      .split('\n')
      .filter((f) => f && !f.startsWith('docs/') && f !== 'scripts/launch.js' && f !== 'e2e/src/ops/deploy.integration-spec.ts' && !f.endsWith('.png'));
    const offenders = files.filter((file) => /--max-semi-space-size|node --enable-source-maps/.test(read(file)));
    expect(offenders).toEqual([]);
    expect(nodeFlags('ingestor')).toContain('--max-semi-space-size=4');
    expect(nodeArgs('web').at(-1)).toBe(join(ROOT, APPS.web.main));
  });

  it('refuses an unknown app', async () => {
    const child = spawn(process.execPath, [join(ROOT, 'scripts/launch.js'), 'nonsense'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const proc = new Proc('launch', child);
    expect(await proc.waitForExit(15_000)).toEqual({ code: 2, signal: null });
    expect(proc.lines.join('\n')).toContain('usage: node scripts/launch.js <web|ingestor|migrate>');
  });
});

describe('deploy: the migrate entry point and DASH_MIGRATE=off', () => {
  const env = testEnv('migrateoff');
  const procs: Proc[] = [];

  beforeAll(async () => {
    // An empty database, as a new deployment's is before its first release.
    const admin = new Client({ connectionString: PG_ADMIN_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${env.name}"`);
    await admin.end();
  });

  afterAll(async () => {
    await killAll(procs);
    await env.cleanup();
  });

  const runMigrate = async () => {
    const child = spawn(process.execPath, [join(ROOT, 'scripts/launch.js'), 'migrate'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', TZ: 'UTC', ...env.env, NODE_ENV: 'production', LOG_FORMAT: 'json' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const proc = new Proc('migrate', child);
    procs.push(proc);
    const exit = await proc.waitForExit(60_000);
    return { exit, lines: proc.lines.filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>) };
  };

  it('a node with DASH_MIGRATE=off refuses a schema behind its code, naming the fix', async () => {
    const node = spawnApp('web', { ...env.env, DASH_MIGRATE: 'off', PORT: '0' }, 'web-unmigrated');
    procs.push(node);
    const exit = await node.waitForExit(60_000);
    expect(exit.code).not.toBe(0);
    // Said as a JSON log line, like everything the process writes.
    const refusal = node.lines.filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>).find((line) => String(line.msg).includes('the database schema is behind this release'));
    expect(refusal).toMatchObject({ level: 'error', role: 'web', msg: expect.stringContaining('run the migrate entry point first') });
  });

  it('migrates once, then finds nothing to do, and a node with DASH_MIGRATE=off starts', async () => {
    const first = await runMigrate();
    expect(first.exit).toEqual({ code: 0, signal: null });
    const applied = first.lines.find((l) => Array.isArray(l.applied));
    expect((applied?.applied as string[]).length).toBeGreaterThanOrEqual(3);
    const second = await runMigrate();
    expect(second.exit).toEqual({ code: 0, signal: null });
    expect(second.lines.find((l) => Array.isArray(l.applied))).toMatchObject({ applied: [], msg: 'the database schema is up to date' });
    const node: WebProc = await spawnWeb({ ...env.env, DASH_MIGRATE: 'off' }, 'web-migrated');
    procs.push(node);
    expect((await fetch(`${node.url}/ready`)).status).toBe(200);
  });
});
