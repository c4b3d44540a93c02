/** The line of a WorkGate is full: the work was not run. */
export class GateFull extends Error {
  constructor() {
    super('the line is full');
    this.name = 'GateFull';
  }
}

/**
 * Runs costly work at most `atOnce` at a time; up to `waiting` more calls (default: any number)
 * wait in line, first come first served, and past that a call is refused at once (GateFull): a
 * flood of requests becomes a bounded line, not unbounded load on what the work uses. The server
 * gates its reads of stored events with it; the home page its sparkline reads (a few at a time
 * spread a page load under the per-token read limit instead of spending it in one burst).
 */
export class WorkGate {
  private running = 0;
  private readonly line: Array<() => void> = [];

  constructor(
    private readonly atOnce: number,
    private readonly waiting = Number.POSITIVE_INFINITY,
  ) {}

  /** Work running and waiting now. */
  get load(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.line.length };
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= this.atOnce) {
      if (this.line.length >= this.waiting) throw new GateFull();
      await new Promise<void>((resolve) => this.line.push(resolve));
    } else {
      this.running += 1;
    }
    try {
      return await work();
    } finally {
      // The place passes straight to the next in line, so `running` never drops and rises again.
      const next = this.line.shift();
      if (next) next();
      else this.running -= 1;
    }
  }
}
