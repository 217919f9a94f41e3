/**
 * Statistics for trials and the lab matrix: pure functions of numbers, no I/O, no clock. A leaf
 * module beside events.ts and errors.ts, so the engine (peer/, lab/), report/ and ui/ all compute
 * every figure the same way without ui/ or report/ importing engine code (DESIGN.md layers).
 */

/**
 * z for a two-sided 95% interval: the 97.5th percentile of the standard normal distribution.
 * (1.96 rounded; the exact value keeps the interval identical to R's `prop.test(correct=FALSE)`.)
 */
export const Z_95 = 1.959963984540054;

export interface ProportionInterval {
  /** Lower bound, 0..1. */
  readonly low: number;
  /** Upper bound, 0..1. */
  readonly high: number;
}

/**
 * The Wilson score interval for a binomial proportion (Wilson 1927; Brown, Cai & DasGupta 2001
 * recommend it over the normal "Wald" interval, which collapses to [1, 1] when every trial
 * succeeds and misbehaves at small n — exactly the case of a healthy traversal test).
 *
 *   centre = (p̂ + z²/2n) / (1 + z²/n)
 *   half   = z / (1 + z²/n) · √( p̂(1−p̂)/n + z²/4n² )
 *
 * With no trials nothing is known, so the interval is [0, 1].
 */
export function wilsonInterval(successes: number, trials: number, z: number = Z_95): ProportionInterval {
  if (!Number.isInteger(successes) || !Number.isInteger(trials) || successes < 0 || trials < 0 || successes > trials) {
    throw new RangeError(`wilsonInterval needs whole numbers 0 ≤ successes ≤ trials, got ${successes} of ${trials}.`);
  }
  if (trials === 0) return { low: 0, high: 1 };
  const n = trials;
  const p = successes / n;
  const z2 = z * z;
  const denominator = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denominator;
  const half = (z / denominator) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  // Clamp only against floating-point dust: mathematically the bounds are inside [0, 1], and
  // they equal 0 (or 1) exactly when there are no successes (or no failures).
  return {
    low: successes === 0 ? 0 : Math.max(0, centre - half),
    high: successes === trials ? 1 : Math.min(1, centre + half),
  };
}

/**
 * Percentile by nearest rank (p in 0..100): the smallest sample with at least p% of samples at
 * or below it. It always returns a measured value, never an interpolation. NaN with no samples.
 */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return percentileOfSorted(sorted, p);
}

function percentileOfSorted(sorted: readonly number[], p: number): number {
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export interface LatencySummary {
  readonly count: number;
  readonly min: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

/** min / p50 / p95 / p99 / max / mean of the samples (nearest rank); undefined with none. */
export function summarizeLatencies(samples: readonly number[]): LatencySummary | undefined {
  if (samples.length === 0) return undefined;
  const sorted = [...samples].sort((a, b) => a - b);
  const sum = sorted.reduce((total, value) => total + value, 0);
  return {
    count: sorted.length,
    min: sorted[0]!,
    p50: percentileOfSorted(sorted, 50),
    p95: percentileOfSorted(sorted, 95),
    p99: percentileOfSorted(sorted, 99),
    max: sorted[sorted.length - 1]!,
    mean: sum / sorted.length,
  };
}

export interface Count {
  readonly key: string;
  readonly count: number;
}

/** How often each key occurs, most frequent first (ties by key, so output is stable). */
export function countBy<T>(items: Iterable<T>, keyOf: (item: T) => string | undefined): Count[] {
  const counts = new Map<string, number>();
  for (const item of items) {
    const key = keyOf(item);
    if (key !== undefined) counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([key, count]) => ({ key, count })).sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

export interface HistogramBin {
  /** Inclusive lower edge. */
  readonly from: number;
  /** Exclusive upper edge (inclusive for the last bin). */
  readonly to: number;
  readonly count: number;
}

/**
 * Equal-width bins from min to max. One bin when every sample is equal; none with no samples.
 * Used by the dashboard's time-to-connect histogram.
 */
export function histogram(samples: readonly number[], bins: number): HistogramBin[] {
  if (samples.length === 0 || bins < 1) return [];
  let min = Infinity;
  let max = -Infinity;
  for (const value of samples) {
    if (value < min) min = value;
    if (value > max) max = value;
  }
  const width = (max - min) / bins;
  // Equal samples, or a spread so small that dividing it underflows to 0: one bin holds them all.
  if (!(width > 0)) return [{ from: min, to: max, count: samples.length }];
  const counts = new Array<number>(bins).fill(0);
  for (const value of samples) {
    const index = Math.min(bins - 1, Math.floor((value - min) / width));
    counts[index]! += 1;
  }
  return counts.map((count, i) => ({ from: min + i * width, to: i === bins - 1 ? max : min + (i + 1) * width, count }));
}

/**
 * A probability as a percentage readable at any size, one spelling for the plan's reason, the
 * reports and the dashboards: "98.3%", "5.0%", "0.013%" (two significant digits below 1 %, so a
 * relay-only verdict's tiny chance is still a number), ">99.9%" just short of certainty.
 */
export function formatProbability(p: number): string {
  if (p >= 1) return '100%';
  if (p > 0.999) return '>99.9%';
  if (p <= 0) return '0%';
  if (p >= 0.01) return `${(p * 100).toFixed(1)}%`;
  return `${(p * 100).toPrecision(2)}%`;
}
