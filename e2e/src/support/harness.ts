import type { INestMicroservice } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { loadConfig, type DashConfig } from '@dash/infra';
import { dropTestDatabase, testAdminUrl, type TestServer } from '@dash/infra/testing';
import { Redis } from 'ioredis';
import { Client } from 'pg';
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { io, type Socket } from 'socket.io-client';
import { Webhook } from 'standardwebhooks';
import { SocketEvent, type ClientToServerEvents, type ServerToClientEvents } from '@dash/domain';
import { createIngestorApp } from '../../../apps/ingestor/src/app';
import { createWebApp } from '../../../apps/web/src/app';

export const PG_ADMIN_URL = testAdminUrl();
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const ADMIN_TOKEN = 'test-admin-token-0123456789';

/** A unique database and key prefix for one suite, and a way to clean both up. */
export interface TestEnv {
  name: string;
  env: Record<string, string>;
  config(role: 'web' | 'ingestor', overrides?: Record<string, string>): DashConfig;
  cleanup(): Promise<void>;
}

/**
 * On `server` (stock PostgreSQL by default; `timescaledb`: the TimescaleDB one, where Dash runs in
 * timescale mode) unless the overrides say otherwise.
 */
export function testEnv(label: string, overrides: Record<string, string> = {}, server: TestServer = 'postgres'): TestEnv {
  const name = `dash_t_${label.replace(/[^a-z0-9]/gi, '').toLowerCase().slice(0, 20)}_${randomBytes(4).toString('hex')}`;
  const databaseUrl = new URL(testAdminUrl(server));
  databaseUrl.pathname = `/${name}`;
  const env: Record<string, string> = {
    DATABASE_URL: databaseUrl.toString(),
    REDIS_URL,
    DASH_KEY_PREFIX: name,
    DASH_ADMIN_TOKEN: ADMIN_TOKEN,
    STORAGE_MODE: server === 'timescaledb' ? 'timescale' : 'native',
    PORT: '0',
    ...overrides,
  };
  return {
    name,
    env,
    config: (role, more = {}) => loadConfig({ ...env, ...more }, role),
    cleanup: async () => {
      await dropTestDatabase(name, server);
      await deleteKeys(REDIS_URL, name);
    },
  };
}

/** Drops a suite's database (the shared helper of `@dash/infra`). */
export const dropDatabase = dropTestDatabase;

