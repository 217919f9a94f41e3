/**
 * Measured against theory (pure): detect verdicts against the type built, trials of the two
 * sides paired up and summarised, and each cell's verdict. Every rule the matrix's exit code
 * rests on lives here, so it is tested without namespaces.
 */
import { countBy, percentile } from '../stats.js';
import type { CellResult, CellTimings, DetectCheck, DetectOutcome, ExpectedVerdict, MatrixCellPlan, MatrixResult, MatrixTrial, SessionRecord, TrialSet } from './matrix-types.js';
import type { SideName } from './topology.js';

/**
 * A verdict is right when detect gave one (exit 0) whose classic name, mapping and filtering
 * (RFC 5780 §4.3, §4.4) are those the type was built with. Port allocation is shown, not judged:
 * with a CGN the inner NAT's preserved ports may or may not show through.
 */
export function checkDetect(outcome: DetectOutcome, expected: ExpectedVerdict): DetectCheck {
  const differences: string[] = [];
  if (outcome.error !== undefined) differences.push(`no verdict: ${outcome.error}`);
  else {
    if (outcome.exitCode !== 0) differences.push(`detect exited ${outcome.exitCode} (${outcome.kind ?? 'no verdict'})`);
    if (outcome.classicName !== expected.classicName) differences.push(`classic name ${outcome.classicName ?? 'none'}, expected ${expected.classicName}`);
    if (outcome.mapping !== expected.mapping) differences.push(`mapping ${outcome.mapping ?? 'none'}, expected ${expected.mapping}`);
    if (outcome.filtering !== expected.filtering) differences.push(`filtering ${outcome.filtering ?? 'none'}, expected ${expected.filtering}`);
  }
  return { ...outcome, expected, correct: differences.length === 0, differences };
}

/**
 * Trial i is session i of side A with session i of side B (both workers run their sessions in
 * order, in rooms `<kind>-i`). Connected only when both sides say so; the time to connect is
 * the slower side's, as in `trials`. A session a side never reported counts as failed.
 */
export function pairSessions(runs: number, a: readonly SessionRecord[], b: readonly SessionRecord[]): MatrixTrial[] {
  const byIndex = (records: readonly SessionRecord[]): Map<number, SessionRecord> => new Map(records.map((record) => [record.index, record]));
  const sideA = byIndex(a);
  const sideB = byIndex(b);
  const trials: MatrixTrial[] = [];
  for (let index = 1; index <= runs; index++) {
    const x = sideA.get(index);
    const y = sideB.get(index);
    if (x?.connected === true && y?.connected === true) {
      trials.push({
        index,
        connected: true,
        timeToConnectMs: Math.max(x.timeToConnectMs ?? 0, y.timeToConnectMs ?? 0),
        ...(x.pairType !== undefined ? { pairType: x.pairType } : {}),
      });
    } else {
      const reason = (x?.connected === false ? x.failureReason : undefined) ?? (y?.connected === false ? y.failureReason : undefined) ?? (x === undefined || y === undefined ? 'no-session' : 'one-side-only');
      trials.push({ index, connected: false, failureReason: reason });
    }
  }
  return trials;
}

export function summarizeTrialSet(kind: TrialSet['kind'], trials: readonly MatrixTrial[]): TrialSet {
  const connected = trials.filter((trial) => trial.connected);
  const samples = connected.map((trial) => trial.timeToConnectMs ?? 0);
  return {
    kind,
    runs: trials.length,
    succeeded: connected.length,
    successRate: trials.length === 0 ? 0 : connected.length / trials.length,
    pairTypes: countBy(connected, (trial) => trial.pairType).map(({ key, count }) => ({ pairType: key, count })),
    failureReasons: countBy(trials, (trial) => trial.failureReason).map(({ key, count }) => ({ reason: key, count })),
    timeToConnectP50Ms: samples.length === 0 ? null : percentile(samples, 50),
    timeToConnectSamplesMs: samples,
    trials: [...trials],
  };
}

/** Theory is a yes or a no; the measurement agrees when every trial went that way. */
function agrees(set: TrialSet, expected: boolean): boolean {
  return set.runs > 0 && (expected ? set.succeeded === set.runs : set.succeeded === 0);
}

function describeRate(set: TrialSet): string {
  return `${set.succeeded}/${set.runs}`;
}

export interface CellMeasurement {
  detect: Readonly<Record<SideName, DetectOutcome>>;
  direct: readonly MatrixTrial[];
  relay?: readonly MatrixTrial[];
  error?: string;
  timings: CellTimings;
}

export function judgeCell(plan: MatrixCellPlan, measured: CellMeasurement): CellResult {
  const detect = {
    a: checkDetect(measured.detect.a, plan.expectedDetect.a),
    b: checkDetect(measured.detect.b, plan.expectedDetect.b),
  };
  const direct = summarizeTrialSet('direct', measured.direct);
  const relay = measured.relay === undefined ? undefined : summarizeTrialSet('relay', measured.relay);
  const directMatchesTheory = agrees(direct, plan.expectedDirect);
  const relayMatchesTheory = relay === undefined ? undefined : agrees(relay, true);
  const problems: string[] = [];
  if (measured.error !== undefined) problems.push(`cell did not run: ${measured.error}`);
  for (const side of ['a', 'b'] as const) {
    // A detect that never ran is covered by "cell did not run"; it is not a wrong verdict.
    if (!detect[side].correct && detect[side].notRun !== true) problems.push(`detect on side ${side.toUpperCase()} (${side === 'a' ? plan.a : plan.b}${side === 'a' && plan.cgn ? ` behind ${plan.cgn}` : ''}): ${detect[side].differences.join('; ')}`);
  }
  if (measured.error === undefined && !directMatchesTheory) {
    problems.push(`direct ${describeRate(direct)} connected, theory says ${plan.expectedDirect ? 'every trial connects' : 'none connects'}`);
  }
  if (measured.error === undefined && relay !== undefined && relayMatchesTheory === false) {
    problems.push(`relay ${describeRate(relay)} connected, every relayed trial should`);
  }
  return {
    plan,
    detect,
    direct,
    ...(relay !== undefined ? { relay, relayMatchesTheory } : {}),
    directMatchesTheory,
    mismatch: problems.length > 0,
    problems,
    ...(measured.error !== undefined ? { error: measured.error } : {}),
    timings: measured.timings,
  };
}

/** README "Exit codes": 0 every cell ran and matches theory with right detect verdicts; 1 otherwise. */
export function matrixExitCode(result: Pick<MatrixResult, 'cells' | 'planned' | 'aborted'>): 0 | 1 {
  if (result.aborted || result.cells.length < result.planned) return 1;
  return result.cells.every((cell) => !cell.mismatch) ? 0 : 1;
}
