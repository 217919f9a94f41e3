/**
 * The typed event stream. Engines emit these; the Ink dashboard, the plain-line printer and
 * the NDJSON (--json) writer all subscribe to the same stream, so they cannot disagree.
 * Every event carries `type` and `at` (ms since the run started).
 */
import type { GatewayEvent } from './gateway/events.js';
import type { LifetimeEvent } from './nat/lifetime.js';
import type { TransportAddress } from './stun/index.js';
import type { TraversalEvent } from './traversal/events.js';
import type { WinningPath } from './traversal/types.js';
import type { NatVerdict, ProbeObservation, ProbeSection, ProbeTest, ServerReport } from './nat/types.js';

export interface ProbeSentEvent {
  type: 'probe-sent';
  at: number;
  seq: number;
  section: ProbeSection;
  socket: number;
  server: string;
  target: TransportAddress;
  test: ProbeTest;
}

export interface ProbeResultEvent {
  type: 'probe-result';
  at: number;
  observation: ProbeObservation;
}

export interface ServerReportEvent {
  type: 'server-report';
  at: number;
  server: ServerReport;
}

export interface DetectPhaseEvent {
  type: 'detect-phase';
  at: number;
  family: 4 | 6;
  phase: 'discovery' | 'behaviour' | 'done';
  /** Probes planned so far and probes finished, for progress bars. */
  planned: number;
  finished: number;
}

export interface VerdictEvent {
  type: 'verdict';
  at: number;
  verdict: NatVerdict;
}

export type DetectEvent = ProbeSentEvent | ProbeResultEvent | ServerReportEvent | DetectPhaseEvent | VerdictEvent | GatewayEvent | LifetimeEvent;

/*
 * Peer and trial events. The ICE agent and the peer session (src/ice, src/peer) emit the
 * `ice-*` and `peer-*` events; the trials runner emits `trial-*`. Addresses are written as
 * "ip:port" strings so every consumer prints them alike.
 */

/** A local or remote candidate became known (gathered, signalled, or learned as peer-reflexive). */
export interface IceCandidateEvent {
  type: 'ice-candidate';
  at: number;
  /** Which trial this belongs to (0 for a single `peer` run). */
  trial: number;
  side: 'local' | 'remote';
  candidateType: 'host' | 'srflx' | 'prflx' | 'relay';
  address: string;
  priority: number;
}

export type PairState = 'frozen' | 'waiting' | 'in-progress' | 'succeeded' | 'failed';

/** A candidate pair changed state (RFC 8445 §6.1.2.6). */
export interface IcePairEvent {
  type: 'ice-pair';
  at: number;
  trial: number;
  pairId: string;
  local: string;
  remote: string;
  localType: IceCandidateEvent['candidateType'];
  remoteType: IceCandidateEvent['candidateType'];
  state: PairState;
  attempts: number;
  rttMs?: number;
  failureReason?: string;
  nominated?: boolean;
}

/** The agent's overall state. */
export interface IceStateEvent {
  type: 'ice-state';
  at: number;
  trial: number;
  state: 'gathering' | 'checking' | 'connected' | 'failed' | 'closed' | 'consent-lost';
  selectedPairId?: string;
}

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

/**
 * One connectivity-check request went out (RFC 8445 §7.2.4): a new transaction (`attempt` 1) or a
 * retransmission of it (RFC 8489 §6.2.1). `useCandidate` marks the controlling agent's nomination.
 */
export interface IceCheckSentEvent {
  type: 'ice-check-sent';
  at: number;
  trial: number;
  pairId: string;
  /** 1 for a transaction's first request, 2, 3… for its retransmissions. */
  attempt: number;
  /** Sent from the triggered-check queue (§7.3.1.4). */
  triggered: boolean;
  useCandidate: boolean;
  /** The retransmission timeout the transaction started with. */
  rtoMs: number;
}

/**
 * The agent's answer: in connect mode the nominated pair (§8.1.1), in survey mode the best valid
 * pair (nothing is nominated there, `nominated` is false).
 */
export interface IceSelectedPairEvent {
  type: 'ice-selected-pair';
  at: number;
  trial: number;
  pairId: string;
  local: string;
  remote: string;
  localType: IceCandidateEvent['candidateType'];
  remoteType: IceCandidateEvent['candidateType'];
  nominated: boolean;
  rttMs?: number;
  /** From the start of the checks to this selection. */
  timeToConnectMs: number;
}

/** The agent switched role after a role conflict (RFC 8445 §7.3.1.1 for a request, §7.2.5.1 for a 487 response). */
export interface IceRoleEvent {
  type: 'ice-role';
  at: number;
  trial: number;
  from: 'controlling' | 'controlled';
  to: 'controlling' | 'controlled';
  reason: 'role-conflict-request' | 'role-conflict-response';
}

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

export type PeerEvent =
  | PeerRelayEvent
  | TraversalEvent
  | IceCandidateEvent
  | IcePairEvent
  | IceStateEvent
  | IceCheckSentEvent
  | IceSelectedPairEvent
  | IceRoleEvent
  | PeerPhaseEvent
  | PeerDoneEvent;
export type TrialEvent = TrialStartedEvent | TrialDoneEvent;

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

export type NatProbeEvent = DetectEvent | PeerEvent | TrialEvent | LabMatrixEvent;

export type EventListener<E = NatProbeEvent> = (event: E) => void;
