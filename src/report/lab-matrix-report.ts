/**
 * The `lab matrix --json` document, version `nat-probe.lab-matrix/v2`: per cell the measured
 * direct (and relay) outcome, time to connect, detect verdicts per side, theory, and what
 * differs; per `--strategy` variant its success, uplift against ice, probes, sockets and plan;
 * and the realistic mix. The table, the HTML report and the live grid's final frame all render
 * this model.
 *
 * v2 over v1: `config.variants`, `config.baseline`, `cells[].variants`, `cells[].relayOnly`,
 * `summary.relayOnly`, `mix`. Every v1 field keeps its meaning; `direct` is the baseline
 * variant's trials (`ice` unless `--strategy` leaves it out).
 */
import type { CellResult, DetectCheck, MatrixResult, MatrixTrial, TrialSet, VariantResult } from '../lab/matrix-types.js';
import type { NatMixResult } from '../lab/nat-mix.js';
import type { PlanTechnique, WinningPath } from '../traversal/types.js';

export const LAB_MATRIX_SCHEMA = 'nat-probe.lab-matrix/v2';

export interface LabMatrixTrialSetReport {
  readonly runs: number;
  readonly succeeded: number;
  readonly successRate: number;
  readonly pairTypes: TrialSet['pairTypes'];
  readonly failureReasons: TrialSet['failureReasons'];
  readonly timeToConnectMs: { readonly p50: number | null; readonly samples: readonly number[] };
}

/** One direct trial of a variant, as the JSON gives it. */
export interface LabMatrixVariantTrialReport {
  readonly index: number;
  readonly connected: boolean;
  readonly timeToConnectMs: number | null;
  readonly winner: WinningPath;
  readonly probesSent: number;
  readonly socketsOpened: number;
  readonly technique: PlanTechnique;
}

/** One `--strategy` variant in one cell. */
export interface LabMatrixVariantReport {
  readonly name: string;
  readonly strategies: readonly string[];
  readonly runs: number;
  readonly succeeded: number;
  readonly successRate: number;
  /** Against the ice variant of the cell: percentage points and relative (null: ice connected none). Null for ice itself or without ice. */
  readonly uplift: { readonly points: number; readonly relative: number | null } | null;
  readonly timeToConnectMs: { readonly p50: number | null; readonly samples: readonly number[] };
  readonly pairTypes: TrialSet['pairTypes'];
  readonly failureReasons: TrialSet['failureReasons'];
  /** Medians over the variant's trials of both sides' probes and extra sockets. */
  readonly probesPerTrialP50: number;
  readonly socketsPerTrialP50: number;
  /** The plan most trials had, from side A's point of view; probability null where the plan gives none. */
  readonly plan: { readonly technique: PlanTechnique; readonly reason: string; readonly probability: number | null };
  readonly techniques: VariantResult['techniques'];
  readonly winners: VariantResult['winners'];
  /** Ice: as theory in every trial. A strategy variant: no trial lost where theory says ICE connects. */
  readonly matchesTheory: boolean;
  readonly trials: readonly LabMatrixVariantTrialReport[];
  /** portmap variants: the gateway mappings of both sides over the trials (asked, mapped, advertised, deleted, p50 time to map). */
  readonly portmap?: VariantResult['portmap'];
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
  /** Every `--strategy` variant in order (one, ice, by default). */
  readonly variants: readonly LabMatrixVariantReport[];
  /** Set when no technique reaches the pair: the plan said relay-only (reason, probability), or no variant connected. */
  readonly relayOnly: { readonly reason: string; readonly probability: number | null; readonly variant: string } | null;
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
    /** One-way delay and jitter at each client's access hop (`--delay`, `--jitter`), ms; absent without delay. */
    readonly delayMs?: number;
    readonly jitterMs?: number;
    readonly concurrency: number;
    /** `--strategy`: each variant's name and the strategies beyond ICE its sessions asked for. */
    readonly variants: readonly { readonly name: string; readonly strategies: readonly string[] }[];
    /** The variant `direct` holds and theory judges exactly. */
    readonly baseline: string;
  };
  readonly summary: {
    readonly planned: number;
    readonly ran: number;
    readonly matching: number;
    readonly mismatched: number;
    readonly detectWrong: number;
    readonly aborted: boolean;
    /** Cells no technique reaches (cells[].relayOnly set). */
    readonly relayOnly: number;
  };
  readonly cells: readonly LabMatrixCellReport[];
  /** The cells where measured differs from theory (or detect was wrong), with why. */
  readonly differences: readonly { readonly id: string; readonly problems: readonly string[] }[];
  /** Each variant's overall success with the cells weighted by a published NAT-type distribution; null with a CGN. */
  readonly mix: NatMixResult | null;
  /** 0 everything matches, 1 otherwise (README "Exit codes"). */
  readonly exitCode: 0 | 1;
}

const round1 = (ms: number): number => Math.round(ms * 10) / 10;
const round4 = (x: number): number => Math.round(x * 10_000) / 10_000;

function variantTrial(trial: MatrixTrial, connected: boolean): LabMatrixVariantTrialReport {
  const t = trial.traversal;
  return {
    index: trial.index,
    connected,
    timeToConnectMs: trial.timeToConnectMs === undefined ? null : round1(trial.timeToConnectMs),
    winner: t?.winner ?? (connected ? 'ice' : 'none'),
    probesSent: t?.probesSent ?? 0,
    socketsOpened: t?.socketsOpened ?? 0,
    technique: t?.plan.technique ?? 'unknown',
  };
}

