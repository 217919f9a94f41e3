/**
 * What an IceAgent run produced: the verdict, the selected pair, and every pair's outcome with the
 * reason it failed, so a survey can say which pair types work and why the others do not.
 */
import type { IceCandidateEvent } from './events.js';
import { formatTransportAddress, type Candidate } from './candidate.js';
import type { PairFailureReason, PairState } from './checklist.js';
import type { SrflxAttempt } from './gather.js';
import type { IceRole } from './pair.js';
import type { IceMode, IceOutcome, PairReport } from './scheduler.js';

export interface IcePairResult {
  readonly id: string;
  readonly local: Candidate;
  readonly remote: Candidate;
  readonly state: PairState;
  /** Binding requests sent for the pair, retransmissions included. */
  readonly attempts: number;
  /**
   * Round-trip time of the successful check: exact when the first request was answered; after a
   * retransmission, the time since the last request (Karn's rule keeps such samples out of the RTO).
   */
  readonly rttMs?: number;
  readonly failureReason?: PairFailureReason;
  readonly failureDetail?: string;
  /** The STUN error code behind 'error-response', 'role-conflict' (487) or a peer's 401 ('integrity'). */
  readonly errorCode?: number;
  /** The check produced a valid pair (§7.2.5.3.2). */
  readonly valid: boolean;
  readonly nominated: boolean;
}

export interface IceSelectedPair {
  readonly id: string;
  /** May be a local peer-reflexive candidate learned from the check (§7.2.5.3.1). */
  readonly local: Candidate;
  readonly remote: Candidate;
  /** The pair's round-trip time as measured by its check (see IcePairResult.rttMs). */
  readonly rttMs: number;
  /** False in survey mode, where the best valid pair is reported but nothing is nominated. */
  readonly nominated: boolean;
}

export interface IceResult {
  /**
   * connect mode: 'connected' once a pair is nominated and selected.
   * survey mode: 'connected' when at least one pair works (the best is `selectedPair`).
   */
  readonly state: 'connected' | 'failed';
  /** How the scheduler's run ended (connected, failed, surveyed, timeout, stopped). */
  readonly outcome: IceOutcome;
  readonly mode: IceMode;
  /** The role at the end: it may have changed through a role conflict. */
  readonly role: IceRole;
  readonly selectedPair?: IceSelectedPair;
  /** From start() (both sides' parameters and candidates known) to the selection, or to the failed verdict. */
  readonly timeToConnectMs: number;
  /** Every pair, highest priority first. */
  readonly pairs: readonly IcePairResult[];
  readonly localCandidates: readonly Candidate[];
  readonly remoteCandidates: readonly Candidate[];
  /** The STUN Binding exchanges made to gather server-reflexive candidates. */
  readonly gathering: readonly SrflxAttempt[];
  readonly counters: IceCounters;
  /**
   * Present when the run had no pairs of its own, so that only the peer's checks could connect it
   * (RFC 8445 §7.3.1.3–§7.3.1.4): the bound, from start, it waited for them before failing
   * (scheduler peerCheckWaitMs). A run that connected through them reports it too.
   */
  readonly peerCheckWaitMs?: number;
}

/** Traffic counters: what the peer did to this agent's checks and what this agent did to the peer's. */
export interface IceCounters {
  requestsReceived: number;
  /** Requests answered with 400 / 401 / 420 (RFC 8489 §9.1.3). */
  requestsRejected: number;
  /** Requests answered with 487 Role Conflict (§7.3.1.1). */
  roleConflictsSent: number;
  /** Responses discarded for failing MESSAGE-INTEGRITY (RFC 8489 §9.1.4). */
  responsesUnauthenticated: number;
  /** Datagrams that were not valid STUN (or not Binding), ignored. */
  datagramsIgnored: number;
  /** Checks left unanswered because this agent had already failed (connect mode), so both ends agree. */
  requestsIgnoredAfterFailure: number;
}

export function emptyCounters(): IceCounters {
  return { requestsReceived: 0, requestsRejected: 0, roleConflictsSent: 0, responsesUnauthenticated: 0, datagramsIgnored: 0, requestsIgnoredAfterFailure: 0 };
}

/**
 * A scheduler report row as a result row. A pair whose responses kept failing integrity times out
 * in the scheduler (they are discarded as never received, RFC 8489 §9.1.4); the report names the
 * real cause, 'integrity', instead of 'timeout'.
 */
export function pairResultOf(report: PairReport): IcePairResult {
  const failure = report.failure;
  const unauthenticatedResponses = report.unauthenticatedResponses;
  const rttMs = report.rttMs;
  const integrityInstead = failure !== undefined && failure.reason === 'timeout' && unauthenticatedResponses > 0;
  return {
    id: report.pairId,
    local: report.local,
    remote: report.remote,
    state: report.state,
    attempts: report.requestsSent,
    ...(rttMs !== undefined ? { rttMs } : {}),
    ...(failure !== undefined ? { failureReason: integrityInstead ? 'integrity' : failure.reason } : {}),
    ...(failure !== undefined && (failure.detail !== undefined || integrityInstead)
      ? {
          failureDetail: integrityInstead
            ? `${unauthenticatedResponses} response(s) failed MESSAGE-INTEGRITY with the remote password and were discarded; ${failure.detail ?? ''}`.trim()
            : failure.detail!,
        }
      : {}),
    ...(failure?.errorCode !== undefined ? { errorCode: failure.errorCode } : {}),
    valid: report.valid,
    nominated: report.nominated,
  };
}

export function candidateEventFields(candidate: Candidate): { candidateType: IceCandidateEvent['candidateType']; address: string; priority: number } {
  return { candidateType: candidate.type, address: formatTransportAddress(candidate), priority: candidate.priority };
}
