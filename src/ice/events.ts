/**
 * The ICE agent's events (src/ice/agent.ts): candidates, pair states, checks sent, the selected
 * pair, role switches and the agent's state. Part of the one event stream (src/events.ts is the
 * union); the peer session adds its own (src/peer/events.ts). Addresses are "ip:port" strings so
 * every consumer prints them alike.
 */
import type { PairState } from './checklist.js';

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

/** RFC 8445 §6.1.2.6 pair states, spelled one way everywhere (the checklist, events, reports). */
export type { PairState } from './checklist.js';

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

/** Every event an IceAgent emits. */
export type IceEvent = IceCandidateEvent | IcePairEvent | IceStateEvent | IceCheckSentEvent | IceSelectedPairEvent | IceRoleEvent;
