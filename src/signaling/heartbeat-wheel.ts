import type { Clock, TimerHandle } from '../transport/clock.js';

/** Default spacing of ticks: each tick visits a small share of the members. */
export const HEARTBEAT_TICK_MS = 100;

/**
 * Visits every member once per `intervalMs`, spread over evenly spaced ticks (by default one per
 * 100 ms), so a server with 10 000 connections and a 15 s interval pings about 67 of them every
 * 100 ms instead of all 10 000 at once (a burst of writes that would stall relaying for tens of
 * milliseconds and show up as a latency spike).
 *
 * Liveness bound: a member that dies at time t is visited at most `intervalMs` later (and
 * marked unanswered), then again `intervalMs` after that, so it is found dead within two intervals.
 */
export class HeartbeatWheel<T> {
  private readonly slices: Set<T>[];
  private readonly sliceOf = new Map<T, number>();
  private nextSlice = 0;
  private cursor = 0;
  private timer: TimerHandle | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly intervalMs: number,
    private readonly visit: (member: T, now: number) => void,
    sliceCount = Math.max(1, Math.round(intervalMs / HEARTBEAT_TICK_MS)),
  ) {
    this.slices = Array.from({ length: Math.max(1, sliceCount) }, () => new Set<T>());
  }

  add(member: T): void {
    const slice = this.nextSlice;
    this.nextSlice = (this.nextSlice + 1) % this.slices.length;
    this.slices[slice]!.add(member);
    this.sliceOf.set(member, slice);
  }

  remove(member: T): void {
    const slice = this.sliceOf.get(member);
    if (slice === undefined) return;
    this.slices[slice]!.delete(member);
    this.sliceOf.delete(member);
  }

  start(): void {
    if (this.timer === undefined) this.arm();
  }

  stop(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(): void {
    this.timer = this.clock.setTimeout(() => this.tick(), this.intervalMs / this.slices.length);
  }

  private tick(): void {
    const slice = this.slices[this.cursor]!;
    this.cursor = (this.cursor + 1) % this.slices.length;
    const now = this.clock.now();
    // Copy: a visit may remove its member (a dead connection) from the slice.
    for (const member of [...slice]) this.visit(member, now);
    this.arm();
  }
}
