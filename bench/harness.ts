/**
 * Benchmark conventions. Each `bench/*.bench.ts` default-exports a function returning
 * BenchResult rows. Every row prints its measured figure beside a baseline measured in the
 * same run, and the target the issue sets, so a reader sees at once whether it was met.
 */
export interface BenchResult {
  /** What was measured, e.g. "detect: time to verdict (EIM/EIF, loopback)". */
  name: string;
  /** The figure nat-probe achieved. */
  value: number;
  unit: string;
  /** The same quantity for the baseline, measured in this run (undefined only when no baseline applies). */
  baseline?: { label: string; value: number };
  /** The issue's target, and whether lower or higher is better. */
  target?: { op: '<=' | '>='; value: number };
  /** Extra context printed under the row (sample size, percentiles…). */
  notes?: string;
}

export type Bench = () => Promise<BenchResult[]>;

export function meetsTarget(result: BenchResult): boolean | undefined {
  if (result.target === undefined) return undefined;
  return result.target.op === '<=' ? result.value <= result.target.value : result.value >= result.target.value;
}

/** Percentile by nearest rank over a copy of the samples (p in 0..100). */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export function median(samples: readonly number[]): number {
  return percentile(samples, 50);
}
