import type { SourcedPeerEvent, TrialEvent } from '../events.js';
import type { TrialsReport } from '../report/trials-report.js';
import { initialPeerViewState, reducePeerEvent, type PeerViewState } from './peer-state.js';

/** Most recent time-to-connect samples kept for the histogram and sparkline (bounded memory on long runs). */
export const MAX_SAMPLES = 2_000;
/** Finished trials listed under the progress bar. */
export const RECENT_TRIALS = 5;

export interface FinishedTrial {
  readonly trial: number;
  readonly connected: boolean;
  readonly timeToConnectMs?: number;
  readonly pairType?: string;
  readonly failureReason?: string;
}

/** What the trials dashboard shows, folded from the event stream by a pure reducer. */
export interface TrialsViewState {
  readonly planned: number;
  readonly started: number;
  readonly finished: number;
  readonly succeeded: number;
  readonly inFlight: readonly number[];
  readonly elapsedMs: number;
  /** Time to connect of connected trials, oldest first, at most MAX_SAMPLES. */
  readonly timesToConnectMs: readonly number[];
  readonly pairTypes: Readonly<Record<string, number>>;
  /** Connected trials by the path that won them (trial-done `winner`, with `--strategy`). */
  readonly winners: Readonly<Record<string, number>>;
  readonly failureReasons: Readonly<Record<string, number>>;
  readonly recent: readonly FinishedTrial[];
  /**
   * The trial whose candidates and pairs are shown live: the newest one started once the one
   * watched before has finished, so the view follows the run without flickering between trials.
   */
  readonly watched: PeerViewState | undefined;
  /** The same trial's other peer (events with `peer: 1`): its own candidates, pairs and verdict. */
  readonly watchedOther: PeerViewState | undefined;
  readonly watchedFinished: boolean;
  readonly report: TrialsReport | undefined;
}

export function initialTrialsViewState(planned = 0): TrialsViewState {
  return {
    planned,
    started: 0,
    finished: 0,
    succeeded: 0,
    inFlight: [],
    elapsedMs: 0,
    timesToConnectMs: [],
    pairTypes: {},
    winners: {},
    failureReasons: {},
    recent: [],
    watched: undefined,
    watchedOther: undefined,
    watchedFinished: false,
    report: undefined,
  };
}

export function reduceTrialsEvent(state: TrialsViewState, event: TrialEvent | SourcedPeerEvent): TrialsViewState {
  switch (event.type) {
    case 'trial-started': {
      const follow = state.watched === undefined || state.watchedFinished;
      return {
        ...state,
        started: state.started + 1,
        inFlight: [...state.inFlight, event.trial],
        elapsedMs: Math.max(state.elapsedMs, event.at),
        ...(follow ? { watched: initialPeerViewState(event.trial), watchedOther: initialPeerViewState(event.trial), watchedFinished: false } : {}),
      };
    }
    case 'trial-done': {
      const finished: FinishedTrial = {
        trial: event.trial,
        connected: event.connected,
        timeToConnectMs: event.timeToConnectMs,
        pairType: event.pairType,
        failureReason: event.failureReason,
      };
      return {
        ...state,
        planned: event.planned,
        finished: event.finished,
        succeeded: event.succeeded,
        inFlight: state.inFlight.filter((t) => t !== event.trial),
        elapsedMs: Math.max(state.elapsedMs, event.at),
        timesToConnectMs: event.connected && event.timeToConnectMs !== undefined ? [...state.timesToConnectMs, event.timeToConnectMs].slice(-MAX_SAMPLES) : state.timesToConnectMs,
        pairTypes: event.connected && event.pairType !== undefined ? increment(state.pairTypes, event.pairType) : state.pairTypes,
        winners: event.connected && event.winner !== undefined && event.winner !== 'none' ? increment(state.winners, event.winner) : state.winners,
        failureReasons: event.connected ? state.failureReasons : increment(state.failureReasons, event.failureReason ?? 'unknown'),
        recent: [...state.recent, finished].slice(-RECENT_TRIALS),
        watchedFinished: state.watchedFinished || state.watched?.trial === event.trial,
      };
    }
    default: {
      // ice-* and peer-* events: only the watched trial's are shown, each peer's on its own side.
      const elapsedMs = Math.max(state.elapsedMs, event.at);
      if (state.watched === undefined || event.trial !== state.watched.trial) return { ...state, elapsedMs };
      if (event.peer === 1) return { ...state, elapsedMs, watchedOther: reducePeerEvent(state.watchedOther ?? initialPeerViewState(event.trial), event) };
      return { ...state, elapsedMs, watched: reducePeerEvent(state.watched, event) };
    }
  }
}

export function withTrialsReport(state: TrialsViewState, report: TrialsReport): TrialsViewState {
  return { ...state, report, inFlight: [] };
}

function increment(counts: Readonly<Record<string, number>>, key: string): Record<string, number> {
  return { ...counts, [key]: (counts[key] ?? 0) + 1 };
}
