/**
 * Measured against theory (pure): detect verdicts against the type built, trials of the two
 * sides paired up and summarised, and each cell's verdict. Every rule the matrix's exit code
 * rests on lives here, so it is tested without namespaces.
 */
import { countBy, percentile } from '../stats.js';
import type { PlanTechnique, PortmapReport, WinningPath } from '../traversal/types.js';
import type {
  PortmapTally,
  CellResult,
  CellTimings,
  DetectCheck,
  DetectOutcome,
  ExpectedVerdict,
  MatrixCellPlan,
  MatrixResult,
  MatrixSessionRecord,
  MatrixTrial,
  MatrixVariant,
  RelayOnlyVerdict,
  TrialSet,
  TrialTraversal,
  Uplift,
  VariantResult,
} from './matrix-types.js';
import { baselineVariant, ICE_VARIANT } from './matrix-variants.js';
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
 * `withTraversal` (direct trials of a variant) adds each trial's traversal (combineTraversal).
 */
export function pairSessions(runs: number, a: readonly MatrixSessionRecord[], b: readonly MatrixSessionRecord[], options: { withTraversal?: boolean } = {}): MatrixTrial[] {
  const byIndex = (records: readonly MatrixSessionRecord[]): Map<number, MatrixSessionRecord> => new Map(records.map((record) => [record.index, record]));
  const sideA = byIndex(a);
  const sideB = byIndex(b);
  const trials: MatrixTrial[] = [];
  for (let index = 1; index <= runs; index++) {
    const x = sideA.get(index);
    const y = sideB.get(index);
    const connected = x?.connected === true && y?.connected === true;
    const traversal = options.withTraversal === true ? { traversal: combineTraversal(x, y, connected) } : {};
    if (connected) {
      trials.push({
        index,
        connected: true,
        timeToConnectMs: Math.max(x.timeToConnectMs ?? 0, y.timeToConnectMs ?? 0),
        ...(x.pairType !== undefined ? { pairType: x.pairType } : {}),
        ...traversal,
      });
    } else {
      const reason = (x?.connected === false ? x.failureReason : undefined) ?? (y?.connected === false ? y.failureReason : undefined) ?? (x === undefined || y === undefined ? 'no-session' : 'one-side-only');
      trials.push({ index, connected: false, failureReason: reason, ...traversal });
    }
  }
  return trials;
}

/** The plan a trial counts with when no session sent a traversal report (plain ICE, or an engine without one). */
export const NO_TRAVERSAL_REPORT = 'the sessions sent no traversal report: plain ICE only';

/**
 * One trial's traversal from both sides' records: side A's plan (side B's when A sent none),
 * the winner when both connected (side A's, else "ice"; "none" otherwise), and the probes and
 * sockets of both sides together. A missing report is plan "unknown" with 0 probes and 0 sockets.
 */
export function combineTraversal(x: MatrixSessionRecord | undefined, y: MatrixSessionRecord | undefined, connected: boolean): TrialTraversal {
  const a = x?.traversal;
  const b = y?.traversal;
  return {
    winner: connected ? (a?.winner ?? b?.winner ?? 'ice') : 'none',
    probesSent: (a?.probesSent ?? 0) + (b?.probesSent ?? 0),
    socketsOpened: (a?.socketsOpened ?? 0) + (b?.socketsOpened ?? 0),
    plan: a?.plan ?? b?.plan ?? { technique: 'unknown', reason: NO_TRAVERSAL_REPORT },
    ...(a?.portmap !== undefined || b?.portmap !== undefined ? { portmap: [a?.portmap, b?.portmap].filter((p): p is PortmapReport => p !== undefined) } : {}),
  };
}

function withTally(tally: PortmapTally | undefined): { portmap?: PortmapTally } {
  return tally === undefined ? {} : { portmap: tally };
}

