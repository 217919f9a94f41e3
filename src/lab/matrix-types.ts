/**
 * The result model of `nat-probe lab matrix`: one cell per pair of NAT types, holding what was
 * measured (detect verdicts, direct and relay trials) beside what theory says (`expected.ts`).
 * Reports, the live grid and the tests read these types; nothing here does I/O.
 */
import type { SessionRecord } from '../peer/repeat.js';
import type { ClassicName, FilteringBehaviour as DetectFiltering, MappingBehaviour as DetectMapping, VerdictKind } from '../nat/types.js';
import type { ExtraStrategy, PlanTechnique, PortmapReport, WinningPath } from '../traversal/types.js';
import type { FilteringBehaviour, MappingBehaviour } from './expected.js';
import type { NatType, TranslatingNatType } from './nat-types.js';
import type { NatMixResult } from './nat-mix.js';
import type { SideName } from './topology.js';

/** One cell to run: side A (behind `cgn` when set) against side B. */
export interface MatrixCellPlan {
  /** 0-based position in the plan; also names the cell's lab and rooms. */
  readonly index: number;
  /** Stable id, e.g. "port-restricted~symmetric" or "port-restricted@symmetric~port-restricted" with a CGN. */
  readonly id: string;
  readonly a: NatType;
  readonly b: NatType;
  readonly cgn: TranslatingNatType | undefined;
  /** `expectDirectSuccess(a, b, cgn)`: RFC 4787 hole-punching theory (LAB-NOTES table). */
  readonly expectedDirect: boolean;
  /** What `detect` must say on each side (EXPECTED_BEHAVIOUR / effectiveBehaviour). */
  readonly expectedDetect: Readonly<Record<SideName, ExpectedVerdict>>;
  /**
   * Each peer session's time bound. Short where theory expects failure (the checks would only
   * time out), long enough where it expects success that a slow connection is still seen.
   */
  readonly sessionTimeoutMs: number;
  /** Each relay-only session's bound: theory says a relay always works, so the long one. */
  readonly relayTimeoutMs: number;
  /**
   * Each session's bound in a strategy variant (one that asks for strategies beyond ICE). Where
   * plain ICE is expected to connect it is `sessionTimeoutMs` (the plan is then "ice" and nothing
   * extra runs); elsewhere it leaves room for the behaviour exchange and a full probe budget.
   */
  readonly strategyTimeoutMs: number;
}

/**
 * One column set of `--strategy`: a name as the user wrote it (`ice`, `predict`, `all`, …) and
 * the strategies beyond ICE its sessions ask for (`parseStrategyList` of the name; empty for ice).
 */
export interface MatrixVariant {
  readonly name: string;
  readonly strategies: readonly ExtraStrategy[];
}

/** The plan of a session, as its traversal report gave it (src/traversal/types.ts TraversalPlan). */
export interface TrialPlan {
  readonly technique: PlanTechnique;
  readonly reason: string;
  readonly probability?: number;
}

/**
 * What one side's session said about traversal beyond ICE: sent by the worker beside its
 * SessionRecord when the session returned a `traversal` report (probes and sockets summed over
 * that side's attempts).
 */
export interface SessionTraversal {
  readonly winner: WinningPath;
  readonly probesSent: number;
  readonly socketsOpened: number;
  readonly plan: TrialPlan;
  /** portmap: this side's gateway mapping (when the variant asked for portmap). */
  readonly portmap?: PortmapReport;
}

/** A worker's record of one session: the peer engine's SessionRecord, and its traversal part. */
export interface MatrixSessionRecord extends SessionRecord {
  readonly traversal?: SessionTraversal;
}

/** Traversal in one trial (both sides): side A's plan and winner, probes and sockets of both sides. */
export interface TrialTraversal {
  readonly winner: WinningPath;
  readonly probesSent: number;
  readonly socketsOpened: number;
  /** From side A's point of view ("this side" is A). */
  readonly plan: TrialPlan;
  /** portmap: both sides' gateway mappings (A first), when the variant asked for portmap. */
  readonly portmap?: readonly PortmapReport[];
}