/** Deletes every Redis key under a prefix. */
export async function deleteKeys(redisUrl: string, prefix: string): Promise<void> {
  const redis = new Redis(redisUrl);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

export interface RunningWeb {
  app: NestFastifyApplication;
  url: string;
  close(): Promise<void>;
}

export async function startWeb(config: DashConfig): Promise<RunningWeb> {
  return startWebAt(config, 0);
}

/**
 * Closes a web app as a stopping process would end its connections: the app's own shutdown
 * runs, and connections a browser keeps open (keep-alive, a request in flight) are cut after
 * a short grace instead of holding the close until the client gives up.
 */
function closer(app: NestFastifyApplication): () => Promise<void> {
  let closing: Promise<void> | null = null;
  return () =>
    (closing ??= (async () => {
      const server = app.getHttpServer() as Server;
      const cut = setTimeout(() => server.closeAllConnections(), 500);
      try {
        await app.close();
      } finally {
        clearTimeout(cut);
      }
    })());
}

export async function startIngestor(config: DashConfig): Promise<INestMicroservice> {
  const app = await createIngestorApp(config, { logger: ['error'] });
  await app.listen();
  return app;
}

export interface CreatedPipeline {
  id: string;
  signingSecret: string;
  [key: string]: unknown;
}

/** A small client of Dash's HTTP API, as a user's tool would call it. */
export class Api {
  constructor(
    readonly url: string,
    readonly token: string = ADMIN_TOKEN,
  ) {}

  withToken(token: string): Api {
    return new Api(this.url, token);
  }

  async request(method: string, path: string, body?: unknown): Promise<{ status: number; body: any; headers: Headers }> {
    const response = await fetch(this.url + path, {
      method,
      headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null, headers: response.headers };
  }

  async createPipeline(input: Record<string, unknown> = {}): Promise<CreatedPipeline> {
    const { status, body } = await this.request('POST', '/api/pipelines', { name: 'test', source: { type: 'webhook' }, ...input });
    if (status !== 201) throw new Error(`create pipeline: ${status} ${JSON.stringify(body)}`);
    return body as CreatedPipeline;
  }

  async stats(pipelineId: string): Promise<{ count: number; [key: string]: any }> {
    return (await this.request('GET', `/api/pipelines/${pipelineId}/stats`)).body;
  }
}

export interface SendOptions {
  id?: string;
  timestamp?: Date;
  contentType?: string;
  secret?: string;
  headers?: Record<string, string>;
}

/** Sends a webhook signed by the `standardwebhooks` library, as a real sender would. */
export async function sendWebhook(baseUrl: string, pipeline: CreatedPipeline, body: string | unknown, options: SendOptions = {}) {
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  const id = options.id ?? `msg_${randomBytes(8).toString('hex')}`;
  const timestamp = options.timestamp ?? new Date();
  const signature = new Webhook(options.secret ?? pipeline.signingSecret).sign(id, timestamp, raw);
  const response = await fetch(`${baseUrl}/webhooks/${pipeline.id}`, {
    method: 'POST',
    headers: {
      'content-type': options.contentType ?? 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
      'webhook-signature': signature,
      ...options.headers,
    },
    body: raw,
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null, headers: response.headers, id };
}

export type Viewer = Socket<ServerToClientEvents, ClientToServerEvents>;

/** A socket.io viewer, connected (or rejected) before it resolves. */
export async function connectViewer(baseUrl: string, token: string | undefined): Promise<Viewer> {
  const socket: Viewer = io(baseUrl, { transports: ['websocket'], auth: token === undefined ? {} : { token }, reconnection: false, forceNew: true });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (error) => reject(error));
  });
  return socket;
}

/** Subscribes a viewer to a pipeline's updates; answers the gateway's acknowledgement. */
export function subscribeTo(viewer: Viewer, pipelineId: string): Promise<{ ok: boolean }> {
  return new Promise((done) => viewer.emit(SocketEvent.Subscribe, { pipelineId }, done));
}

export async function waitFor<T>(probe: () => Promise<T> | T, accept: (value: T) => boolean, timeoutMs = 15_000, label = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await probe();
    if (accept(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${label}; last value: ${JSON.stringify(last)}`);
}

/** A database connection to a suite's own database, to check what was stored. */
export async function queryDb<T = Record<string, unknown>>(env: TestEnv, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new Client({ connectionString: env.env.DATABASE_URL });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}

/** A web app on a chosen port, e.g. to restart one where open browser pages will reconnect. */
export async function startWebAt(config: DashConfig, port: number): Promise<RunningWeb> {
  const app = await createWebApp(config, { logger: ['error'] });
  await app.listen({ port, host: '127.0.0.1' });
  const address = app.getHttpServer().address() as { port: number };
  return { app, url: `http://127.0.0.1:${address.port}`, close: closer(app) };
}

/** One ingestor and one web node on a suite's own database and key prefix. */
export interface Stack {
  env: TestEnv;
  ingestor: INestMicroservice;
  web: RunningWeb;
  api: Api;
  close(): Promise<void>;
}

export async function startStack(env: TestEnv, overrides: { ingestor?: Record<string, string> } = {}): Promise<Stack> {
  const ingestor = await startIngestor(env.config('ingestor', overrides.ingestor));
  const web = await startWeb(env.config('web'));
  return {
    env,
    ingestor,
    web,
    api: new Api(web.url),
    close: async () => {
      await web.close();
      await ingestor.close();
      await env.cleanup();
    },
  };
}
