/**
 * Time, injected. Everything that waits (transactions, schedulers, classifiers, heartbeats)
 * takes a Clock, so tests drive time with FakeClock and never sleep.
 */
export interface TimerHandle {
  readonly id: number;
}

export interface Clock {
  /** Milliseconds on a monotonic scale; only differences are meaningful. */
  now(): number;
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** The real clock: performance.now() and Node's timers. Timers are unref'd so they never hold the process open. */
export class SystemClock implements Clock {
  private readonly timers = new Map<number, NodeJS.Timeout>();
  private nextId = 1;

  now(): number {
    return performance.now();
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    const id = this.nextId++;
    const timer = setTimeout(() => {
      this.timers.delete(id);
      callback();
    }, Math.max(0, delayMs));
    timer.unref();
    this.timers.set(id, timer);
    return { id };
  }

  clearTimeout(handle: TimerHandle): void {
    const timer = this.timers.get(handle.id);
    if (timer !== undefined) {
      clearTimeout(timer);
      this.timers.delete(handle.id);
    }
  }

  /** Number of timers still armed; benchmarks check this is 0 after a run (no leaked timers). */
  get pendingTimers(): number {
    return this.timers.size;
  }
}

/** A shared default for production code paths. */
export const systemClock: Clock = new SystemClock();

/** A source of uniform numbers in [0, 1). Injected wherever jitter or tie-breakers are drawn. */
export type RandomSource = () => number;
