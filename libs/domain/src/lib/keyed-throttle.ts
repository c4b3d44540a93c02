interface Slot {
  sentAt: number;
  /** The folded follow-up run, when offers came within the interval. */
  timer: ReturnType<typeof setTimeout> | null;
}

const unref = (timer: ReturnType<typeof setTimeout>) => (timer as { unref?: () => void }).unref?.();

/**
 * Runs `run(key)` at most once per key per interval, never losing the last offer: the first offer
 * runs at once, every later one within the interval is folded into one run at its end. A flood
 * of offers for a key becomes one run a second, not one run each. Keys are forgotten an interval
 * after their last run, so the map holds only keys offered lately.
 */
export class KeyedThrottle {
  private readonly slots = new Map<string, Slot>();

  constructor(
    private readonly intervalMs: number,
    private readonly run: (key: string) => void,
  ) {}

  offer(key: string): void {
    const slot = this.slots.get(key);
    if (!slot) return this.fire(key);
    if (slot.timer) return;
    const wait = slot.sentAt + this.intervalMs - Date.now();
    if (wait <= 0) return this.fire(key);
    slot.timer = setTimeout(() => this.fire(key), wait);
    unref(slot.timer);
  }

  /** Drops folded runs (on shutdown). */
  close(): void {
    for (const slot of this.slots.values()) if (slot.timer) clearTimeout(slot.timer);
    this.slots.clear();
  }

  private fire(key: string): void {
    const slot: Slot = { sentAt: Date.now(), timer: null };
    this.slots.set(key, slot);
    const forget = setTimeout(() => {
      if (this.slots.get(key) === slot && !slot.timer) this.slots.delete(key);
    }, this.intervalMs);
    unref(forget);
    this.run(key);
  }
}
