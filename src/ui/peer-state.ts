import type { IceCandidateEvent, IcePairEvent, IceStateEvent, PeerCandidateSkippedEvent, PeerEvent, PeerPhaseEvent, PeerRelayEvent } from '../events.js';
import type { PeerReport } from '../report/peer-report.js';
import type { TraversalDoneEvent, TraversalPlanEvent, TraversalPortmapEvent, TraversalProgressEvent } from '../traversal/events.js';

/** One strategy as the live view shows it: its progress against its budget, and how it ended. */
export interface LiveStrategy {
  readonly strategy: TraversalProgressEvent['strategy'];
  readonly probesSent: number;
  /** The most probes it will send; undefined until its first progress event. */
  readonly budget: number | undefined;
  readonly socketsOpened: number;
  /** Set once the strategy stopped (traversal-done). */
  readonly done: TraversalDoneEvent['attempt'] | undefined;
}

/** The traversal plan and the behaviours it came from (traversal-plan). */
export type LivePlan = Omit<TraversalPlanEvent, 'type' | 'at' | 'trial'>;

/** One candidate as the live view lists it. */
export interface LiveCandidate {
  readonly side: IceCandidateEvent['side'];
  readonly type: IceCandidateEvent['candidateType'];
  readonly address: string;
  readonly priority: number;
}

/** One pair row: the latest ice-pair event for that pair id. */
export type LivePair = Omit<IcePairEvent, 'type' | 'at' | 'trial'>;

/** What the live view of one peer session shows, folded from its events by a pure reducer. */
export interface PeerViewState {
  readonly trial: number;
  readonly iceState: IceStateEvent['state'] | 'new';
  /** Signaling progress (peer-phase events): signaling, joined, peer-joined, checking, … */
  readonly phase: PeerPhaseEvent['phase'] | 'starting';
  readonly role: 'controlling' | 'controlled' | undefined;
  /** Connectivity-check requests sent, retransmissions included. */
  readonly checksSent: number;
  readonly candidates: readonly LiveCandidate[];
  /** Remote candidates the session could not use (peer-candidate-skipped), in arrival order. */
  readonly skipped: readonly Pick<PeerCandidateSkippedEvent, 'candidate' | 'reason'>[];
  /** TURN allocations (peer-relay events), allocated or failed, in the order they settled. */
  readonly relays: readonly Omit<PeerRelayEvent, 'type' | 'at' | 'trial'>[];
  /** `peer-warning` messages (e.g. only loopback to gather on), in order. */
  readonly warnings: readonly string[];
  /** In the order pairs first appeared, so rows do not jump around as states change. */
  readonly pairs: readonly LivePair[];
  readonly selectedPairId: string | undefined;
  readonly elapsedMs: number;
  readonly done: { readonly connected: boolean; readonly timeToConnectMs?: number; readonly failureReason?: string } | undefined;
  /** The traversal plan, once both behaviours are known (with `--strategy`). */
  readonly plan: LivePlan | undefined;
  /** Strategies under way or finished, in the order they started. */
  readonly strategies: readonly LiveStrategy[];
  /** portmap: the gateway mapping as last reported (traversal-portmap). */
  readonly portmap: TraversalPortmapEvent['report'] | undefined;
  /** The final report, once the session is over. */
  readonly report: PeerReport | undefined;
  /** `--hold`'s verdict on consent traffic and the mapping lifetime, once the hold ended. */
  readonly hold: string | undefined;
}

export function initialPeerViewState(trial = 0): PeerViewState {
  return {
    trial,
    iceState: 'new',
    phase: 'starting',
    role: undefined,
    checksSent: 0,
    candidates: [],
    skipped: [],
    relays: [],
    warnings: [],
    pairs: [],
    selectedPairId: undefined,
    elapsedMs: 0,
    done: undefined,
    plan: undefined,
    strategies: [],
    portmap: undefined,
    report: undefined,
    hold: undefined,
  };
}

