/**
 * The mapping-lifetime search, the pure part (RFC 5780 §4.6): which waits to test, what the
 * tests' outcomes bracket, and the keepalive that bracket implies. No I/O, no clock.
 *
 * A mapping can be tested once: the answer that proves it alive also refreshes it (a NAT
 * refreshes a mapping on inbound traffic too; Linux conntrack does). So the parallel search makes
 * many mappings at once and tests each after a different wait; the lifetime lies between the
 * longest wait a mapping survived and the shortest one it did not, and the run ends soon after
 * the first loss: little more than the lifetime itself.
 */

export interface LifetimeGridOptions {
  /** Shortest wait tested, ms. Default 2000. */
  firstMs?: number;
  /** Absolute spacing of short waits, ms. Default 2000 (so ±1 s below ~17 s). */
  stepMs?: number;
  /** Relative spacing of long waits. Default 0.12 (±6 %: a 30 s mapping within about ±2 s). */
  relativeStep?: number;
}

/** Waits (ms) from `firstMs` up to `maxMs`: evenly spaced while short, then growing by `relativeStep`. */
export function lifetimeGrid(maxMs: number, options: LifetimeGridOptions = {}): number[] {
  const first = options.firstMs ?? 2000;
  const step = options.stepMs ?? 2000;
  const relative = options.relativeStep ?? 0.12;
  const waits: number[] = [];
  for (let w = first; w <= maxMs; w += Math.max(step, Math.round(w * relative))) waits.push(w);
  if (waits.length === 0 || waits.at(-1)! < maxMs) waits.push(maxMs);
  return waits;
}

/** One test of one mapping: after `waitMs` of silence, did an answer sent to it arrive? */
export interface LifetimeTest {
  waitMs: number;
  alive: boolean;
}

export type LifetimeBracket =
  | { status: 'measured'; lowerMs: number; upperMs: number; estimateMs: number; resolutionMs: number }
  /** Every tested mapping survived: the lifetime is at least `lowerMs` (the longest wait, ≤ --lifetime-max). */
  | { status: 'above-max'; lowerMs: number }
  /** Even the shortest wait lost the mapping. */
  | { status: 'below-min'; upperMs: number }
  | { status: 'no-tests' };

/**
 * The lifetime lies in (longest survived wait, shortest lost wait]. A loss contradicted by a
 * survival after a longer wait is taken for a lost answer (or a stalled receiver) and ignored:
 * NAT mappings do not come back. The survivals below the remaining shortest loss give the lower
 * bound.
 */
export function bracketLifetime(tests: readonly LifetimeTest[]): LifetimeBracket {
  if (tests.length === 0) return { status: 'no-tests' };
  const longestSurvival = Math.max(-Infinity, ...tests.filter((t) => t.alive).map((t) => t.waitMs));
  const lost = tests.filter((t) => !t.alive && t.waitMs > longestSurvival).map((t) => t.waitMs);
  const upper = lost.length > 0 ? Math.min(...lost) : undefined;
  const lower = Number.isFinite(longestSurvival) ? longestSurvival : undefined;
  if (upper === undefined) return { status: 'above-max', lowerMs: lower! };
  if (lower === undefined) return { status: 'below-min', upperMs: upper };
  return { status: 'measured', lowerMs: lower, upperMs: upper, estimateMs: (lower + upper) / 2, resolutionMs: (upper - lower) / 2 };
}

/** Losses the parallel search waits for before it stops: the first is confirmed by a longer wait. */
export const CONFIRMING_LOSSES = 2;

/**
 * The classic alternative, for the benchmark: one mapping at a time, doubling the wait until
 * the first loss, then bisecting until the bracket is within ±`resolutionMs`. Returns the next
 * wait to test, or undefined when done.
 */
export function nextSequentialWait(tests: readonly LifetimeTest[], options: { firstMs: number; maxMs: number; resolutionMs: number }): number | undefined {
  const b = bracketLifetime(tests);
  if (b.status === 'no-tests') return options.firstMs;
  if (b.status === 'above-max') {
    if (b.lowerMs >= options.maxMs) return undefined;
    return Math.min(options.maxMs, b.lowerMs * 2);
  }
  if (b.status === 'below-min') return undefined;
  if (b.resolutionMs <= options.resolutionMs) return undefined;
  return Math.round((b.lowerMs + b.upperMs) / 2);
}

/** RFC 7675 §5.1: consent checks every Tc = 5 s, randomised to 0.8–1.2 × Tc. */
export const ICE_CONSENT_MAX_GAP_MS = 6000;
/**
 * RFC 8656: permissions last 300 s (§9) and are refreshed before that, typically a minute
 * early; a TURN client that sends nothing else talks to its server about every 240 s.
 */
export const TURN_REFRESH_GAP_MS = 240_000;
/** The keepalive backoff this project comes from: 5 s initial, 120 s maximum, ±15 % jitter. */
export const BACKOFF_MAX_GAP_MS = 120_000 * 1.15;

export interface KeepaliveAdvice {
  /** The longest silence that is safe: 80 % of the shortest lifetime measured (room for jitter and RTT). */
  maxIntervalMs: number;
  /** Whether ICE consent freshness traffic alone keeps the mapping alive. */
  iceConsentEnough: boolean;
  /** Whether TURN refreshes alone keep the mapping to the TURN server alive. */
  turnRefreshEnough: boolean;
  /** Whether a keepalive backoff capped at 120 s (±15 %) stays inside the lifetime. */
  backoffCapEnough: boolean;
  /** The advice in words. */
  text: string;
}

export function keepaliveAdvice(lowerMs: number): KeepaliveAdvice {
  const maxIntervalMs = Math.floor(lowerMs * 0.8);
  const seconds = (ms: number): string => `${Math.round(ms / 100) / 10} s`;
  const iceConsentEnough = ICE_CONSENT_MAX_GAP_MS <= maxIntervalMs;
  const turnRefreshEnough = TURN_REFRESH_GAP_MS <= maxIntervalMs;
  const backoffCapEnough = BACKOFF_MAX_GAP_MS <= maxIntervalMs;
  const parts = [
    `Send something on every mapping at least every ${seconds(maxIntervalMs)}.`,
    iceConsentEnough
      ? 'ICE consent checks (every 4–6 s, RFC 7675) keep a media path alive.'
      : `ICE consent checks (up to 6 s apart, RFC 7675) are too sparse: send keepalives every ${seconds(maxIntervalMs)}.`,
    turnRefreshEnough
      ? 'TURN refreshes alone keep the path to the TURN server open.'
      : `TURN refreshes (about every 240 s) do not keep the path to the TURN server open: keepalives (e.g. Binding indications) every ${seconds(maxIntervalMs)} are needed while idle.`,
    backoffCapEnough
      ? 'A keepalive backoff capped at 120 s (±15 %) stays inside the lifetime.'
      : `A keepalive backoff capped at 120 s (±15 %) outlives it: cap the backoff at ${seconds(maxIntervalMs / 1.15)}.`,
  ];
  return { maxIntervalMs, iceConsentEnough, turnRefreshEnough, backoffCapEnough, text: parts.join(' ') };
}
