/**
 * The result model of `nat-probe lab matrix`: one cell per pair of NAT types, holding what was
 * measured (detect verdicts, direct and relay trials) beside what theory says (`expected.ts`).
 * Reports, the live grid and the tests read these types; nothing here does I/O.
 */
import type { ClassicName, FilteringBehaviour as DetectFiltering, MappingBehaviour as DetectMapping, VerdictKind } from '../nat/types.js';
import type { FilteringBehaviour, MappingBehaviour } from './expected.js';
import type { NatType, TranslatingNatType } from './nat-types.js';
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
export type { SessionRecord } from '../peer/repeat.js';

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

export interface CellResult {
  readonly plan: MatrixCellPlan;
  readonly detect: Readonly<Record<SideName, DetectCheck>>;
  readonly direct: TrialSet;
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
  readonly concurrency: number;
  readonly prefix: string;
}

export interface MatrixResult {
  readonly config: MatrixConfig;
  readonly startedAt: Date;
  readonly durationMs: number;
  /** In plan order; fewer than planned only when interrupted. */
  readonly cells: readonly CellResult[];
  readonly planned: number;
  readonly aborted: boolean;
}