function variant(v: VariantResult): LabMatrixVariantReport {
  const set = trialSet(v.trials);
  return {
    name: v.variant.name,
    strategies: [...v.variant.strategies],
    runs: set.runs,
    succeeded: set.succeeded,
    successRate: set.successRate,
    uplift: v.uplift === null ? null : { points: round1(v.uplift.points), relative: v.uplift.relative === null ? null : round4(v.uplift.relative) },
    timeToConnectMs: set.timeToConnectMs,
    pairTypes: set.pairTypes,
    failureReasons: set.failureReasons,
    probesPerTrialP50: v.probesP50,
    socketsPerTrialP50: v.socketsP50,
    plan: { technique: v.plan.technique, reason: v.plan.reason, probability: v.plan.probability ?? null },
    techniques: v.techniques,
    winners: v.winners,
    matchesTheory: v.matchesTheory,
    trials: v.trials.trials.map((trial) => variantTrial(trial, trial.connected)),
    ...(v.portmap !== undefined ? { portmap: { ...v.portmap, ...(v.portmap.mapMsP50 !== undefined ? { mapMsP50: round1(v.portmap.mapMsP50) } : {}) } } : {}),
  };
}

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
    variants: result.variants.map(variant),
    relayOnly: result.relayOnly === undefined ? null : { reason: result.relayOnly.reason, probability: result.relayOnly.probability ?? null, variant: result.relayOnly.variant },
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
      ...(result.config.delayMs !== undefined && result.config.delayMs > 0 ? { delayMs: result.config.delayMs, jitterMs: result.config.jitterMs ?? 0 } : {}),
      concurrency: result.config.concurrency,
      variants: result.config.variants.map((v) => ({ name: v.name, strategies: [...v.strategies] })),
      baseline: result.config.baseline,
    },
    summary: {
      planned: result.planned,
      ran: cells.length,
      matching: cells.filter((c) => !c.mismatch).length,
      mismatched: cells.filter((c) => c.mismatch).length,
      detectWrong: cells.reduce((n, c) => n + [c.detect.a, c.detect.b].filter((d) => d.ran && !d.correct).length, 0),
      aborted: result.aborted,
      relayOnly: cells.filter((c) => c.relayOnly !== null).length,
    },
    cells,
    differences: cells.filter((c) => c.mismatch).map((c) => ({ id: c.id, problems: c.problems })),
    mix: result.mix === null ? null : roundMix(result.mix),
    // The same rule as matrixExitCode (src/lab/matrix-compare.ts), on the report's own fields.
    exitCode: !result.aborted && cells.length === result.planned && cells.every((c) => !c.mismatch) ? 0 : 1,
  };
}

function roundMix(mix: NatMixResult): NatMixResult {
  return {
    ...mix,
    coverage: round4(mix.coverage),
    variants: mix.variants.map((v) => ({ ...v, success: round4(v.success), relativeUplift: v.relativeUplift === null ? null : round4(v.relativeUplift) })),
    allOverIce: mix.allOverIce === null ? null : { ice: round4(mix.allOverIce.ice), all: round4(mix.allOverIce.all), relative: mix.allOverIce.relative === null ? null : round4(mix.allOverIce.relative) },
    claimed: { ...mix.claimed, relative: round4(mix.claimed.relative) } as NatMixResult['claimed'],
  };
}

/** True when the run had more than plain ICE (`--strategy` other than the default `ice`). */
export function hasVariants(report: Pick<LabMatrixReport, 'config'>): boolean {
  return !(report.config.variants.length === 1 && report.config.variants[0]!.name === 'ice');
}

/** "+12.5 pp" / "−3 pp" / "±0 pp". */
export function formatPoints(points: number): string {
  const rounded = Math.round(points * 10) / 10;
  if (rounded === 0) return '±0 pp';
  return `${rounded > 0 ? '+' : '−'}${Math.abs(rounded)} pp`;
}

/** "+41%" / "−5%" / "n/a" (no finite ratio). */
export function formatRelative(relative: number | null): string {
  if (relative === null) return 'n/a';
  const pct = Math.round(relative * 1000) / 10;
  if (pct === 0) return '±0%';
  return `${pct > 0 ? '+' : '−'}${Math.abs(pct)}%`;
}

/** "52.3%". */
export function formatPercent(rate: number): string {
  return `${(Math.round(rate * 1000) / 10).toFixed(1)}%`;
}

/** The variant shown beside the baseline in compact views: the last one listed that is not the baseline (`all` in `ice,all` and in `all,ice`). */
export function comparedVariant(report: Pick<LabMatrixReport, 'config'>): string {
  const others = report.config.variants.filter((v) => v.name !== report.config.baseline);
  return (others.at(-1) ?? report.config.variants.at(-1)!).name;
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

export { formatProbability } from '../stats.js';

/** The realistic mix, a few lines; undefined without one (a CGN run). */
export function mixText(report: LabMatrixReport): string | undefined {
  const mix = report.mix;
  if (mix === null) return undefined;
  const lines = [`realistic mix (cells weighted by NAT types of ${mix.distribution.label}; they cover ${formatPercent(mix.coverage)} of pairs):`];
  lines.push(`  ${mix.variants.map((v) => `${v.name} ${formatPercent(v.success)}${v.relativeUplift !== null ? ` (${formatRelative(v.relativeUplift)})` : ''}`).join(' · ')}`);
  const claimed = `claimed by the system this project comes from: ${formatRelative(mix.claimed.relative)} (${formatPercent(mix.claimed.from)} → ${formatPercent(mix.claimed.to)})`;
  lines.push(mix.allOverIce !== null ? `  all over ice: ${formatRelative(mix.allOverIce.relative)} (${formatPercent(mix.allOverIce.ice)} → ${formatPercent(mix.allOverIce.all)})` : '  all over ice: not measured (run --strategy ice,all)');
  lines.push(`  ${claimed}`);
  return lines.join('\n');
}
