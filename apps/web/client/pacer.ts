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
