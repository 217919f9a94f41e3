import type { RandomSource } from '../transport/clock.js';

export interface ReconnectOptions {
  /** Connection attempts before giving up with `signaling-unreachable` (first connect and each reconnect). Default 5. */
  maxAttempts?: number;
  /** Delay before the first retry. Default 250 ms. */
  initialDelayMs?: number;
  /** Cap on the delay between attempts. Default 5 000 ms. */
  maxDelayMs?: number;
  /** Growth of the delay per attempt. Default 2. */
  factor?: number;
}

export const DEFAULT_RECONNECT = { maxAttempts: 5, initialDelayMs: 250, maxDelayMs: 5_000, factor: 2 } as const;

/**
 * Exponential backoff with "equal jitter": half the delay is fixed, half random, so that many
 * peers cut off by the same server restart do not reconnect in lockstep.
 * `retry` counts from 1 (the first retry).
 */
export function backoffDelayMs(retry: number, options: Required<ReconnectOptions>, random: RandomSource): number {
  const exponential = options.initialDelayMs * options.factor ** Math.max(0, retry - 1);
  const capped = Math.min(options.maxDelayMs, exponential);
  return Math.round(capped / 2 + (capped / 2) * random());
}
