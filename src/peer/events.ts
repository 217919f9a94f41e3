/**
 * The peer session's and the trials runner's events (src/peer/session.ts, src/peer/trials.ts):
 * signaling phases, TURN allocations, skipped candidates, the session's end, and each trial. A
 * session's stream also carries its agent's events (src/ice/events.ts) and its traversal run's
 * (src/traversal/events.ts). Part of the one event stream (src/events.ts is the union).
 */
import type { IceEvent } from '../ice/events.js';
import type { TraversalEvent } from '../traversal/events.js';
import type { WinningPath } from '../traversal/types.js';
import type { PeerWarningEvent } from './warnings.js';
import type { PathHoldReport } from './path-hold.js';

/** Signaling progress of one peer session (src/peer/session.ts), in order. */
export interface PeerPhaseEvent {
  type: 'peer-phase';
  at: number;
  trial: number;
  phase:
    /** Connecting to the signaling server. */
    | 'signaling'
    /** Joined the room; `role` is decided (the first peer in the room is controlling). */
    | 'joined'
    /** The other peer is in the room. */
    | 'peer-joined'
    /** Both ICE parameters are known: the checks start. */
    | 'checking'
    /** This side's result went to the other peer. */
    | 'result-sent'
    /** The other peer's result arrived. */
    | 'remote-result'
    /** `--hold`: the selected pair is kept with only consent freshness on it. */
    | 'holding'
    /** Signaling and sockets are closed. */
    | 'closed';
  room: string;
  peerId?: string;
  role?: 'controlling' | 'controlled';
}

/**
 * A TURN allocation for a relayed candidate (src/peer/relay.ts) succeeded or failed. A failure
 * does not end the session: it goes on with its direct candidates. Never carries credentials.
 */
export interface PeerRelayEvent {
  type: 'peer-relay';
  at: number;
  trial: number;
  /** turn:HOST:PORT?transport=udp|tcp */
  server: string;
  source: 'options' | 'signaling';
  state: 'allocated' | 'failed';
  relayed?: string;
  mapped?: string;
  allocateMs?: number;
  /** Stable code when failed, e.g. 'turn-auth-failed', 'turn-unreachable'. */
  errorCode?: string;
  message?: string;
}

/**
 * A remote candidate the session could not use and left out of the checks (src/peer/session.ts):
 * an mDNS `.local` name, a hostname, a TCP candidate, an unknown type, or a malformed line. The
 * peer may still reach this side through its checks (RFC 8445 §7.3.1.3).
 */
export interface PeerCandidateSkippedEvent {
  type: 'peer-candidate-skipped';
  at: number;
  trial: number;
  /** The `candidate:` line as the peer signalled it. */
  candidate: string;
  /** 'mdns-hostname', 'fqdn', 'transport', 'candidate-type' (src/ice/sdp-candidate.ts) or 'syntax'. */
  reason: string;
  /** The parser's words on it. */
  detail: string;
}

/** `--hold` ended: what consent freshness did and whether it keeps the mapping alive (src/peer/path-hold.ts). */
export type PeerHoldEvent = { type: 'peer-hold'; at: number; trial: number } & PathHoldReport;

/** One peer session finished (connected or not). */
export interface PeerDoneEvent {
  type: 'peer-done';
  at: number;
  trial: number;
  connected: boolean;
  timeToConnectMs?: number;
  selectedPairType?: string;
  failureReason?: string;
}

export type { PeerWarningEvent } from './warnings.js';

export type PeerEvent =
  | PeerRelayEvent
  | PeerWarningEvent
  | PeerCandidateSkippedEvent
  | TraversalEvent
  | IceEvent
  | PeerPhaseEvent
  | PeerHoldEvent
  | PeerDoneEvent;

export interface TrialStartedEvent {
  type: 'trial-started';
  at: number;
  trial: number;
}

/** One pairing of two fresh peers finished. */
export interface TrialDoneEvent {
  type: 'trial-done';
  at: number;
  trial: number;
  connected: boolean;
  timeToConnectMs?: number;
  /** e.g. "host/host", "srflx/prflx". */
  pairType?: string;
  failureReason?: string;
  /** With traversal strategies (`--strategy`): which path won ('none' when not connected). */
  winner?: WinningPath;
  /** Trials finished so far and planned in all, for progress bars. */
  finished: number;
  planned: number;
  succeeded: number;
}

export type TrialEvent = TrialStartedEvent | TrialDoneEvent;

/** Which of a trial's two sessions an event comes from: 0 for the first started, 1 for the second. */
export type TrialPeer = 0 | 1;

/**
 * A session's event as the trials runner forwards it: re-tagged with the trial number and the
 * run's time line, and with `peer`, so a consumer can tell the two sides of a trial apart. A
 * single `peer` session's events have no `peer`.
 */
export type SourcedPeerEvent = PeerEvent & { readonly peer?: TrialPeer };
