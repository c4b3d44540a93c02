import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { ClusterNode } from '@dash/domain';
import type { RedisClient } from '../redis/redis';
import type { DashConfig } from '../config/config';
import { DASH_CONFIG } from '../config/config.module';
import { RedisKeys } from '../redis/keys';
import { REDIS } from '../redis/redis.module';

export type { ClusterNode };

export type NodeDetails = Pick<ClusterNode, 'sockets' | 'queues' | 'bufferBacklog'>;

const BEAT_MS = 5_000;
/** A node unseen for this long is not live. */
export const NODE_STALE_MS = 15_000;
const FORGET_MS = 60_000;

/** Each node writes its vital signs to Redis every 5 s; any node can list the live ones. */
@Injectable()
export class ClusterHeartbeat implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ClusterHeartbeat.name);
  private readonly startedAt = new Date().toISOString();
  private details: () => Promise<NodeDetails> | NodeDetails = () => ({});
  private timer: NodeJS.Timeout | null = null;
  private lastCpu = process.cpuUsage();
  private lastAt = process.hrtime.bigint();

  constructor(
    @Inject(DASH_CONFIG) private readonly config: DashConfig,
    @Inject(REDIS) private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  /** The app adds what only it knows (sockets on web, queues and buffers on an ingestor). */
  describe(details: () => Promise<NodeDetails> | NodeDetails): void {
    this.details = details;
  }

  onApplicationBootstrap(): void {
    void this.beat();
    this.timer = setInterval(() => void this.beat(), BEAT_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.redis.hdel(this.keys.nodes, this.config.nodeId).catch(() => undefined);
  }

  async nodes(): Promise<ClusterNode[]> {
    const raw = await this.redis.hgetall(this.keys.nodes);
    const now = Date.now();
    const live: ClusterNode[] = [];
    const forgotten: string[] = [];
    for (const [id, json] of Object.entries(raw)) {
      const node = JSON.parse(json) as ClusterNode;
      const age = now - Date.parse(node.lastSeenAt);
      if (age <= NODE_STALE_MS) live.push(node);
      else if (age > FORGET_MS) forgotten.push(id);
    }
    if (forgotten.length) await this.redis.hdel(this.keys.nodes, ...forgotten).catch(() => undefined);
    return live.sort((a, b) => a.role.localeCompare(b.role) || a.id.localeCompare(b.id));
  }

  private cpuShare(): number {
    const now = process.hrtime.bigint();
    const usage = process.cpuUsage(this.lastCpu);
    const elapsedMicros = Number(now - this.lastAt) / 1000;
    this.lastCpu = process.cpuUsage();
    this.lastAt = now;
    return elapsedMicros > 0 ? Math.round(((usage.user + usage.system) / elapsedMicros) * 1000) / 1000 : 0;
  }

  private async beat(): Promise<void> {
    try {
      const node: ClusterNode = {
        id: this.config.nodeId,
        role: this.config.role,
        region: this.config.region,
        startedAt: this.startedAt,
        lastSeenAt: new Date().toISOString(),
        rssBytes: process.memoryUsage.rss(),
        cpu: this.cpuShare(),
        ...(await this.details()),
      };
      await this.redis.hset(this.keys.nodes, node.id, JSON.stringify(node));
    } catch (error) {
      this.logger.debug?.(`heartbeat: ${(error as Error).message}`);
    }
  }
}
