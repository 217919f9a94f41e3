/**
 * The `lab matrix --json` document, version `nat-probe.lab-matrix/v1`: per cell the measured
 * direct (and relay) outcome, time to connect, detect verdicts per side, theory, and what
 * differs. The table, the HTML report and the live grid's final frame all render this model.
 */
import type { CellResult, DetectCheck, MatrixResult, TrialSet } from '../lab/matrix-types.js';

export const LAB_MATRIX_SCHEMA = 'nat-probe.lab-matrix/v1';

export interface LabMatrixTrialSetReport {
  readonly runs: number;
  readonly succeeded: number;
  readonly successRate: number;
  readonly pairTypes: TrialSet['pairTypes'];
  readonly failureReasons: TrialSet['failureReasons'];
  readonly timeToConnectMs: { readonly p50: number | null; readonly samples: readonly number[] };
}

export interface LabMatrixDetectReport {
  readonly expected: DetectCheck['expected'];
  readonly kind: string | null;
  readonly classicName: string | null;
  readonly mapping: string | null;
  readonly filtering: string | null;
  readonly portAllocation: string | null;
  readonly correct: boolean;
  /** False when the cell stopped before detect ran (then `correct` is false but no verdict was wrong). */
  readonly ran: boolean;
  readonly differences: readonly string[];
  readonly durationMs: number;
}

export interface LabMatrixCellReport {
  readonly id: string;
  readonly a: string;
  readonly b: string;
  readonly cgn: string | null;
  readonly theory: { readonly direct: boolean; readonly relay: boolean | null };
  readonly direct: LabMatrixTrialSetReport;
  readonly relay: LabMatrixTrialSetReport | null;
  readonly detect: { readonly a: LabMatrixDetectReport; readonly b: LabMatrixDetectReport };
  readonly directMatchesTheory: boolean;
  readonly relayMatchesTheory: boolean | null;
  readonly mismatch: boolean;
  readonly problems: readonly string[];
  readonly error: string | null;
  readonly timingsMs: CellResult['timings'];
}

export interface LabMatrixReport {
  readonly schema: typeof LAB_MATRIX_SCHEMA;
  readonly tool: { readonly name: 'nat-probe'; readonly version: string };
  readonly startedAt: string;
  readonly durationMs: number;
  readonly config: {
    readonly types: readonly string[];
    readonly cgn: string | null;
    readonly runs: number;
    readonly turn: boolean;
    readonly lossPercent: number;
    readonly concurrency: number;
  };
  readonly summary: {
    readonly planned: number;
    readonly ran: number;
    readonly matching: number;
    readonly mismatched: number;
    readonly detectWrong: number;
    readonly aborted: boolean;
  };
  readonly cells: readonly LabMatrixCellReport[];
  /** The cells where measured differs from theory (or detect was wrong), with why. */
  readonly differences: readonly { readonly id: string; readonly problems: readonly string[] }[];
  /** 0 everything matches, 1 otherwise (README "Exit codes"). */
  readonly exitCode: 0 | 1;
}

const round1 = (ms: number): number => Math.round(ms * 10) / 10;

function trialSet(set: TrialSet): LabMatrixTrialSetReport {
  return {
    runs: set.runs,
    succeeded: set.succeeded,
    successRate: set.successRate,
    pairTypes: set.pairTypes,
    failureReasons: set.failureReasons,
    timeToConnectMs: { p50: set.timeToConnectP50Ms === null ? null : round1(set.timeToConnectP50Ms), samples: set.timeToConnectSamplesMs.map(round1) },
  };
}

function detect(check: DetectCheck): LabMatrixDetectReport {
  return {
    expected: check.expected,
    kind: check.kind ?? null,
    classicName: check.classicName ?? null,
    mapping: check.mapping ?? null,
    filtering: check.filtering ?? null,
    portAllocation: check.portAllocation ?? null,
    correct: check.correct,
    ran: check.notRun !== true,
    differences: check.differences,
    durationMs: round1(check.durationMs),
  };
}

