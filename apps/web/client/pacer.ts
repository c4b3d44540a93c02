/**
 * Spaces commands so that no more than `max` leave in any `windowMs`: the server disconnects a
 * socket sending more than 20 subscribes/unsubscribes a second (MAX_SOCKET_COMMANDS_PER_SECOND in
 * the domain), and a dashboard of many pipelines subscribes to all of them on every reconnect.
 * The margin (18 per 1.1 s) keeps clock and network jitter on the safe side.
 */
export class CommandPacer {
  private readonly sent: number[] = [];
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly max = 18,
    private readonly windowMs = 1100,
    private readonly now: () => number = Date.now,
  ) {}

  /** Resolves when one more command may be sent; callers are served in order. */
  slot(): Promise<void> {
    const turn = this.queue.then(() => this.take());
    this.queue = turn;
    return turn;
  }

  private async take(): Promise<void> {
    for (;;) {
      const now = this.now();
      while (this.sent.length > 0 && now - this.sent[0] >= this.windowMs) this.sent.shift();
      if (this.sent.length < this.max) {
        this.sent.push(now);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, this.sent[0] + this.windowMs - now));
    }
  }
}

/**
 * Runs at most `max` tasks at once, the others in the order they came. The home page reads one
 * series per card: a few at a time spreads them, so a page load stays under the per-token read
 * limit (API_READS_PER_SECOND) instead of spending it in one burst.
 */
export class ConcurrencyLimit {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly max: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.max) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running += 1;
    try {
      return await task();
    } finally {
      // The slot passes straight to the next waiter, so `running` never drops and rises again.
      const next = this.waiting.shift();
      if (next) next();
      else this.running -= 1;
    }
  }
}