export interface ExpectedVerdict {
  readonly classicName: ClassicName;
  readonly mapping: MappingBehaviour;
  readonly filtering: FilteringBehaviour;
}

/** What one side's `detect --json` said, or why it said nothing usable. */
export interface DetectOutcome {
  readonly side: SideName;
  /** The process's exit code (0 verdict, 1 inconclusive/blocked, 2 error); null when killed. */
  readonly exitCode: number | null;
  readonly kind?: VerdictKind;
  readonly classicName?: ClassicName;
  readonly mapping?: DetectMapping;
  readonly filtering?: DetectFiltering;
  readonly portAllocation?: string;
  readonly confidence?: string;
  /** Whole process, spawn to exit. */
  readonly durationMs: number;
  /** Set when the run gave no verdict document (crash, bad JSON, timeout). */
  readonly error?: string;
  /** The cell stopped (an error, Ctrl-C) before detect ran: no verdict to judge. */
  readonly notRun?: true;
}

/** A detect outcome judged against the expected verdict. */
export interface DetectCheck extends DetectOutcome {
  readonly expected: ExpectedVerdict;
  readonly correct: boolean;
  /** What differed, in words ("classic name symmetric, expected port-restricted-cone"). */
  readonly differences: readonly string[];
}

/** One side's view of one peer session, as the worker reports it. */
export type { SessionRecord };

/** One trial: the same-numbered sessions of both sides. */
export interface MatrixTrial {
  readonly index: number;
  /** Both sides connected. */
  readonly connected: boolean;
  /** The slower side's time to connect, as in `trials`. */
  readonly timeToConnectMs?: number;
  /** Side A's selected pair, "local/remote". */
  readonly pairType?: string;
  readonly failureReason?: string;
  /** Direct trials only. A session without a traversal report counts as plan "unknown", 0 probes, 0 sockets. */
  readonly traversal?: TrialTraversal;
}

/** Trials of one kind (direct, or relay-only) in a cell. */
export interface TrialSet {
  readonly kind: 'direct' | 'relay';
  readonly runs: number;
  readonly succeeded: number;
  readonly successRate: number;
  /** Pair types that worked, commonest first. */
  readonly pairTypes: readonly { readonly pairType: string; readonly count: number }[];
  readonly failureReasons: readonly { readonly reason: string; readonly count: number }[];
  /** p50 of the connected trials' time to connect; null when none connected. */
  readonly timeToConnectP50Ms: number | null;
  /** Every connected trial's time to connect, in trial order. */
  readonly timeToConnectSamplesMs: readonly number[];
  readonly trials: readonly MatrixTrial[];
}

/** Where the time of a cell went, for the "peers' work vs start-up" question. */
export interface CellTimings {
  readonly buildMs: number;
  /** After the build: the servers start while it runs, so this is only what is left of their start-up. */
  readonly serversMs: number;
  readonly detectMs: number;
  /** What was left of the workers' start-up (node and module loading) after detect: they start while it runs. */
  readonly workerStartupMs: number;
  /** From "go" until both workers finished every session: the peers' own work. */
  readonly sessionsMs: number;
  readonly teardownMs: number;
  readonly totalMs: number;
}

/** Uplift of a variant's success rate over the ice variant's in the same cell. */
export interface Uplift {
  /** Percentage points: 100 · (rate − ice rate). */
  readonly points: number;
  /** (rate − ice rate) / ice rate; null when ice connected no trial (no finite ratio). */
  readonly relative: number | null;
}

/** One variant's direct trials in a cell, summarised. */
export interface PortmapTally {
  readonly asked: number;
  readonly mapped: number;
  readonly advertised: number;
  readonly deleted: number;
  /** Median time from the request to the mapping over the sides that got one, ms. */
  readonly mapMsP50?: number;
  /** The commonest reason a side got no mapping (refused, skipped, silent gateway). */
  readonly commonestError?: string;
}

