/**
 * The result model of trials: what one pairing of two fresh peers produced (TrialOutcome) and
 * the part of a peer session's result the trials code reads (PeerSessionOutcome). Reports and
 * the dashboard read these types; nothing here does I/O.
 */
import type { CandidateType } from '../ice/candidate.js';
import type { PlanTechnique, TraversalReport, WinningPath, PortmapReport } from '../traversal/types.js';

/** The part of a candidate the trials code reads (src/ice/candidate.ts `Candidate` fits). */
export interface SessionCandidate {
  readonly type: CandidateType;
  readonly address: string;
  readonly port: number;
}

/** One checked pair as a session reports it. `state` is 'succeeded' etc.; older recorded results may spell it 'Succeeded'. */
export interface SessionPair {
  readonly id: string;
  readonly local: SessionCandidate;
  readonly remote: SessionCandidate;
  readonly state: string;
  readonly attempts: number;
  readonly rttMs?: number;
  readonly failureReason?: string;
  /** Words on the failure from the agent (e.g. which response failed integrity). */
  readonly failureDetail?: string;
}

/** One TURN allocation a session tried (src/peer/relay.ts PeerRelayResult fits). */
export interface SessionRelay {
  readonly server: string;
  readonly transport?: 'udp' | 'tcp' | 'tls';
  readonly source?: 'options' | 'signaling';
  readonly relayed?: string;
  readonly mapped?: string;
  readonly allocateMs?: number;
  readonly error?: { readonly code: string; readonly message: string };
}

/**
 * What `runPeerSession` (src/peer/session.ts) resolves to, narrowed to the fields trials use, so
 * the statistics can be tested with synthetic results and stay stable if the session adds fields.
 */
export interface PeerSessionOutcome {
  readonly state: 'connected' | 'failed';
  /** How the ICE run ended (src/ice/scheduler.ts IceOutcome); absent in older recorded results. */
  readonly outcome?: string;
  readonly selectedPair?: { readonly local: SessionCandidate; readonly remote: SessionCandidate; readonly rttMs?: number };
  readonly timeToConnectMs: number;
  readonly pairs: readonly SessionPair[];
  readonly localCandidates: readonly SessionCandidate[];
  readonly remoteCandidates: readonly SessionCandidate[];
  readonly role: string;
  readonly peerId: string;
  readonly signalingMs: number;
  readonly totalMs: number;
  /** TURN allocations tried (src/peer/relay.ts PeerRelayResult); absent or empty without TURN. */
  readonly relays?: readonly SessionRelay[];
  /** What the traversal strategies did (src/traversal/types.ts); absent when none was asked for. */
  readonly traversal?: TraversalReport;
  /** Remote candidates the session could not use, with the reason (src/peer/session.ts); absent in older results. */
  readonly skippedRemoteCandidates?: readonly { readonly candidate: string; readonly reason: string }[];
  /** How long a run with no pairs of its own waited for the peer's checks (src/ice/agent-result.ts). */
  readonly peerCheckWaitMs?: number;
  /** What the user waited for, from the other peer's arrival to the nominated pair (session.ts ConnectTime); absent in older results and when not connected. */
  readonly connectTime?: ConnectTime;
  /** The session's warnings about its environment (src/peer/warnings.ts); absent when none. */
  readonly warnings?: readonly { readonly code: string; readonly message: string }[];
}

/**
 * Traversal in one trial, from both sessions' reports: the first peer's plan (the second's when
 * the first sent none), which path won (the first peer's word, 'none' when the trial did not
 * connect), and the probes and sockets of both peers together. The lab matrix counts the same way.
 */
export interface TrialTraversal {
  readonly winner: WinningPath;
  readonly plan: { readonly technique: PlanTechnique; readonly reason: string; readonly probability?: number };
  readonly probesSent: number;
  readonly socketsOpened: number;
  /** portmap: each peer's gateway mapping (first peer first), when portmap was asked for. */
  readonly portmap?: readonly PortmapReport[];
}

/** One pair, flattened for reports: addresses as "ip:port", types beside them. */
export interface TrialPair {
  readonly id: string;
  readonly local: string;
  readonly remote: string;
  readonly localType: CandidateType;
  readonly remoteType: CandidateType;
  /** Lower-case RFC 8445 §6.1.2.6 state: frozen, waiting, in-progress, succeeded, failed. */
  readonly state: string;
  readonly attempts: number;
  readonly rttMs?: number;
  readonly failureReason?: string;
  readonly failureDetail?: string;
}

/**
 * Time to connect as the user waits for it (issue 13), counted from the moment this peer knew both
 * peers were in the room, and what it was spent on, in the order the session waits:
 * the other peer's ICE parameters (signaling), then this peer's own gathering still under way
 * (STUN, and TURN allocations when direct checks wait for them), then the checks themselves.
 */
export interface ConnectTime {
  /** Both peers joined → this peer uses its selected (nominated) pair: the sum of the three below. */
  readonly sincePeerJoinedMs: number;
  /** Both joined → the other peer's ICE parameters arrived. */
  readonly parametersMs: number;
  /** Parameters there → own gathering done (checks start); includes TURN allocations when the checks wait for them. */
  readonly gatheringMs: number;
  /** Checks started → selected pair (the ICE agent's own time to connect). */
  readonly checksMs: number;
  /** True when the gathering wait included TURN allocations. */
  readonly waitedForRelays: boolean;
}

/** How each of the two peers of a trial ended. */
export interface TrialPeer {
  readonly role?: string;
  readonly peerId?: string;
  readonly state: 'connected' | 'failed' | 'error';
  /** From both peers joined (ConnectTime.sincePeerJoinedMs) when known; else from the checks' start. */
  readonly timeToConnectMs?: number;
  readonly connectTime?: ConnectTime;
  /** Set when the session threw instead of resolving: the error's stable code, or its message. */
  readonly error?: string;
}

/** One pairing of two fresh peers. */
export interface TrialOutcome {
  /** 1-based trial number (events use the same number; 0 is a single `peer` run). */
  readonly trial: number;
  readonly room: string;
  /** True only when both peers connected. */
  readonly connected: boolean;
  /**
   * The slower peer's time to connect, counted from both peers joined (so a slow TURN server or
   * signaling shows here; before issue 13 it counted only the checks): the trial has connected
   * when both sides have.
   */
  readonly timeToConnectMs?: number;
  /** The slower peer's breakdown of that time. */
  readonly connectTime?: ConnectTime;
  /** "local/remote" candidate types of the first peer's selected pair, e.g. "host/host", "srflx/prflx". */
  readonly pairType?: string;
  readonly selectedPair?: { readonly local: string; readonly remote: string; readonly rttMs?: number };
  /** Why the trial failed, a stable short string (see trialFailureReason). */
  readonly failureReason?: string;
  /** Wall time of the trial, from starting both sessions to both settling. */
  readonly durationMs: number;
  /** Pairs as the first peer saw them. */
  readonly pairs: readonly TrialPair[];
  readonly peers: readonly [TrialPeer, TrialPeer];
  /** Present when a session ran with traversal strategies (`--strategy`). */
  readonly traversal?: TrialTraversal;
}
