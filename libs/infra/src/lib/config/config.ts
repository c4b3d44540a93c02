import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { z } from 'zod';

export type AppRole = 'web' | 'ingestor';
export type StorageMode = 'auto' | 'timescale' | 'native';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

/** The environment, validated once at boot. Nothing else reads `process.env`. */
export interface DashConfig {
  role: AppRole;
  production: boolean;
  port: number;
  databaseUrl: string;
  /** `REDIS_URL`: the one Redis of the 'single' topology (the other topologies ignore it). */
  redisUrl: string;
  /** Which Redis topology every client follows, and how many replicas a 202 waits for. */
  redis: RedisConfig;
  /** Prefix of every Redis key and channel Dash owns, so that deployments (and test suites) can share a server. */
  keyPrefix: string;
  adminToken: string;
  /** True when no DASH_ADMIN_TOKEN was given and one was generated for this development run. */
  adminTokenGenerated: boolean;
  storageMode: StorageMode;
  buffer: { maxItems: number; maxWaitMs: number; lingerMs: number; partitions: number };
  ingest: { maxBacklog: number };
  /** Web only: a statement on the read pool running longer is cancelled by PostgreSQL (answered 503). */
  readTimeoutMs: number;
  /** Web only: API reads (GET) one token may make a second on one node (burst as large). */
  readsPerSecond: number;
  /** Web only: the request header holding the client's address (set by a trusted proxy, e.g. Fly-Client-IP); null: the socket's peer. */
  clientIpHeader: string | null;
  webhooks: { toleranceSeconds: number; maxBytes: number };
  /** Concurrency per queue; `partitions`: the ingest queue is split into this many queues (each in its own cluster slot), by pipeline id. */
  queues: { default: number; pipelines: number; mailers: number; partitions: number };
  /** The nice value an ingestor lowers its CPU priority to (0: unchanged); docs/performance.md has the trade-off. */
  ingestorNice: number;
  region: string;
  /** Poll sources and alert webhooks may reach non-public addresses (tests, private networks). */
  outbound: { allowPrivate: boolean };
  smtpUrl: string | null;
  /** The dashboard's address as users reach it (links in alert messages). */
  publicUrl: string;
  /** `retryBaseMs`: first retry delay of an alert notification; each next one doubles, with jitter. */
  alerts: { from: string; retryBaseMs: number };
  /** Where set, `/metrics`, `/health` and `/ready` are served on this port and host (the ingestor's only port). */
  metrics: { port: number | null; host: string };
  log: { level: LogLevel; format: 'json' | 'pretty' };
  /** `boot`: create and migrate the database at start (npm start, tests); `off`: a release step does it (`migrate` entry point) and a node refuses a schema behind it. */
  migrate: 'boot' | 'off';
  /** Raw events older than `eventDays` are dropped (0: kept forever); TimescaleDB compresses chunks older than `compressAfterDays` (0: off). The aggregates are kept. */
  retention: { eventDays: number; compressAfterDays: number };
  /** Ingestor: learn payload paths from a sample of the events (the field catalog); false: the catalog stays as it is. */
  fieldCatalog: boolean;
  /** Web only: a pipeline's followed live breakdowns are recomputed at most this often on a node (ms). */
  breakdownIntervalMs: number;
  /** Web only: a breakdown or grouped series filtered by `where` reads at most this many stored events, newest first. */
  filteredReadMaxEvents: number;
  /** Identifies this process in the cluster view. */
  nodeId: string;
}

/** One Redis server as a URL names it: host, port, credentials, TLS (`rediss://`), database. */
export interface RedisNode {
  host: string;
  port: number;
  username?: string;
  password?: string;
  tls: boolean;
  db?: number;
}

/** The Redis topology: one server (`REDIS_URL`), a Redis Cluster (`REDIS_CLUSTER_NODES`) or a master followed through Sentinel (`REDIS_SENTINELS`). */
export type RedisTopology =
  | { topology: 'single'; url: string }
  | { topology: 'cluster'; nodes: RedisNode[] }
  | { topology: 'sentinel'; sentinels: RedisNode[]; masterName: string };