function cell(result: CellResult): LabMatrixCellReport {
  const { plan } = result;
  const timings = Object.fromEntries(Object.entries(result.timings).map(([key, value]) => [key, round1(value)])) as unknown as CellResult['timings'];
  return {
    id: plan.id,
    a: plan.a,
    b: plan.b,
    cgn: plan.cgn ?? null,
    theory: { direct: plan.expectedDirect, relay: result.relay === undefined ? null : true },
    direct: trialSet(result.direct),
    relay: result.relay === undefined ? null : trialSet(result.relay),
    detect: { a: detect(result.detect.a), b: detect(result.detect.b) },
    directMatchesTheory: result.directMatchesTheory,
    relayMatchesTheory: result.relayMatchesTheory ?? null,
    mismatch: result.mismatch,
    problems: result.problems,
    error: result.error ?? null,
    timingsMs: timings,
  };
}

export function buildLabMatrixReport(result: MatrixResult, meta: { version: string }): LabMatrixReport {
  const cells = result.cells.map(cell);
  return {
    schema: LAB_MATRIX_SCHEMA,
    tool: { name: 'nat-probe', version: meta.version },
    startedAt: result.startedAt.toISOString(),
    durationMs: round1(result.durationMs),
    config: {
      types: result.config.types,
      cgn: result.config.cgn ?? null,
      runs: result.config.runs,
      turn: result.config.turn,
      lossPercent: result.config.lossPercent,
      concurrency: result.config.concurrency,
    },
    summary: {
      planned: result.planned,
      ran: cells.length,
      matching: cells.filter((c) => !c.mismatch).length,
      mismatched: cells.filter((c) => c.mismatch).length,
      detectWrong: cells.reduce((n, c) => n + [c.detect.a, c.detect.b].filter((d) => d.ran && !d.correct).length, 0),
      aborted: result.aborted,
    },
    cells,
    differences: cells.filter((c) => c.mismatch).map((c) => ({ id: c.id, problems: c.problems })),
    // The same rule as matrixExitCode (src/lab/matrix-compare.ts), on the report's own fields.
    exitCode: !result.aborted && cells.length === result.planned && cells.every((c) => !c.mismatch) ? 0 : 1,
  };
}

/** The rows and columns of the grid: side A's types down, side B's across, in the order given. */
export function gridAxes(report: Pick<LabMatrixReport, 'config' | 'cells'>): { rows: string[]; columns: string[] } {
  return { rows: [...report.config.types], columns: [...report.config.types] };
}

/**
 * The cell shown at (row, column). Without a CGN the matrix is symmetric, so (x, y) and (y, x)
 * show the same cell; with one, rows are side A (behind the CGN).
 */
export function cellAt(report: Pick<LabMatrixReport, 'config' | 'cells'>, row: string, column: string): LabMatrixCellReport | undefined {
  return report.cells.find((c) => (c.a === row && c.b === column) || (report.config.cgn === null && c.a === column && c.b === row));
}

/** Short names for the grid's headers; the legend spells them out. */
export const TYPE_SHORT_NAMES: Readonly<Record<string, string>> = {
  none: 'none',
  firewall: 'FW',
  'full-cone': 'FC',
  restricted: 'R',
  'port-restricted': 'PR',
  'addr-dependent': 'AD',
  symmetric: 'S',
  'symmetric-sequential': 'SS',
};

export function shortName(type: string): string {
  return TYPE_SHORT_NAMES[type] ?? type;
}

/** "2/3" for a cell's direct trials, "3/3 · relay 3/3" with relay, "ERR" when it did not run. */
export function cellScore(cell: LabMatrixCellReport): string {
  if (cell.error !== null) return 'ERR';
  const direct = `${cell.direct.succeeded}/${cell.direct.runs}`;
  return cell.relay === null ? direct : `${direct} r${cell.relay.succeeded}/${cell.relay.runs}`;
}