export function reducePeerEvent(state: PeerViewState, event: PeerEvent): PeerViewState {
  switch (event.type) {
    case 'ice-candidate': {
      const candidate: LiveCandidate = { side: event.side, type: event.candidateType, address: event.address, priority: event.priority };
      const known = state.candidates.some((c) => c.side === candidate.side && c.address === candidate.address && c.type === candidate.type);
      return known ? { ...state, elapsedMs: event.at } : { ...state, elapsedMs: event.at, candidates: [...state.candidates, candidate] };
    }
    case 'ice-pair': {
      const { type: _type, at: _at, trial: _trial, ...row } = event;
      const index = state.pairs.findIndex((p) => p.pairId === event.pairId);
      const pairs = index === -1 ? [...state.pairs, row] : state.pairs.map((p, i) => (i === index ? row : p));
      return { ...state, elapsedMs: event.at, pairs };
    }
    case 'ice-state':
      return { ...state, elapsedMs: event.at, iceState: event.state, selectedPairId: event.selectedPairId ?? state.selectedPairId };
    case 'ice-selected-pair':
      return { ...state, elapsedMs: event.at, selectedPairId: event.pairId };
    case 'ice-check-sent':
      return { ...state, elapsedMs: event.at, checksSent: state.checksSent + 1 };
    case 'ice-role':
      return { ...state, elapsedMs: event.at, role: event.to };
    case 'peer-phase':
      return { ...state, elapsedMs: event.at, phase: event.phase, role: event.role ?? state.role };
    case 'peer-candidate-skipped':
      return { ...state, elapsedMs: event.at, skipped: [...state.skipped, { candidate: event.candidate, reason: event.reason }] };
    case 'peer-relay': {
      const { type: _type, at: _at, trial: _trial, ...relay } = event;
      return { ...state, elapsedMs: event.at, relays: [...state.relays, relay] };
    }
    case 'peer-warning':
      return { ...state, elapsedMs: event.at, warnings: [...state.warnings, event.message] };
    case 'peer-hold':
      return { ...state, elapsedMs: event.at, hold: event.text };
    case 'peer-done':
      return {
        ...state,
        elapsedMs: event.at,
        done: { connected: event.connected, timeToConnectMs: event.timeToConnectMs, failureReason: event.failureReason },
      };
    case 'traversal-plan': {
      const { type: _type, at: _at, trial: _trial, ...plan } = event;
      return { ...state, elapsedMs: event.at, plan };
    }
    case 'traversal-progress':
      return {
        ...state,
        elapsedMs: event.at,
        strategies: upsertStrategy(state.strategies, event.strategy, (s) => ({ ...s, probesSent: event.probesSent, budget: event.budget, socketsOpened: event.socketsOpened })),
      };
    case 'traversal-portmap':
      return { ...state, elapsedMs: event.at, portmap: event.report };
    case 'traversal-done': {
      const { attempt } = event;
      return {
        ...state,
        elapsedMs: event.at,
        strategies: upsertStrategy(state.strategies, attempt.strategy, (s) => ({ ...s, probesSent: attempt.probesSent, socketsOpened: attempt.socketsOpened, done: attempt })),
      };
    }
  }
}

/** Updates a strategy's row, adding it (in start order) when it is new. */
function upsertStrategy(strategies: readonly LiveStrategy[], strategy: LiveStrategy['strategy'], update: (s: LiveStrategy) => LiveStrategy): LiveStrategy[] {
  const index = strategies.findIndex((s) => s.strategy === strategy);
  if (index === -1) return [...strategies, update({ strategy, probesSent: 0, budget: undefined, socketsOpened: 0, done: undefined })];
  return strategies.map((s, i) => (i === index ? update(s) : s));
}

export function withPeerReport(state: PeerViewState, report: PeerReport): PeerViewState {
  return { ...state, report };
}