export interface VariantResult {
  readonly variant: MatrixVariant;
  readonly trials: TrialSet;
  /** Against the ice variant of the same cell; null for ice itself, or when ice did not run. */
  readonly uplift: Uplift | null;
  /** Median (p50, nearest rank) over every trial of both sides' probes (ports the other side did not signal). */
  readonly probesP50: number;
  /** Median over every trial of the extra sockets both sides opened. */
  readonly socketsP50: number;
  /** The plan most trials had (side A's view), with that trial's reason and probability. */
  readonly plan: TrialPlan;
  readonly techniques: readonly { readonly technique: PlanTechnique; readonly count: number }[];
  /** Which path won, per trial, commonest first ("none" for a trial that did not connect). */
  readonly winners: readonly { readonly winner: WinningPath; readonly count: number }[];
  /**
   * portmap (variants that ask for it): gateway mappings over the cell's trials, both sides —
   * how many sides were asked, got a mapping, advertised it, and saw it deleted; the median time
   * to a mapping; the commonest reason a side got none.
   */
  readonly portmap?: PortmapTally;
  /**
   * Ice: every trial went the way hole-punching theory says. A strategy variant: it lost no
   * trial where theory says plain ICE connects (a strategy must never make a cell worse); where
   * theory says ICE fails, whatever it rescues is uplift, not a difference.
   */
  readonly matchesTheory: boolean;
}

/**
 * A cell no technique reaches: the plan said "relay-only" (with its reason and probability), or
 * no variant connected a single trial although strategies ran.
 */
export interface RelayOnlyVerdict {
  readonly reason: string;
  readonly probability?: number;
  /** Which variant's plan said so (or the last strategy variant, when only the measurement did). */
  readonly variant: string;
}

export interface CellResult {
  readonly plan: MatrixCellPlan;
  readonly detect: Readonly<Record<SideName, DetectCheck>>;
  /** The baseline variant's direct trials (`ice` when it ran, else the first variant), as in v1. */
  readonly direct: TrialSet;
  /** Every variant in `--strategy` order; one (ice) by default. */
  readonly variants: readonly VariantResult[];
  /** Set when no technique reaches this pair (see RelayOnlyVerdict); absent with only the ice variant. */
  readonly relayOnly?: RelayOnlyVerdict;
  /** Present when the matrix ran with `--turn`. */
  readonly relay?: TrialSet;
  /** Theory is all-or-nothing: a cell matches when every direct trial agrees with it. */
  readonly directMatchesTheory: boolean;
  /** A relay works between any two sides that reach the TURN server (RFC 8656); undefined without --turn. */
  readonly relayMatchesTheory?: boolean;
  /** Measured differs from theory, or a detect verdict was wrong, or the cell could not run. */
  readonly mismatch: boolean;
  /** Why, one line each. */
  readonly problems: readonly string[];
  /** The cell could not run (lab, servers or workers failed): the message. */
  readonly error?: string;
  readonly timings: CellTimings;
}

export interface MatrixConfig {
  readonly types: readonly NatType[];
  readonly cgn: TranslatingNatType | undefined;
  readonly runs: number;
  readonly turn: boolean;
  readonly lossPercent: number;
  /** One-way delay (and its jitter) at every client's access hop, ms; absent when 0. */
  readonly delayMs?: number;
  readonly jitterMs?: number;
  readonly concurrency: number;
  readonly prefix: string;
  /** `--strategy`, in order; `[ice]` by default. */
  readonly variants: readonly MatrixVariant[];
  /** The variant `direct` holds and theory judges exactly: `ice` when listed, else the first. */
  readonly baseline: string;
}

export interface MatrixResult {
  readonly config: MatrixConfig;
  readonly startedAt: Date;
  readonly durationMs: number;
  /** In plan order; fewer than planned only when interrupted. */
  readonly cells: readonly CellResult[];
  readonly planned: number;
  readonly aborted: boolean;
  /** The cells weighted by a published NAT-type distribution (src/lab/nat-mix.ts); null with a CGN. */
  readonly mix: NatMixResult | null;
}