export type RedisConfig = RedisTopology & {
  /** `REDIS_ACK_REPLICAS`: a webhook's 202 waits (WAIT) until this many replicas hold its jobs; 0: it does not wait. */
  ackReplicas: number;
};

export class ConfigError extends Error {
  constructor(readonly variable: string, detail: string) {
    super(`Invalid configuration: ${variable} ${detail}`);
    this.name = 'ConfigError';
  }
}

/** FILTERED_READ_MAX_EVENTS' default: the stored events a read filtered by `where` reads at most. */
export const FILTERED_READ_MAX_EVENTS_DEFAULT = 200_000;

const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.string().regex(/^\d+$/, 'must be a whole number').transform(Number).pipe(z.number().int().min(min).max(max));
const url = (protocols: string[]) =>
  z.string().refine((value) => {
    try {
      return protocols.includes(new URL(value).protocol);
    } catch {
      return false;
    }
  }, `must be a URL (${protocols.join(' or ')})`);
const bool = z.enum(['true', 'false', '1', '0']).transform((value) => value === 'true' || value === '1');

/** Each variable with its default and a one-line meaning (the README's table mirrors this). */
const schema = {
  APP_ROLE: z.enum(['web', 'ingestor']).describe('the node role'),
  NODE_ENV: z.string().default('development').describe('production requires DASH_ADMIN_TOKEN'),
  DATABASE_URL: url(['postgres:', 'postgresql:']).default('postgres://postgres@127.0.0.1:5432/dash').describe('PostgreSQL 15+'),
  REDIS_URL: url(['redis:', 'rediss:']).default('redis://127.0.0.1:6379').describe('Redis 6.2+ with maxmemory-policy noeviction'),
  REDIS_CLUSTER_NODES: z.string().optional().describe('comma-separated redis:// or rediss:// URLs of Redis Cluster seed nodes (credentials in the URLs); set, REDIS_URL is ignored'),
  REDIS_SENTINELS: z.string().optional().describe('comma-separated redis:// or rediss:// URLs of Sentinels (credentials in the URLs); with REDIS_SENTINEL_MASTER, REDIS_URL is ignored'),
  REDIS_SENTINEL_MASTER: z.string().regex(/^[\w.:-]{1,200}$/, 'must be the name Sentinel monitors the master by').optional().describe('the master\'s name as the Sentinels know it'),
  REDIS_ACK_REPLICAS: int(0, 16).default(0).describe('a webhook\'s 202 waits (Redis WAIT) until this many replicas hold its events; 503 with Retry-After on timeout'),
  QUEUE_PARTITIONS: int(1, 1024).default(16).describe('ingest queues a pipeline\'s events are spread over by pipeline id (each in its own cluster slot)'),
  PORT: int(0, 65535).default(3000).describe('web app HTTP port'),
  DASH_ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional().describe('full API access'),
  DASH_KEY_PREFIX: z.string().regex(/^[a-zA-Z0-9_-]{1,40}$/, 'must be 1 to 40 letters, digits, _ or -').default('dash').describe('prefix of Redis keys and channels'),
  STORAGE_MODE: z.enum(['auto', 'timescale', 'native']).default('auto').describe('event storage'),
  BUFFER_MAX_ITEMS: int(1, 100_000).default(1000).describe('flush a buffer at this many events'),
  BUFFER_MAX_WAIT_MS: int(1, 60_000).default(1000).describe('flush a buffer after this long'),
  BUFFER_LINGER_MS: int(0, 10_000).default(25).describe('under load, start a buffer\'s flushes at most this often (0: at once)'),
  BUFFER_PARTITIONS: int(1, 256).default(10).describe('buffers per ingestor, by pipeline'),
  INGEST_MAX_BACKLOG: int(1).default(5000).describe('events waiting for the database before webhooks get 429'),
  READ_TIMEOUT_MS: int(100, 600_000).default(5000).describe("web only: a read statement running longer is cancelled by PostgreSQL and answered 503 with Retry-After"),
  API_READS_PER_SECOND: int(1, 1_000_000).default(50).describe('web only: API reads (GET) a token may make a second, per web node, before 429 with Retry-After'),
  CLIENT_IP_HEADER: z
    .string()
    .regex(/^[A-Za-z0-9-]{1,64}$/, 'must be a header name')
    .optional()
    .describe('web only: the header a trusted proxy puts the client address in (Fly-Client-IP on Fly); unset: the connection\'s peer address'),
  WEBHOOK_TOLERANCE_SECONDS: int(1, 86_400).default(300).describe('allowed clock skew of webhook-timestamp'),
  WEBHOOK_MAX_BYTES: int(64, 64 * 1024 * 1024).default(1_048_576).describe('largest accepted body'),
  QUEUE_CONCURRENCY: z.string().default('default=10,pipelines=20,mailers=5').describe('queue concurrency on an ingestor'),
  INGESTOR_NICE: int(0, 19).default(0).describe('the nice value an ingestor lowers its CPU priority to (0: as started): on a host shared with the web app, more intake at the cost of freshness tails when the host is busy'),
  FLY_REGION: z.string().min(1).default('local').describe('region label'),
  OUTBOUND_ALLOW_PRIVATE: bool.optional().describe('let poll sources and alert webhooks reach loopback, private and other non-public addresses'),
  POLL_ALLOW_PRIVATE: bool.optional().describe('the older name of OUTBOUND_ALLOW_PRIVATE'),
  SMTP_URL: url(['smtp:', 'smtps:']).optional().describe('where alert e-mails go'),
  DASH_PUBLIC_URL: url(['http:', 'https:']).optional().describe('the dashboard address as users reach it (default http://localhost:$PORT)'),
  ALERT_FROM: z.string().min(3).default('Dash <alerts@localhost>').describe('sender of alert e-mails'),
  ALERT_RETRY_BASE_MS: int(10, 3_600_000).default(5000).describe('first retry delay of an alert notification, doubled each time with jitter (6 attempts: about 2.5 minutes at the default)'),
  METRICS_PORT: int(1, 65535).optional().describe('serve /metrics, /health and /ready on this port (the ingestor listens on nothing without it)'),
  METRICS_HOST: z.string().min(1).default('127.0.0.1').describe('the address METRICS_PORT binds to (fly-local-6pn on Fly)'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info').describe('the lowest level logged'),
  LOG_FORMAT: z.enum(['json', 'pretty']).optional().describe('json lines (default unless stdout is a terminal) or pretty'),
  DASH_MIGRATE: z.enum(['boot', 'off']).optional().describe('boot: create and migrate the database at start (default, except with NODE_ENV=production); off: the migrate entry point does it once per release'),
  // The per-minute aggregate re-reads the last 3 days of raw events on each refresh (TimescaleDB),
  // so a shorter retention would erase counts it already holds.
  EVENT_RETENTION_DAYS: int(0, 36_500)
    .refine((days) => days === 0 || days >= 4, 'must be 0 (keep forever) or at least 4')
    .default(0)
    .describe('drop raw events older than this many days (whole daily partitions or chunks); 0 keeps them forever; counts and series are kept'),
  FIELD_CATALOG: z.enum(['on', 'off']).default('on').describe("ingestor: off stops learning the field catalog from sampled payloads (the catalog keeps what it has)"),
  BREAKDOWN_INTERVAL_MS: int(0, 60_000).default(50).describe('web only: recompute a pipeline\'s followed live breakdowns at most this often per node (one rollup read per distinct breakdown each time)'),
  FILTERED_READ_MAX_EVENTS: int(1, 10_000_000).default(FILTERED_READ_MAX_EVENTS_DEFAULT).describe('web only: a breakdown or grouped series filtered by where reads the stored events themselves, newest first, at most this many; past them it answers partial: true with coveredFrom'),
  COMPRESS_AFTER_DAYS: int(0, 36_500).default(7).describe('TimescaleDB mode: compress event chunks older than this many days; 0 turns compression off'),
} as const;

/** A comma-separated list of redis:// / rediss:// URLs, each parsed into a node; throws naming the variable. */
function parseRedisNodes(variable: string, value: string): RedisNode[] {
  const parts = value.split(',').map((item) => item.trim()).filter(Boolean);
  if (parts.length === 0) throw new ConfigError(variable, 'must list at least one redis:// or rediss:// URL');
  return parts.map((part) => {
    let parsed: URL;
    try {
      parsed = new URL(part);
    } catch {
      throw new ConfigError(variable, `has "${redactUrl(part)}": expected a redis:// or rediss:// URL`);
    }
    if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') throw new ConfigError(variable, `has "${redactUrl(part)}": expected a redis:// or rediss:// URL`);
    if (!parsed.hostname) throw new ConfigError(variable, `has "${redactUrl(part)}": the URL names no host`);
    return redisNodeOf(parsed);
  });
}

/** A URL without its password, for messages. */
function redactUrl(value: string): string {
  return value.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}

/** The node a redis:// / rediss:// URL names. */
export function redisNodeOf(url: URL): RedisNode {
  const db = url.pathname.length > 1 ? Number(url.pathname.slice(1)) : undefined;
  return {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port ? Number(url.port) : 6379,
    username: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    tls: url.protocol === 'rediss:',
    db: Number.isInteger(db) ? db : undefined,
  };
}

function parseRedisTopology(v: { REDIS_URL: string; REDIS_CLUSTER_NODES?: string; REDIS_SENTINELS?: string; REDIS_SENTINEL_MASTER?: string }): RedisTopology {
  if (v.REDIS_CLUSTER_NODES !== undefined) {
    if (v.REDIS_SENTINELS !== undefined) throw new ConfigError('REDIS_CLUSTER_NODES', 'and REDIS_SENTINELS are both set: choose one topology');
    const nodes = parseRedisNodes('REDIS_CLUSTER_NODES', v.REDIS_CLUSTER_NODES);
    // A cluster has only database 0.
    if (nodes.some((node) => node.db !== undefined && node.db !== 0)) throw new ConfigError('REDIS_CLUSTER_NODES', 'names a database other than 0: Redis Cluster has only database 0');
    return { topology: 'cluster', nodes };
  }
  if (v.REDIS_SENTINELS !== undefined) {
    if (v.REDIS_SENTINEL_MASTER === undefined) throw new ConfigError('REDIS_SENTINEL_MASTER', 'is required with REDIS_SENTINELS (the name the Sentinels monitor the master by)');
    return { topology: 'sentinel', sentinels: parseRedisNodes('REDIS_SENTINELS', v.REDIS_SENTINELS), masterName: v.REDIS_SENTINEL_MASTER };
  }
  if (v.REDIS_SENTINEL_MASTER !== undefined) throw new ConfigError('REDIS_SENTINELS', 'is required with REDIS_SENTINEL_MASTER (the Sentinels to ask for that master)');
  return { topology: 'single', url: v.REDIS_URL };
}

function parseQueues(value: string, partitions: number): DashConfig['queues'] {
  const queues = { default: 10, pipelines: 20, mailers: 5, partitions };
  for (const part of value.split(',').map((item) => item.trim()).filter(Boolean)) {
    const match = /^(default|pipelines|mailers)=(\d{1,4})$/.exec(part);
    if (!match || Number(match[2]) < 1) throw new ConfigError('QUEUE_CONCURRENCY', `has "${part}": expected name=number with names default, pipelines, mailers`);
    queues[match[1] as 'default' | 'pipelines' | 'mailers'] = Number(match[2]);
  }
  return queues;
}

/** Parses the environment for one app role. Throws a ConfigError naming the first bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv, defaultRole: AppRole): DashConfig {
  const raw: Record<string, unknown> = {};
  for (const name of Object.keys(schema)) {
    const value = env[name];
    raw[name] = value === undefined || value === '' ? undefined : value;
  }
  raw.APP_ROLE ??= defaultRole;
  const values: Record<string, unknown> = {};
  for (const [name, type] of Object.entries(schema)) {
    const result = (type as z.ZodType).safeParse(raw[name]);
    if (!result.success) {
      throw new ConfigError(name, `${result.error.issues[0]?.message ?? 'is invalid'} (got ${JSON.stringify(raw[name])})`);
    }
    values[name] = result.data;
  }
  const v = values as { [K in keyof typeof schema]: z.output<(typeof schema)[K]> };
  const production = v.NODE_ENV === 'production';
  if (production && !v.DASH_ADMIN_TOKEN) throw new ConfigError('DASH_ADMIN_TOKEN', 'is required when NODE_ENV=production');

  return {
    role: v.APP_ROLE,
    production,
    port: v.PORT,
    databaseUrl: v.DATABASE_URL,
    redisUrl: v.REDIS_URL,
    redis: { ...parseRedisTopology(v), ackReplicas: v.REDIS_ACK_REPLICAS },
    keyPrefix: v.DASH_KEY_PREFIX,
    adminToken: v.DASH_ADMIN_TOKEN ?? `dash_admin_${randomBytes(24).toString('base64url')}`,
    adminTokenGenerated: !v.DASH_ADMIN_TOKEN,
    storageMode: v.STORAGE_MODE,
    buffer: { maxItems: v.BUFFER_MAX_ITEMS, maxWaitMs: v.BUFFER_MAX_WAIT_MS, lingerMs: v.BUFFER_LINGER_MS, partitions: v.BUFFER_PARTITIONS },
    ingest: { maxBacklog: v.INGEST_MAX_BACKLOG },
    readTimeoutMs: v.READ_TIMEOUT_MS,
    readsPerSecond: v.API_READS_PER_SECOND,
    clientIpHeader: v.CLIENT_IP_HEADER?.toLowerCase() ?? null,
    webhooks: { toleranceSeconds: v.WEBHOOK_TOLERANCE_SECONDS, maxBytes: v.WEBHOOK_MAX_BYTES },
    queues: parseQueues(v.QUEUE_CONCURRENCY, v.QUEUE_PARTITIONS),
    ingestorNice: v.INGESTOR_NICE,
    region: v.FLY_REGION,
    outbound: { allowPrivate: v.OUTBOUND_ALLOW_PRIVATE ?? v.POLL_ALLOW_PRIVATE ?? false },
    smtpUrl: v.SMTP_URL ?? null,
    publicUrl: (v.DASH_PUBLIC_URL ?? `http://localhost:${v.PORT}`).replace(/\/+$/, ''),
    alerts: { from: v.ALERT_FROM, retryBaseMs: v.ALERT_RETRY_BASE_MS },
    metrics: { port: v.METRICS_PORT ?? null, host: v.METRICS_HOST },
    log: { level: v.LOG_LEVEL, format: v.LOG_FORMAT ?? (process.stdout.isTTY ? 'pretty' : 'json') },
    migrate: v.DASH_MIGRATE ?? (production ? 'off' : 'boot'),
    retention: { eventDays: v.EVENT_RETENTION_DAYS, compressAfterDays: v.COMPRESS_AFTER_DAYS },
    fieldCatalog: v.FIELD_CATALOG === 'on',
    breakdownIntervalMs: v.BREAKDOWN_INTERVAL_MS,
    filteredReadMaxEvents: v.FILTERED_READ_MAX_EVENTS,
    nodeId: `${v.APP_ROLE}-${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`,
  };
}
