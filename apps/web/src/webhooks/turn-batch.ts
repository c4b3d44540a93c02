/**
 * Runs the tasks handed to it during one turn of the event loop together, one after the other,
 * once that turn's I/O callbacks are done (in the check phase, `setImmediate`). Each `run` settles
 * with its own task's outcome.
 *
 * Under load a web node reads several requests per turn. Handling each one as its body completes
 * interleaves Dash's intake code (signature, JSON, extraction) with Node's HTTP parsing of the
 * next request, so every step runs with cold caches; handling the turn's requests back to back
 * keeps them warm (WebhooksService puts the stage boundary after the signature check).
 */
export class TurnBatch {
  private tasks: Array<() => void> = [];

  run<T>(task: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const start = () => {
        try {
          task().then(resolve, reject);
        } catch (error) {
          reject(error);
        }
      };
      if (this.tasks.push(start) === 1) setImmediate(this.drain);
    });
  }

  private readonly drain = (): void => {
    const tasks = this.tasks;
    this.tasks = [];
    for (const start of tasks) start();
  };
}
