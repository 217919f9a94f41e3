import type { Clock, TimerHandle } from './clock.js';

interface PendingTimer {
  id: number;
  dueAt: number;
  order: number;
  callback: () => void;
}

/**
 * A deterministic clock for tests and simulations. Time moves only when `advance` is called;
 * timers fire in due order (ties in creation order), each seeing `now()` equal to its due time.
 */
export class FakeClock implements Clock {
  private current: number;
  private readonly pending = new Map<number, PendingTimer>();
  private nextId = 1;
  private nextOrder = 0;

  constructor(startMs = 0) {
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    const id = this.nextId++;
    this.pending.set(id, { id, dueAt: this.current + Math.max(0, delayMs), order: this.nextOrder++, callback });
    return { id };
  }

  clearTimeout(handle: TimerHandle): void {
    this.pending.delete(handle.id);
  }

  get pendingTimers(): number {
    return this.pending.size;
  }

  /** Moves time forward by `ms`, firing every timer that falls due, including ones armed by callbacks. */
  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      const next = this.earliest();
      if (next === undefined || next.dueAt > target) break;
      this.pending.delete(next.id);
      this.current = next.dueAt;
      next.callback();
    }
    this.current = target;
  }

  /**
   * Like `advance`, but lets promise continuations run between timers, so async code
   * awaiting a timer-driven promise makes progress at the right simulated time.
   */
  async advanceAsync(ms: number): Promise<void> {
    const target = this.current + ms;
    for (;;) {
      await flushMicrotasks();
      const next = this.earliest();
      if (next === undefined || next.dueAt > target) break;
      this.pending.delete(next.id);
      this.current = next.dueAt;
      next.callback();
    }
    this.current = target;
    await flushMicrotasks();
  }

  /** Fires every pending timer, in order, until none is left (bounded to catch runaway rearming). */
  runAll(maxTimers = 100_000): void {
    for (let fired = 0; fired < maxTimers; fired++) {
      const next = this.earliest();
      if (next === undefined) return;
      this.advance(next.dueAt - this.current);
    }
    throw new Error(`FakeClock.runAll: more than ${maxTimers} timers fired; a timer keeps re-arming itself`);
  }

  private earliest(): PendingTimer | undefined {
    let best: PendingTimer | undefined;
    for (const timer of this.pending.values()) {
      if (best === undefined || timer.dueAt < best.dueAt || (timer.dueAt === best.dueAt && timer.order < best.order)) {
        best = timer;
      }
    }
    return best;
  }
}

/** Lets queued promise continuations run (a macrotask turn flushes all microtasks). */
export function flushMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
