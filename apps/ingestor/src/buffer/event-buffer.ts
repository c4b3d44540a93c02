export interface BufferLimits {
  /** Flush at this many buffered events. */
  maxItems: number;
  /** Flush events that have waited this long, even while another flush is under way. */
  maxWaitMs: number;
  /**
   * Under load, start flushes at most this often: events that arrive within this long of the last
   * flush's start gather for the next one. A lone event after a quiet spell still goes at once.
   * Fewer, larger flushes cost the database and the ingestor much less per event. 0: no lingering.
   */
  lingerMs?: number;
}

/** One `add`: it settles once every part of it has been flushed (a large add may span flushes). */
interface Add {
  parts: number;
  error: unknown;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** Items waiting for a flush: a whole add, or the part of one that the previous flush had no room for. */
interface Pending<T> {
  items: readonly T[];
  at: number;
  add: Add;
}

/** Flushes in flight per buffer: one to keep the database busy, one more for a full batch. */
const MAX_IN_FLIGHT = 2;

/**
 * Group commit. When nothing is being written, items are flushed at once (a lone event is
 * stored in milliseconds), or, under load, `lingerMs` after the previous flush started; while a
 * flush is under way, items gather and go together when it completes, when `maxItems` are
 * waiting, or after `maxWaitMs`, whichever comes first. Each `add` resolves once its items are
 * committed, or rejects with the error of a flush that carried some of them. No flush carries more
 * than `maxItems`: an add larger than the room left is split across flushes.
 */
export class EventBuffer<T> {
  private pending: Pending<T>[] = [];
  private pendingCount = 0;
  private inFlight = 0;
  private timer: NodeJS.Timeout | null = null;
  private scheduled = false;
  private lastFlushAt = -Infinity;
  private lingerTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly flush: (items: T[]) => Promise<void>,
    private readonly limits: BufferLimits,
  ) {}

  /** Items waiting to be flushed (not counting those in flight). */
  get size(): number {
    return this.pendingCount;
  }

  get flushing(): number {
    return this.inFlight;
  }

  /** Starts a flush of what is waiting now, without waiting for `maxWaitMs` (shutdown). */
  flushNow(): void {
    if (this.pendingCount > 0 && this.inFlight < MAX_IN_FLIGHT) this.startFlush();
  }

  add(items: readonly T[]): Promise<void> {
    if (items.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ items, at: Date.now(), add: { parts: 1, error: null, resolve, reject } });
      this.pendingCount += items.length;
      this.schedule();
    });
  }

  private schedule(): void {
    const full = this.pendingCount >= this.limits.maxItems;
    if (this.inFlight === 0 || (full && this.inFlight < MAX_IN_FLIGHT)) {
      // Under load, the adds of the next few ms join this flush; never past the oldest's maxWaitMs.
      const until = Math.min(this.lastFlushAt + (this.limits.lingerMs ?? 0), this.pending[0].at + this.limits.maxWaitMs);
      const linger = full ? 0 : until - Date.now();
      if (linger > 0) {
        this.lingerTimer ??= setTimeout(() => {
          this.lingerTimer = null;
          this.startFlush();
        }, linger);
        return;
      }
      // Let adds of the same tick join this flush (startFlush clears a linger timer).
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.startFlush();
        });
      }
      return;
    }
    if (!this.timer) {
      const wait = Math.max(0, this.pending[0].at + this.limits.maxWaitMs - Date.now());
      this.timer = setTimeout(() => {
        this.timer = null;
        if (this.inFlight < MAX_IN_FLIGHT) this.startFlush();
      }, wait);
      this.timer.unref();
    }
  }

  private startFlush(): void {
    if (this.pendingCount === 0) return;
    this.lastFlushAt = Date.now();
    if (this.lingerTimer) {
      clearTimeout(this.lingerTimer);
      this.lingerTimer = null;
    }
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    // Take up to maxItems, oldest first; an add that does not fit leaves its rest at the head.
    const batch: Pending<T>[] = [];
    let count = 0;
    while (this.pending.length > 0 && count < this.limits.maxItems) {
      const head = this.pending[0];
      const room = this.limits.maxItems - count;
      if (head.items.length <= room) {
        batch.push(head);
        this.pending.shift();
        count += head.items.length;
      } else {
        batch.push({ items: head.items.slice(0, room), at: head.at, add: head.add });
        this.pending[0] = { items: head.items.slice(room), at: head.at, add: head.add };
        head.add.parts += 1;
        count += room;
      }
    }
    this.pendingCount -= count;
    this.inFlight += 1;
    // What is left (the rest of a split add) goes at once if it fills a flush, else by the usual rules.
    if (this.pendingCount > 0) this.schedule();
    const items = batch.length === 1 ? [...batch[0].items] : batch.flatMap((entry) => entry.items);
    this.flush(items).then(
      () => this.settle(batch, null),
      (error: unknown) => this.settle(batch, error ?? new Error('flush failed')),
    );
  }

  private settle(batch: Pending<T>[], error: unknown): void {
    this.inFlight -= 1;
    for (const { add } of batch) {
      add.error ??= error;
      if (--add.parts > 0) continue;
      if (add.error) add.reject(add.error);
      else add.resolve();
    }
    // The database just became free for this buffer: flush what gathered meanwhile.
    if (this.pendingCount > 0) this.schedule();
  }
}
