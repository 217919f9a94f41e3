/**
 * Awaiting an expected event with a bound: tests never sleep. The bound is a real timer
 * that only fires when the event never comes, turning a hang into a clear failure.
 */
export function withinMs<T>(promise: Promise<T>, boundMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${boundMs} ms waiting for ${what}`)), boundMs);
  });
  return Promise.race([promise, bound]).finally(() => clearTimeout(timer));
}

/** A queue of events that tests can await one at a time. */
export class EventQueue<T> {
  private readonly items: T[] = [];
  private readonly waiters: Array<(item: T) => void> = [];

  push = (item: T): void => {
    const waiter = this.waiters.shift();
    if (waiter) waiter(item);
    else this.items.push(item);
  };

  next(boundMs = 2000, what = 'the next event'): Promise<T> {
    const item = this.items.shift();
    if (item !== undefined) return Promise.resolve(item);
    return withinMs(new Promise<T>((resolve) => this.waiters.push(resolve)), boundMs, what);
  }

  get size(): number {
    return this.items.length;
  }
}
