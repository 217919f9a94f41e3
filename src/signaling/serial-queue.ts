/**
 * Runs tasks one at a time, in order. A task that finishes synchronously costs nothing extra;
 * only a task that returns a promise makes later ones wait for it. (A plain promise chain would
 * allocate two promises per frame even when the work is synchronous, which at tens of thousands
 * of frames per second is most of the garbage a relay produces.)
 */
export class SerialQueue {
  private readonly waiting: (() => void | Promise<void>)[] = [];
  private busy = false;

  constructor(private readonly onError: (error: unknown) => void) {}

  run(task: () => void | Promise<void>): void {
    if (this.busy) {
      this.waiting.push(task);
      return;
    }
    this.execute(task);
  }

  private execute(task: () => void | Promise<void>): void {
    for (let next: (() => void | Promise<void>) | undefined = task; next !== undefined; next = this.waiting.shift()) {
      let result: void | Promise<void>;
      try {
        result = next();
      } catch (error) {
        this.onError(error);
        continue;
      }
      if (result instanceof Promise) {
        this.busy = true;
        result.then(
          () => this.resume(),
          (error: unknown) => {
            this.onError(error);
            this.resume();
          },
        );
        return;
      }
    }
  }

  private resume(): void {
    this.busy = false;
    const next = this.waiting.shift();
    if (next !== undefined) this.execute(next);
  }
}
