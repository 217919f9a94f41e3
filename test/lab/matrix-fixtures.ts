/** Synthetic matrix results built through the real planner and judge, for report and UI tests. */
import { judgeCell } from '../../src/lab/matrix-compare.js';
import { planMatrix } from '../../src/lab/matrix-plan.js';
import type { CellResult, DetectOutcome, MatrixCellPlan, MatrixResult, MatrixTrial } from '../../src/lab/matrix-types.js';
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

/** Every cell measured exactly as theory says, unless `override` changes a cell. */
export function sampleMatrix(
  types: NatType[],
  options: { runs?: number; cgn?: TranslatingNatType; turn?: boolean; override?: (plan: MatrixCellPlan) => Partial<Parameters<typeof judgeCell>[1]> | undefined } = {},
): MatrixResult {
  const runs = options.runs ?? 3;
  const plans = planMatrix({ types, ...(options.cgn ? { cgn: options.cgn } : {}) });
  const cells: CellResult[] = plans.map((plan) =>
    judgeCell(plan, {
      detect: { a: rightDetect(plan, 'a'), b: rightDetect(plan, 'b') },
      direct: trials(runs, plan.expectedDirect ? runs : 0),
      ...(options.turn ? { relay: trials(runs, runs, (i) => 1500 + i, 'relay/relay') } : {}),
      timings: TIMINGS,
      ...options.override?.(plan),
    }),
  );
  return {
    config: { types, cgn: options.cgn, runs, turn: options.turn ?? false, lossPercent: 0, concurrency: 3, prefix: 'np-' },
    startedAt: new Date('2026-12-01T06:00:00.000Z'),
    durationMs: 61_234.56,
    cells,
    planned: plans.length,
    aborted: false,
  };
}
