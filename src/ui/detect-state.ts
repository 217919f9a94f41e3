import type { DetectEvent } from '../events.js';
import type { PortMappingProtocolReport } from '../gateway/types.js';
import type { PortMappingSummary } from '../nat/port-mapping.js';
import type { LifetimeBracket } from '../nat/lifetime-plan.js';
import type { LifetimeCase } from '../nat/lifetime.js';
import type { DetectFamilyReport, LifetimeReport } from '../report/detect-report.js';

/** What the live detect view shows, folded from the event stream by a pure reducer. */
export interface DetectViewState {
  readonly family: 4 | 6 | undefined;
  readonly phase: 'starting' | 'discovery' | 'behaviour' | 'done';
  readonly sent: number;
  readonly finished: number;
  readonly answered: number;
  readonly unanswered: number;
  readonly servers: ReadonlyArray<{ label: string; rttMs?: number; answered: boolean }>;
  readonly elapsedMs: number;
  readonly results: readonly DetectFamilyReport[];
  /** Port-mapping protocols answered (or given up) so far. */
  readonly portmap: readonly PortMappingProtocolReport[];
  /** The port-mapping summary, once the report is in. */
  readonly portMapping?: PortMappingSummary;
  /** --lifetime progress while it runs. */
  readonly lifetime?: { tested: number; planned: number; maxMs: number; elapsedMs: number; bracket: Partial<Record<LifetimeCase, LifetimeBracket>> };
  /** The lifetime report, once the report is in. */
  readonly lifetimeReport?: LifetimeReport;
}

export const initialDetectViewState: DetectViewState = {
  family: undefined,
  phase: 'starting',
  sent: 0,
  finished: 0,
  answered: 0,
  unanswered: 0,
  servers: [],
  elapsedMs: 0,
  results: [],
  portmap: [],
};

export function reduceDetectEvent(state: DetectViewState, event: DetectEvent): DetectViewState {
  switch (event.type) {
    case 'detect-phase':
      return { ...state, family: event.family, phase: event.phase, elapsedMs: event.at };
    case 'probe-sent': {
      const known = state.servers.some((s) => s.label === event.server);
      return {
        ...state,
        sent: state.sent + 1,
        elapsedMs: event.at,
        servers: known ? state.servers : [...state.servers, { label: event.server, answered: false }],
      };
    }
    case 'probe-result': {
      const { outcome, server } = event.observation;
      const answered = outcome.kind === 'answered';
      return {
        ...state,
        finished: state.finished + 1,
        answered: state.answered + (answered ? 1 : 0),
        unanswered: state.unanswered + (outcome.kind === 'timeout' ? 1 : 0),
        elapsedMs: event.at,
        servers: state.servers.map((s) =>
          s.label === server && answered && !s.answered ? { ...s, answered: true, rttMs: outcome.kind === 'answered' ? outcome.rttMs : undefined } : s,
        ),
      };
    }
    case 'lifetime-progress':
      return { ...state, lifetime: { tested: event.tested, planned: event.planned, maxMs: event.maxMs, elapsedMs: event.at, bracket: event.bracket } };
    case 'portmap-result':
      return { ...state, portmap: [...state.portmap.filter((p) => p.protocol !== event.report.protocol), event.report] };
    default:
      return state;
  }
}

export function withResults(
  state: DetectViewState,
  results: readonly DetectFamilyReport[],
  portMapping?: PortMappingSummary,
  lifetimeReport?: LifetimeReport,
): DetectViewState {
  return { ...state, phase: 'done', results, portMapping, lifetimeReport };
}
