/** Synthetic matrix results built through the real planner and judge, for report and UI tests. */
import { judgeCell } from '../../src/lab/matrix-compare.js';
import { planMatrix } from '../../src/lab/matrix-plan.js';
import type { CellResult, DetectOutcome, MatrixCellPlan, MatrixResult, MatrixTrial, MatrixVariant, TrialTraversal } from '../../src/lab/matrix-types.js';
import { baselineVariant, ICE_VARIANT } from '../../src/lab/matrix-variants.js';
import { matrixMix } from '../../src/lab/nat-mix.js';
import type { NatType, TranslatingNatType } from '../../src/lab/nat-types.js';

export const TIMINGS = { buildMs: 100, serversMs: 300, detectMs: 400, workerStartupMs: 350, sessionsMs: 3000, teardownMs: 50, totalMs: 4200 };

/** What detect would say if it were right about the plan's side. */
export function rightDetect(plan: MatrixCellPlan, side: 'a' | 'b'): DetectOutcome {
  const expected = plan.expectedDetect[side];
  return { side, exitCode: 0, kind: 'nat', classicName: expected.classicName, mapping: expected.mapping, filtering: expected.filtering, portAllocation: 'preserved', confidence: 'high', durationMs: 200 };
}

export function trials(runs: number, connected: number, ttc = (i: number) => 1000 + i * 10, pairType = 'srflx/srflx'): MatrixTrial[] {
  return Array.from({ length: runs }, (_, k) =>
    k < connected ? { index: k + 1, connected: true, timeToConnectMs: ttc(k + 1), pairType } : { index: k + 1, connected: false, failureReason: 'timeout' },
  );
}

/** Direct trials of a strategy variant: `connected` of `runs`, each with the given traversal. */
export function strategyTrials(runs: number, connected: number, traversal: (i: number, connected: boolean) => TrialTraversal, ttc = (i: number) => 2000 + i * 10): MatrixTrial[] {
  return trials(runs, connected, ttc, 'prflx/srflx').map((trial) => ({ ...trial, traversal: traversal(trial.index, trial.connected) }));
}

/** Every cell measured exactly as theory says, unless `override` changes a cell. */
export function sampleMatrix(
  types: NatType[],
  options: {
    runs?: number;
    cgn?: TranslatingNatType;
    turn?: boolean;
    override?: (plan: MatrixCellPlan) => Partial<Parameters<typeof judgeCell>[1]> | undefined;
    /** `--strategy` variants (default `[ice]`) and each one's trials per cell (default: as theory). */
    variants?: MatrixVariant[];
    variantTrials?: (plan: MatrixCellPlan, variant: MatrixVariant) => MatrixTrial[] | undefined;
  } = {},
): MatrixResult {
  const runs = options.runs ?? 3;
  const variants = options.variants ?? [ICE_VARIANT];
  const plans = planMatrix({ types, ...(options.cgn ? { cgn: options.cgn } : {}) });
  const cells: CellResult[] = plans.map((plan) => {
    const measured = variants.map((variant) => ({ variant, trials: options.variantTrials?.(plan, variant) ?? trials(runs, plan.expectedDirect ? runs : 0) }));
    const baseline = baselineVariant(variants).name;
    return judgeCell(plan, {
      detect: { a: rightDetect(plan, 'a'), b: rightDetect(plan, 'b') },
      direct: measured.find((m) => m.variant.name === baseline)!.trials,
      ...(options.variants !== undefined ? { variants: measured } : {}),
      ...(options.turn ? { relay: trials(runs, runs, (i) => 1500 + i, 'relay/relay') } : {}),
      timings: TIMINGS,
      ...options.override?.(plan),
    });
  });
  const config = { types, cgn: options.cgn, runs, turn: options.turn ?? false, lossPercent: 0, concurrency: 3, prefix: 'np-', variants, baseline: baselineVariant(variants).name };
  return {
    config,
    startedAt: new Date('2026-12-01T06:00:00.000Z'),
    durationMs: 61_234.56,
    cells,
    planned: plans.length,
    aborted: false,
    mix: matrixMix(config, cells),
  };
}
