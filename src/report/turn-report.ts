/**
 * The `turn --json` document, version `nat-probe.turn/v1`: each check's verdict and what it
 * measured. It names the user but never carries the password or the shared secret.
 */
import type { TurnCheckEvent, TurnDiagnosis, TurnStepName, TurnStepResult } from '../turn/diagnose-types.js';

export type { TurnCheckEvent, TurnDiagnosis, TurnStepName, TurnStepResult } from '../turn/diagnose-types.js';
export { TURN_STEPS } from '../turn/diagnose-types.js';

export const TURN_SCHEMA = 'nat-probe.turn/v1';

export interface TurnReport extends Omit<TurnDiagnosis, 'steps'> {
  readonly schema: typeof TURN_SCHEMA;
  readonly tool: { readonly name: 'nat-probe'; readonly version: string };
  readonly startedAt: string;
  readonly durationMs: number;
  readonly steps: readonly TurnStepResult[];
  /** 0 every check passed, 1 one failed (README "Exit codes"). */
  readonly exitCode: 0 | 1;
}

const round2 = (value: number): number => Math.round(value * 100) / 100;

export function buildTurnReport(diagnosis: TurnDiagnosis, meta: { version: string; startedAt: Date; durationMs: number }): TurnReport {
  const roundTrip = diagnosis.roundTrip;
  return {
    schema: TURN_SCHEMA,
    tool: { name: 'nat-probe', version: meta.version },
    startedAt: meta.startedAt.toISOString(),
    durationMs: round2(meta.durationMs),
    ...diagnosis,
    steps: diagnosis.steps.map((step) => ({ ...step, durationMs: round2(step.durationMs) })),
    roundTrip: roundTrip
      ? {
          ...roundTrip,
          packetsPerSecond: Math.round(roundTrip.packetsPerSecond),
          rttMs: roundTrip.rttMs
            ? { min: round2(roundTrip.rttMs.min), median: round2(roundTrip.rttMs.median), p95: round2(roundTrip.rttMs.p95), max: round2(roundTrip.rttMs.max) }
            : null,
        }
      : null,
    exitCode: diagnosis.passed ? 0 : 1,
  };
}

/** Step names as people read them. */
export const TURN_STEP_LABELS: Record<TurnStepName, string> = {
  reachability: 'Reachability',
  authentication: 'Authentication',
  allocation: 'Allocation',
  permission: 'Permission',
  channel: 'Channel bind',
  'round-trip': 'Round trip',
};

/** The plain line for one event (CI logs, pipes); undefined for events not worth a line. */
export function formatTurnEventLine(event: TurnCheckEvent): string | undefined {
  if (event.type !== 'turn-step' || event.status === 'running') return undefined;
  const mark = event.status === 'pass' ? 'PASS' : event.status === 'fail' ? 'FAIL' : 'SKIP';
  if (event.status === 'skipped') return undefined;
  return `${mark} ${TURN_STEP_LABELS[event.step]}: ${'result' in event ? event.result.detail : ''}`;
}
