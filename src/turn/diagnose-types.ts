/**
 * The result model of a TURN server diagnosis (`nat-probe turn`): six checks in order, each
 * pass / fail / skipped with what was measured. Reporters and the Ink view consume these
 * types; nothing here ever holds a password or secret.
 */
import type { TurnTransport } from './url.js';

export type TurnStepName = 'reachability' | 'authentication' | 'allocation' | 'permission' | 'channel' | 'round-trip';

export const TURN_STEPS: readonly TurnStepName[] = ['reachability', 'authentication', 'allocation', 'permission', 'channel', 'round-trip'];

export type TurnStepStatus = 'pending' | 'running' | 'pass' | 'fail' | 'skipped';

export interface TurnStepResult {
  readonly step: TurnStepName;
  readonly status: Exclude<TurnStepStatus, 'pending' | 'running'>;
  /** One line for people: what was found, or why it failed and what to do. */
  readonly detail: string;
  /** The stable error code when it failed (e.g. turn-auth-failed). */
  readonly code?: string;
  readonly durationMs: number;
}

export interface RoundTripStats {
  readonly sent: number;
  readonly received: number;
  readonly lost: number;
  readonly payloadBytes: number;
  readonly rttMs: { readonly min: number; readonly median: number; readonly p95: number; readonly max: number } | null;
  /** Echoed packets per second over the measurement. */
  readonly packetsPerSecond: number;
  /** The echo peer as the relay saw it (its permission and channel are for this address). */
  readonly peer: string;
}

export interface TurnDiagnosis {
  readonly server: string;
  readonly transport: TurnTransport;
  readonly username: string;
  readonly credentialKind: 'long-term' | 'rest-api';
  readonly steps: readonly TurnStepResult[];
  readonly realm: string | null;
  readonly algorithm: 'md5' | 'sha256' | null;
  readonly local: string | null;
  readonly mapped: string | null;
  readonly relayed: string | null;
  readonly lifetimeSeconds: number | null;
  readonly channel: number | null;
  readonly roundTrip: RoundTripStats | null;
  /** Stopped by SIGINT/SIGTERM before every step ran (counts as not passed). */
  readonly interrupted: boolean;
  readonly passed: boolean;
}

/** What the diagnosis reports while it runs. `at` is ms since it started. */
export type TurnCheckEvent =
  | { readonly type: 'turn-step'; readonly at: number; readonly step: TurnStepName; readonly status: 'running' }
  | { readonly type: 'turn-step'; readonly at: number; readonly step: TurnStepName; readonly status: TurnStepResult['status']; readonly result: TurnStepResult }
  | { readonly type: 'turn-progress'; readonly at: number; readonly sent: number; readonly received: number; readonly total: number };
