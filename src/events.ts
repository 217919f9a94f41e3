/**
 * The typed event stream. Engines emit these; the Ink dashboard, the plain-line printer and
 * the NDJSON (--json) writer all subscribe to the same stream, so they cannot disagree.
 * Every event carries `type` and `at` (ms since the run started).
 *
 * Each engine defines its own events in its folder (nat/events.ts, ice/events.ts,
 * peer/events.ts, traversal/events.ts, turn/events.ts, server/events.ts), so no engine imports
 * upwards; this file is their union at the top, and re-exports them for the consumers (ui/,
 * report/, cli/). The lab matrix's events still live here.
 */
import type { DetectEvent } from './nat/events.js';
import type { PeerEvent, TrialEvent } from './peer/events.js';
import type { FieldEvent } from './field/events.js';

export type * from './nat/events.js';
export type * from './ice/events.js';
export type * from './peer/events.js';

/*
 * Lab matrix events (src/lab/matrix.ts): one cell per pair of NAT types. `cell` is the cell's
 * 0-based index in the plan; `id` names it, e.g. "port-restricted~symmetric".
 */

export interface LabMatrixPlannedEvent {
  type: 'lab-matrix-planned';
  at: number;
  types: string[];
  cgn?: string;
  cells: { cell: number; id: string; a: string; b: string; expectedDirect: boolean }[];
  runs: number;
  turn: boolean;
  /** `--strategy` variant names in order; absent means plain ICE only. */
  variants?: string[];
}

/** A cell moved to its next step. */
export interface LabMatrixCellPhaseEvent {
  type: 'lab-matrix-cell-phase';
  at: number;
  cell: number;
  id: string;
  phase: 'building' | 'servers' | 'detect' | 'workers' | 'direct' | 'relay' | 'teardown';
}

/** One trial of a cell finished (both sides reported their session). */
export interface LabMatrixTrialEvent {
  type: 'lab-matrix-trial';
  at: number;
  cell: number;
  id: string;
  kind: 'direct' | 'relay';
  trial: number;
  connected: boolean;
  timeToConnectMs?: number;
  pairType?: string;
  failureReason?: string;
  /** The `--strategy` variant of a direct trial; absent means plain ICE (`ice`). */
  variant?: string;
  /** Direct trials: which path won and the plan's technique (src/traversal/types.ts). */
  winner?: string;
  technique?: string;
}

/** A cell finished: its measured outcome beside theory. */
export interface LabMatrixCellDoneEvent {
  type: 'lab-matrix-cell-done';
  at: number;
  cell: number;
  id: string;
  expectedDirect: boolean;
  direct: { runs: number; succeeded: number };
  relay?: { runs: number; succeeded: number };
  timeToConnectP50Ms: number | null;
  pairType?: string;
  detectCorrect: { a: boolean; b: boolean };
  mismatch: boolean;
  problems: string[];
  finished: number;
  planned: number;
  /** Every `--strategy` variant's direct outcome, in order (absent: plain ICE only, as `direct`). */
  variants?: { name: string; runs: number; succeeded: number; upliftPoints: number | null; technique: string }[];
  /** Set when no technique reaches the pair (the plan said relay-only, or no variant connected). */
  relayOnly?: { reason: string; probability?: number };
}

export type LabMatrixEvent = LabMatrixPlannedEvent | LabMatrixCellPhaseEvent | LabMatrixTrialEvent | LabMatrixCellDoneEvent;

export type NatProbeEvent = DetectEvent | PeerEvent | TrialEvent | LabMatrixEvent | FieldEvent;

export type EventListener<E = NatProbeEvent> = (event: E) => void;
export type { FieldEvent } from './field/events.js';
