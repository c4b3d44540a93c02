import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { MAX_REJECTION_MESSAGE, MAX_REJECTIONS, WEBHOOK_PREFIX, type Rejection } from '@dash/domain';
import { REDIS, RedisKeys } from '@dash/infra';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RedisClient } from '@dash/infra';
import { PipelineNotices } from '../live/pipeline-notices';
import { PipelineCache } from '../pipelines/pipeline-cache';
import { isUuid } from '../pipelines/pipelines.schemas';

/** Rejections are written to Redis this often, in one pipelined round trip... */
const FLUSH_MS = 250;
/** ...for at most this many pipelines per flush (the rest wait: a flood of random ids stays bounded). */
const MAX_PIPELINES_PER_FLUSH = 500;
/** A list no delivery refreshed for this long goes away (deleted pipelines, quiet senders). */
const KEEP_SECONDS = 30 * 24 * 3600;

function webhookIdOf(request: FastifyRequest): string | null {
  const value = request.headers['webhook-id'] ?? request.headers['svix-id'];
  return typeof value === 'string' && value.length > 0 ? value.slice(0, 255) : null;
}

function contentLengthOf(request: FastifyRequest): number | null {
  const value = request.headers['content-length'];
  return typeof value === 'string' && /^\d{1,15}$/.test(value) ? Number(value) : null;
}

/**
 * V8 quotes the text it could not parse (`Unexpected token 'S', "SECRET…" is not valid JSON`):
 * fine in the answer to the sender, but the log never keeps any of the body.
 */
export const withoutBodyText = (message: string): string => message.replace(/Unexpected token [\s\S]* is not valid JSON/, 'unexpected token');

/** The error code and message the sender got (`{error, message}`, without body text), cut to bounded lengths. */
function answerOf(payload: unknown): { error: string; message: string } {
  try {
    const body = JSON.parse(typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : '') as { error?: unknown; message?: unknown };
    return {
      error: typeof body.error === 'string' ? body.error.slice(0, 100) : 'unknown',
      message: typeof body.message === 'string' ? withoutBodyText(body.message).slice(0, MAX_REJECTION_MESSAGE) : '',
    };
  } catch {
    return { error: 'unknown', message: '' };
  }
}

/**
 * The last deliveries to each pipeline refused with a 4xx (never the body), so a sender can see
 * why its webhooks fail. Cheap on the hot path: an accepted request pays one status comparison;
 * a refused one a push to this node's buffer, which is written to Redis every 250 ms as one
 * LPUSH + LTRIM per pipeline in one round trip, at most 100 entries per pipeline.
 */
@Injectable()
export class RejectionLog implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(RejectionLog.name);
  private pending = new Map<string, Rejection[]>();
  private timer?: NodeJS.Timeout;
  private flushing: Promise<void> | null = null;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Inject(REDIS) private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly pipelines: PipelineCache,
    private readonly notices: PipelineNotices,
  ) {}

  onModuleInit(): void {
    // Every answer to /webhooks/*, whoever wrote it (the route, a body parser, a size limit).
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onSend', (request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (error: null, payload: unknown) => void) => {
      const status = reply.statusCode;
      if (status >= 400 && status < 500 && status !== 404 && request.url.startsWith(WEBHOOK_PREFIX)) this.record(request, status, payload);
      done(null, payload);
    });
    this.timer = setInterval(() => void this.flush(), FLUSH_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  private record(request: FastifyRequest, status: number, payload: unknown): void {
    const id = request.url.slice(WEBHOOK_PREFIX.length).split(/[/?#]/, 1)[0].toLowerCase();
    if (!isUuid(id)) return;
    let list = this.pending.get(id);
    if (!list) {
      if (this.pending.size >= MAX_PIPELINES_PER_FLUSH) return;
      list = [];
      this.pending.set(id, list);
    }
    list.push({ at: new Date().toISOString(), status, ...answerOf(payload), webhookId: webhookIdOf(request), contentLength: contentLengthOf(request) });
    // Only the newest ones are kept anyway.
    if (list.length > MAX_REJECTIONS) list.shift();
  }

  /** Writes what was buffered; one flush at a time. */
  flush(): Promise<void> {
    this.flushing ??= this.write().finally(() => (this.flushing = null));
    return this.flushing;
  }

  private async write(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    try {
      // Only pipelines that exist (from the cache intake uses): random ids leave nothing behind.
      const known = await Promise.all([...batch.keys()].map(async (id) => ((await this.pipelines.get(id)) ? id : null)));
      const multi = this.redis.pipeline();
      for (const id of known) {
        if (!id) continue;
        const key = this.keys.rejections(id);
        // Oldest first, so the newest ends up at the head of the list.
        multi.lpush(key, ...(batch.get(id) ?? []).map((entry) => JSON.stringify(entry)));
        multi.ltrim(key, 0, MAX_REJECTIONS - 1);
        multi.expire(key, KEEP_SECONDS);
      }
      if (!multi.length) return;
      await multi.exec();
      // Written: the pages following these pipelines read them again (at most once a second each).
      for (const id of known) if (id) this.notices.rejectionsChanged(id);
    } catch (error) {
      // Losing a debugging aid is better than holding a growing buffer while Redis is away.
      this.logger.warn(`could not record rejected deliveries: ${(error as Error).message}`);
    }
  }

  /** A pipeline's latest rejections, newest first (this node's unflushed ones are written first). */
  async list(pipelineId: string): Promise<{ items: Rejection[] }> {
    // Twice: the first may only wait for a write that started before this node's latest ones.
    await this.flush();
    await this.flush();
    const raw = await this.redis.lrange(this.keys.rejections(pipelineId), 0, MAX_REJECTIONS - 1);
    // Entries written before messages were kept have none.
    return { items: raw.map((entry) => ({ message: '', ...(JSON.parse(entry) as Omit<Rejection, 'message'>) })) };
  }
}
