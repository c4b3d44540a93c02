import { ConfigError, loadConfig } from './config';

function failure(env: Record<string, string>, role: 'web' | 'ingestor' = 'web'): string | undefined {
  try {
    loadConfig(env, role);
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).variable;
  }
}

describe(loadConfig.name, () => {
  it('applies the contract defaults', () => {
    const config = loadConfig({}, 'web');
    expect(config).toMatchObject({
      role: 'web',
      port: 3000,
      databaseUrl: 'postgres://postgres@127.0.0.1:5432/dash',
      redisUrl: 'redis://127.0.0.1:6379',
      storageMode: 'auto',
      buffer: { maxItems: 1000, maxWaitMs: 1000, lingerMs: 25, partitions: 10 },
      ingest: { maxBacklog: 5000 },
      webhooks: { toleranceSeconds: 300, maxBytes: 1048576 },
      queues: { default: 10, pipelines: 20, mailers: 5 },
      ingestorNice: 0,
      region: 'local',
      outbound: { allowPrivate: false },
      smtpUrl: null,
      publicUrl: 'http://localhost:3000',
      alerts: { from: 'Dash <alerts@localhost>' },
      metrics: { port: null, host: '127.0.0.1' },
      log: { level: 'info' },
      adminTokenGenerated: true,
    });
    expect(config.adminToken).toMatch(/^dash_admin_/);
    expect(loadConfig({}, 'ingestor').role).toBe('ingestor');
  });

  it('reads every variable', () => {
    const config = loadConfig(
      {
        APP_ROLE: 'ingestor',
        PORT: '8080',
        DATABASE_URL: 'postgresql://u:p@db:5432/x',
        REDIS_URL: 'rediss://:secret@redis:6380',
        DASH_ADMIN_TOKEN: 'a-very-long-admin-token',
        STORAGE_MODE: 'native',
        BUFFER_MAX_ITEMS: '50',
        BUFFER_MAX_WAIT_MS: '20',
        BUFFER_LINGER_MS: '0',
        BUFFER_PARTITIONS: '3',
        INGEST_MAX_BACKLOG: '10',
        WEBHOOK_TOLERANCE_SECONDS: '60',
        WEBHOOK_MAX_BYTES: '2048',
        QUEUE_CONCURRENCY: 'pipelines=7',
        INGESTOR_NICE: '10',
        FLY_REGION: 'fra',
        OUTBOUND_ALLOW_PRIVATE: 'true',
        SMTP_URL: 'smtp://u:p@mail:25',
        DASH_PUBLIC_URL: 'https://dash.example.com/',
        ALERT_FROM: 'Ops <ops@example.com>',
        METRICS_PORT: '9091',
        METRICS_HOST: 'fly-local-6pn',
        LOG_LEVEL: 'debug',
        LOG_FORMAT: 'pretty',
      },
      'web',
    );
    expect(config).toMatchObject({
      role: 'ingestor',
      port: 8080,
      redisUrl: 'rediss://:secret@redis:6380',
      adminToken: 'a-very-long-admin-token',
      adminTokenGenerated: false,
      buffer: { maxItems: 50, maxWaitMs: 20, lingerMs: 0, partitions: 3 },
      queues: { default: 10, pipelines: 7, mailers: 5 },
      ingestorNice: 10,
      outbound: { allowPrivate: true },
      smtpUrl: 'smtp://u:p@mail:25',
      publicUrl: 'https://dash.example.com',
      alerts: { from: 'Ops <ops@example.com>' },
      metrics: { port: 9091, host: 'fly-local-6pn' },
      log: { level: 'debug', format: 'pretty' },
    });
  });

  it('keeps POLL_ALLOW_PRIVATE working as the older name of OUTBOUND_ALLOW_PRIVATE', () => {
    expect(loadConfig({ POLL_ALLOW_PRIVATE: 'true' }, 'ingestor').outbound.allowPrivate).toBe(true);
    expect(loadConfig({ POLL_ALLOW_PRIVATE: 'true', OUTBOUND_ALLOW_PRIVATE: 'false' }, 'ingestor').outbound.allowPrivate).toBe(false);
  });

  it.each([
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ APP_ROLE: 'worker' }, 'APP_ROLE'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
    [{ REDIS_URL: 'not a url' }, 'REDIS_URL'],
    [{ STORAGE_MODE: 'mongo' }, 'STORAGE_MODE'],
    [{ BUFFER_MAX_ITEMS: '0' }, 'BUFFER_MAX_ITEMS'],
    [{ BUFFER_MAX_WAIT_MS: '-1' }, 'BUFFER_MAX_WAIT_MS'],
    [{ QUEUE_CONCURRENCY: 'pipelines=many' }, 'QUEUE_CONCURRENCY'],
    [{ INGESTOR_NICE: '20' }, 'INGESTOR_NICE'],
    [{ INGESTOR_NICE: '-5' }, 'INGESTOR_NICE'],
    [{ QUEUE_CONCURRENCY: 'reports=3' }, 'QUEUE_CONCURRENCY'],
    [{ POLL_ALLOW_PRIVATE: 'yes' }, 'POLL_ALLOW_PRIVATE'],
    [{ OUTBOUND_ALLOW_PRIVATE: 'yes' }, 'OUTBOUND_ALLOW_PRIVATE'],
    [{ METRICS_PORT: '0' }, 'METRICS_PORT'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ LOG_FORMAT: 'xml' }, 'LOG_FORMAT'],
    [{ DASH_PUBLIC_URL: 'ftp://x' }, 'DASH_PUBLIC_URL'],
    [{ DASH_ADMIN_TOKEN: 'short' }, 'DASH_ADMIN_TOKEN'],
    [{ NODE_ENV: 'production' }, 'DASH_ADMIN_TOKEN'],
  ])('stops on %p naming %s', (env, variable) => {
    expect(failure(env)).toBe(variable);
  });

  it('migrates at boot unless NODE_ENV=production, and DASH_MIGRATE says otherwise', () => {
    expect(loadConfig({}, 'web').migrate).toBe('boot');
    const token = { DASH_ADMIN_TOKEN: 'a-token-of-sixteen-chars' };
    expect(loadConfig({ ...token, NODE_ENV: 'production' }, 'web').migrate).toBe('off');
    expect(loadConfig({ ...token, NODE_ENV: 'production', DASH_MIGRATE: 'boot' }, 'web').migrate).toBe('boot');
    expect(loadConfig({ DASH_MIGRATE: 'off' }, 'ingestor').migrate).toBe('off');
    expect(failure({ DASH_MIGRATE: 'always' })).toBe('DASH_MIGRATE');
  });

  it('reads the Redis topology: one server by default, a cluster or a Sentinel set when named', () => {
    expect(loadConfig({}, 'web')).toMatchObject({ redis: { topology: 'single', url: 'redis://127.0.0.1:6379', ackReplicas: 0 }, queues: { partitions: 16 } });
    expect(loadConfig({ REDIS_CLUSTER_NODES: 'redis://:pw@10.0.0.1:7000, rediss://u:p%40ss@node-2:7001', REDIS_ACK_REPLICAS: '1', QUEUE_PARTITIONS: '4' }, 'web')).toMatchObject({
      redis: {
        topology: 'cluster',
        ackReplicas: 1,
        nodes: [
          { host: '10.0.0.1', port: 7000, password: 'pw', tls: false },
          { host: 'node-2', port: 7001, username: 'u', password: 'p@ss', tls: true },
        ],
      },
      queues: { partitions: 4 },
    });
    expect(loadConfig({ REDIS_SENTINELS: 'redis://s1:26379,redis://s2', REDIS_SENTINEL_MASTER: 'mymaster' }, 'ingestor').redis).toMatchObject({
      topology: 'sentinel',
      masterName: 'mymaster',
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 6379 },
      ],
    });
  });

  it.each([
    [{ REDIS_CLUSTER_NODES: 'http://x:7000' }, 'REDIS_CLUSTER_NODES'],
    [{ REDIS_CLUSTER_NODES: ' , ' }, 'REDIS_CLUSTER_NODES'],
    [{ REDIS_CLUSTER_NODES: 'redis://x:7000/2' }, 'REDIS_CLUSTER_NODES'],
    [{ REDIS_CLUSTER_NODES: 'redis://x:7000', REDIS_SENTINELS: 'redis://s:26379', REDIS_SENTINEL_MASTER: 'm' }, 'REDIS_CLUSTER_NODES'],
    [{ REDIS_SENTINELS: 'redis://s:26379' }, 'REDIS_SENTINEL_MASTER'],
    [{ REDIS_SENTINEL_MASTER: 'mymaster' }, 'REDIS_SENTINELS'],
    [{ REDIS_SENTINELS: 'not a url', REDIS_SENTINEL_MASTER: 'm' }, 'REDIS_SENTINELS'],
    [{ REDIS_ACK_REPLICAS: '-1' }, 'REDIS_ACK_REPLICAS'],
    [{ QUEUE_PARTITIONS: '0' }, 'QUEUE_PARTITIONS'],
  ])('stops on the Redis topology %p naming %s', (env, variable) => {
    expect(failure(env)).toBe(variable);
  });

  it('never prints a password from a Redis URL it refuses', () => {
    expect(() => loadConfig({ REDIS_CLUSTER_NODES: 'redis://:hunter2@x:7000,http://:hunter2@y' }, 'web')).toThrow(/REDIS_CLUSTER_NODES/);
    expect(() => loadConfig({ REDIS_CLUSTER_NODES: 'redis://:hunter2@x:7000,http://:hunter2@y' }, 'web')).not.toThrow(/hunter2/);
  });

  it('says what is wrong in the message', () => {
    expect(() => loadConfig({ PORT: 'eighty' }, 'web')).toThrow(/PORT .*whole number.*"eighty"/);
  });
});