/** The gateway mappings of a variant's trials, both sides together (VariantResult.portmap). */
export function tallyPortmap(traversals: readonly TrialTraversal[]): PortmapTally | undefined {
  const reports = traversals.flatMap((t) => t.portmap ?? []);
  if (reports.length === 0) return undefined;
  const mapped = reports.filter((r) => r.mapped);
  const times = mapped.flatMap((r) => (r.durationMs !== undefined ? [r.durationMs] : []));
  const errors = countBy(
    reports.filter((r) => !r.mapped),
    (r) => r.skipped !== undefined ? `not asked: ${r.skipped}` : (r.error ?? 'not mapped'),
  );
  return {
    asked: reports.filter((r) => r.skipped === undefined).length,
    mapped: mapped.length,
    advertised: reports.filter((r) => r.advertised).length,
    deleted: reports.filter((r) => r.deleted).length,
    ...(times.length > 0 ? { mapMsP50: median(times) } : {}),
    ...(errors[0] !== undefined ? { commonestError: errors[0].key } : {}),
  };
}

/** A trial's traversal, or what a trial without one counts as (see combineTraversal). */
export function traversalOf(trial: MatrixTrial): TrialTraversal {
  return trial.traversal ?? { winner: trial.connected ? 'ice' : 'none', probesSent: 0, socketsOpened: 0, plan: { technique: 'unknown', reason: NO_TRAVERSAL_REPORT } };
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

/** A strategy variant only has to keep what plain ICE has: every trial where theory says ICE connects. */
function keepsIce(set: TrialSet, expected: boolean): boolean {
  return set.runs > 0 && (!expected || set.succeeded === set.runs);
}

function describeRate(set: TrialSet): string {
  return `${set.succeeded}/${set.runs}`;
}

/** Uplift of `rate` over the ice variant's `iceRate` (both 0..1). */
export function uplift(rate: number, iceRate: number): Uplift {
  return { points: 100 * (rate - iceRate), relative: iceRate > 0 ? (rate - iceRate) / iceRate : null };
}

/** p50 by nearest rank, 0 for no samples. */
function median(samples: readonly number[]): number {
  return samples.length === 0 ? 0 : percentile(samples, 50);
}

/**
 * One variant's trials in a cell: success, time to connect, probes and sockets per trial
 * (medians), the plan most trials had and who won. `ice` is the ice variant's set, for uplift.
 */
export function summarizeVariant(variant: MatrixVariant, trials: readonly MatrixTrial[], expectedDirect: boolean, ice: TrialSet | undefined): VariantResult {
  const set = summarizeTrialSet('direct', trials);
  const traversals = trials.map(traversalOf);
  const techniques = countBy(traversals, (t) => t.plan.technique).map(({ key, count }) => ({ technique: key as PlanTechnique, count }));
  const top = techniques[0]?.technique;
  const planned = traversals.find((t) => t.plan.technique === top)?.plan ?? { technique: 'unknown' as const, reason: 'no trial ran' };
  const isIce = variant.strategies.length === 0;
  return {
    variant,
    trials: set,
    uplift: variant.name === ICE_VARIANT.name || ice === undefined ? null : uplift(set.successRate, ice.successRate),
    probesP50: median(traversals.map((t) => t.probesSent)),
    socketsP50: median(traversals.map((t) => t.socketsOpened)),
    plan: planned,
    techniques,
    winners: countBy(traversals, (t) => t.winner).map(({ key, count }) => ({ winner: key as WinningPath, count })),
    ...(variant.strategies.includes('portmap') ? withTally(tallyPortmap(traversals)) : {}),
    matchesTheory: isIce ? agrees(set, expectedDirect) : keepsIce(set, expectedDirect),
  };
}

/**
 * "relay-only" for a cell: a strategy variant's plan said so (the variant with the most
 * strategies wins), or strategies ran and no variant connected a single trial. Undefined when
 * only plain ICE ran, or some technique reached the pair (a variant whose plan was a direct
 * technique — predict, birthday, portmap — connected trials).
 */
export function relayOnlyVerdict(variants: readonly VariantResult[]): RelayOnlyVerdict | undefined {
  const strategic = variants.filter((v) => v.variant.strategies.length > 0);
  if (strategic.length === 0) return undefined;
  // A direct technique that connected trials reaches the pair, whatever a narrower variant's plan
  // said (birthday alone plans relay-only for symmetric ↔ symmetric; portmap connects it).
  if (strategic.some((v) => v.trials.succeeded > 0 && v.plan.technique !== 'relay-only' && v.plan.technique !== 'unknown' && v.plan.technique !== 'ice')) return undefined;
  const byReach = [...strategic].sort((x, y) => y.variant.strategies.length - x.variant.strategies.length);
  const refused = byReach.find((v) => v.plan.technique === 'relay-only');
  if (refused !== undefined) return { reason: refused.plan.reason, ...(refused.plan.probability !== undefined ? { probability: refused.plan.probability } : {}), variant: refused.variant.name };
  if (variants.every((v) => v.trials.runs > 0 && v.trials.succeeded === 0)) {
    const last = byReach[0]!;
    return {
      reason: `no variant connected a trial (${last.variant.name} planned ${last.plan.technique}: ${last.plan.reason})`,
      ...(last.plan.probability !== undefined ? { probability: last.plan.probability } : {}),
      variant: last.variant.name,
    };
  }
  return undefined;
}

export interface CellMeasurement {
  detect: Readonly<Record<SideName, DetectOutcome>>;
  /** The direct trials of plain ICE (used when `variants` is not given). */
  direct: readonly MatrixTrial[];
  /** Every variant's direct trials, in `--strategy` order; when given, `direct` is the baseline's entry. */
  variants?: readonly { readonly variant: MatrixVariant; readonly trials: readonly MatrixTrial[] }[];
  relay?: readonly MatrixTrial[];
  error?: string;
  timings: CellTimings;
}

export function judgeCell(plan: MatrixCellPlan, measured: CellMeasurement): CellResult {
  const detect = {
    a: checkDetect(measured.detect.a, plan.expectedDetect.a),
    b: checkDetect(measured.detect.b, plan.expectedDetect.b),
  };
  const measuredVariants = measured.variants ?? [{ variant: ICE_VARIANT, trials: measured.direct }];
  const baseline = baselineVariant(measuredVariants.map((m) => m.variant));
  const iceTrials = measuredVariants.find((m) => m.variant.name === ICE_VARIANT.name)?.trials;
  const iceSet = iceTrials === undefined ? undefined : summarizeTrialSet('direct', iceTrials);
  const variants = measuredVariants.map((m) => summarizeVariant(m.variant, m.trials, plan.expectedDirect, iceSet));
  const base = variants.find((v) => v.variant.name === baseline.name)!;
  const direct = base.trials;
  const relay = measured.relay === undefined ? undefined : summarizeTrialSet('relay', measured.relay);
  const directMatchesTheory = base.matchesTheory;
  const relayMatchesTheory = relay === undefined ? undefined : agrees(relay, true);
  const problems: string[] = [];
  if (measured.error !== undefined) problems.push(`cell did not run: ${measured.error}`);
  for (const side of ['a', 'b'] as const) {
    // A detect that never ran is covered by "cell did not run"; it is not a wrong verdict.
    if (!detect[side].correct && detect[side].notRun !== true) problems.push(`detect on side ${side.toUpperCase()} (${side === 'a' ? plan.a : plan.b}${side === 'a' && plan.cgn ? ` behind ${plan.cgn}` : ''}): ${detect[side].differences.join('; ')}`);
  }
  if (measured.error === undefined) {
    for (const v of variants) {
      if (v.matchesTheory) continue;
      if (v.variant.strategies.length === 0) {
        const what = v.variant.name === ICE_VARIANT.name ? 'direct' : `variant ${v.variant.name}: direct`;
        problems.push(`${what} ${describeRate(v.trials)} connected, theory says ${plan.expectedDirect ? 'every trial connects' : 'none connects'}`);
      } else {
        problems.push(`variant ${v.variant.name}: ${describeRate(v.trials)} connected where plain ICE connects every trial by theory; a strategy must not lose one`);
      }
    }
  }
  if (measured.error === undefined && relay !== undefined && relayMatchesTheory === false) {
    problems.push(`relay ${describeRate(relay)} connected, every relayed trial should`);
  }
  const relayOnly = measured.error === undefined ? relayOnlyVerdict(variants) : undefined;
  return {
    plan,
    detect,
    direct,
    variants,
    ...(relayOnly !== undefined ? { relayOnly } : {}),
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
