import { TURN_STEPS, type TurnCheckEvent, type TurnReport, type TurnStepName, type TurnStepResult } from '../report/turn-report.js';

/** What the live `turn` view shows, folded from the check events by a pure reducer. */
export interface TurnViewState {
  readonly steps: ReadonlyArray<{ readonly step: TurnStepName; readonly status: 'pending' | 'running' | TurnStepResult['status']; readonly detail?: string }>;
  readonly progress: { readonly sent: number; readonly received: number; readonly total: number } | undefined;
  readonly elapsedMs: number;
  readonly report: TurnReport | undefined;
}

export function initialTurnViewState(): TurnViewState {
  return { steps: TURN_STEPS.map((step) => ({ step, status: 'pending' as const })), progress: undefined, elapsedMs: 0, report: undefined };
}

export function reduceTurnEvent(state: TurnViewState, event: TurnCheckEvent): TurnViewState {
  if (event.type === 'turn-progress') return { ...state, elapsedMs: event.at, progress: { sent: event.sent, received: event.received, total: event.total } };
  const detail = 'result' in event ? event.result.detail : undefined;
  return {
    ...state,
    elapsedMs: event.at,
    steps: state.steps.map((entry) => (entry.step === event.step ? { step: entry.step, status: event.status, ...(detail === undefined ? {} : { detail }) } : entry)),
  };
}

export function withTurnReport(state: TurnViewState, report: TurnReport): TurnViewState {
  return { ...state, report, steps: report.steps.map((step) => ({ step: step.step, status: step.status, detail: step.detail })) };
}
