import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { KeyedThrottle, LIST_NOTICE_INTERVAL_MS, pipelineRoom, SocketEvent, type AlertUpdated, type DataUpdated, type PipelineStats, type ServerToClientEvents } from '@dash/domain';
import { boundedEvent, LIVE_SERVER, REDIS_WORKER } from '@dash/infra';
import type { Redis } from 'ioredis';
import type { Server } from 'socket.io';

/**
 * Updates per pipeline: one every 50 ms on average (20 a second), in bursts of at most two (a token
 * bucket). The newest state always goes out, at the latest when the next token comes. The burst
 * lets a light stream (20 events/s) be announced as it lands even when one event comes a few ms
 * early; with a plain 50 ms window, every early event waited for the window's end.
 */
const MIN_INTERVAL_MS = 50;
const BURST = 2;
const RETRY_MS = 1000;

interface Slot {
  lastSentAt: number;
  /** Updates that may go out now (up to BURST), as of `tokensAt`. */
  tokens: number;
  tokensAt: number;
  sentVersion: number;
  pending: PipelineStats | null;
  /** When the pending state's batch committed (it is offered right after its commit). */
  pendingCommittedAt: number;
  timer: NodeJS.Timeout | null;
}

/** What the publisher uses of the non-listening socket.io server (`LIVE_SERVER`). */
export type LiveBroadcast = Pick<Server<Record<string, never>, ServerToClientEvents>, 'to'>;

/**
 * Announces stored events and alert changes to every web node through the socket.io Redis adapter
 * the web nodes use (`LIVE_SERVER`: a socket.io server of its own that does not listen). Bursts of
 * stored events are coalesced per pipeline (≤ 20 updates a second), never dropping the latest state.
 */
@Injectable()
export class LivePublisher implements OnApplicationShutdown {
  private readonly logger = new Logger(LivePublisher.name);
  private readonly slots = new Map<string, Slot>();
  /** `failures_updated`: at most one a second per pipeline, however many events a flood makes fail. */
  private readonly failureNotices = new KeyedThrottle(LIST_NOTICE_INTERVAL_MS, (pipelineId) => this.emitFailures(pipelineId));

  constructor(
    /** The adapter's publishing connection: while it is down, the newest state waits and is sent once it is back. */
    @Inject(REDIS_WORKER) private readonly redis: Pick<Redis, 'status'>,
    @Inject(LIVE_SERVER) private readonly live: LiveBroadcast,
  ) {}

  /**
   * An alert of a pipeline changed state: its room's sockets, on every web node, read its alerts
   * again. Rare, so never coalesced; lost only while Redis is away (the page reads the alerts on load).
   */
  alertUpdated(update: AlertUpdated): void {
    try {
      this.live.to(pipelineRoom(update.pipelineId)).emit(SocketEvent.AlertUpdated, update);
    } catch (error) {
      this.logger.error(`alert update of pipeline ${update.pipelineId} not sent: ${(error as Error).message}`);
    }
  }

  /**
   * Never throws: the events are committed whatever happens to their announcement. Pipelines
   * that recorded failures are told to read their failures again.
   */
  publish(stats: readonly PipelineStats[], failedPipelines: readonly string[] = []): void {
    for (const state of stats) {
      try {
        this.offer(state);
      } catch (error) {
        this.logger.error(`live update of pipeline ${state.pipelineId} not sent: ${(error as Error).message}`);
      }
    }
    for (const pipelineId of failedPipelines) this.failureNotices.offer(pipelineId);
  }

  private emitFailures(pipelineId: string): void {
    try {
      this.live.to(pipelineRoom(pipelineId)).emit(SocketEvent.FailuresUpdated, { pipelineId });
    } catch (error) {
      // A hint to read the list again: the page's Refresh still works without it.
      this.logger.warn(`failures notice of pipeline ${pipelineId} not sent: ${(error as Error).message}`);
    }
  }

  private offer(state: PipelineStats): void {
    let slot = this.slots.get(state.pipelineId);
    if (!slot) {
      slot = { lastSentAt: 0, tokens: BURST, tokensAt: Date.now(), sentVersion: 0, pending: null, pendingCommittedAt: 0, timer: null };
      this.slots.set(state.pipelineId, slot);
    }
    if (state.version <= slot.sentVersion || (slot.pending && state.version <= slot.pending.version)) return;
    slot.pending = state;
    slot.pendingCommittedAt = Date.now();
    if (slot.timer) return;
    const wait = waitForToken(slot, Date.now());
    if (wait <= 0) this.send(state.pipelineId, slot);
    else slot.timer = setTimeout(() => this.send(state.pipelineId, slot), wait);
  }

  private send(pipelineId: string, slot: Slot): void {
    slot.timer = null;
    const state = slot.pending;
    if (!state) return;
    if (this.redis.status !== 'ready') {
      // Keep the newest state and try again: the last state must reach the viewers.
      slot.timer = setTimeout(() => this.send(pipelineId, slot), RETRY_MS);
      return;
    }
    slot.pending = null;
    slot.lastSentAt = Date.now();
    waitForToken(slot, slot.lastSentAt); // brings the bucket up to now
    slot.tokens = Math.max(0, slot.tokens - 1);
    slot.sentVersion = state.version;
    const update: DataUpdated = { ...state, lastEvent: state.lastEvent && boundedEvent(state.lastEvent), emittedAt: new Date().toISOString(), committedAt: new Date(slot.pendingCommittedAt).toISOString() };
    try {
      this.live.to(pipelineRoom(pipelineId)).emit(SocketEvent.DataUpdated, update);
    } catch (error) {
      // An update that cannot be encoded must not throw here: this runs from a timer too, where
      // a throw would end the process. The next update carries the newer state.
      this.logger.error(`live update of pipeline ${pipelineId} not sent: ${(error as Error).message}`);
    }
    // Forget idle pipelines so the map stays bounded.
    setTimeout(() => {
      if (!slot.pending && !slot.timer && Date.now() - slot.lastSentAt >= MIN_INTERVAL_MS) this.slots.delete(pipelineId);
    }, MIN_INTERVAL_MS * 10).unref();
  }

  onApplicationShutdown(): void {
    this.failureNotices.close();
    for (const [pipelineId, slot] of this.slots) {
      if (slot.timer) clearTimeout(slot.timer);
      if (slot.pending) this.send(pipelineId, slot);
    }
  }
}

/** Refills the slot's bucket up to `now`; how long until a token is there (≤ 0: now). */
function waitForToken(slot: Slot, now: number): number {
  slot.tokens = Math.min(BURST, slot.tokens + (now - slot.tokensAt) / MIN_INTERVAL_MS);
  slot.tokensAt = now;
  return slot.tokens >= 1 ? 0 : Math.ceil((1 - slot.tokens) * MIN_INTERVAL_MS);
}
