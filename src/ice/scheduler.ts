/**
 * The connectivity-check scheduler (RFC 8445 §6.1.4, §7.2, §8.1), pure and clock-driven.
 *
 * It never touches a socket. It decides when each check goes out and calls the injected
 * `sendCheck(pair, attempt)`; the agent reports what happened through `onResponse`, `onFailure`,
 * `onRoleConflict`, `onUnauthenticatedResponse` (each by `attempt.transaction`, which the agent
 * maps its STUN transaction IDs to) and `onIncomingCheck`. It is the only owner of transaction
 * and per-pair check state (attempts, RTTs, which response is stale): the agent keeps nothing but
 * the bytes of each request. Everything waits on the injected Clock, so tests drive it with
 * FakeClock.
 *
 * Timing model:
 * - Pacing: a new transaction (ordinary, triggered or nomination check) starts at most once per
 *   Ta (§14.2). Retransmissions are not paced; they follow their own timers (RFC 8489 §6.2.1).
 * - In-flight cap: at most `maxInFlight` open transactions. It stands in for the RTO formula of
 *   §14.3 (RTO = MAX(500 ms, Ta·(Waiting+In-Progress))), whose purpose is the same: retransmissions
 *   of many open checks must not add up to more than about one packet per Ta.
 * - Retransmission: RTO from measured RTTs per remote IP (RFC 8489 §6.2.1 / RFC 6298, the
 *   transport's RttEstimator, Karn's rule: no sample from a retransmitted transaction), doubled on
 *   each retransmission, at most Rc requests, then Rm·RTO of silence means failure.
 * - Bounds: a check that has not succeeded `pairTimeoutMs` after its first request Failed
 *   ('timeout'); the whole run ends `overallTimeoutMs` after start().
 *
 * Modes:
 * - connect: stop when a pair is selected. A controlling agent nominates (regular nomination,
 *   §8.1.1): once a pair is valid it waits while a higher-priority pair may still answer, at most
 *   one round trip of the valid pair (see considerNomination), then repeats the best valid pair's
 *   check with USE-CANDIDATE; when that check succeeds the pair is selected. A controlled agent selects the pair the peer nominates (§7.3.1.5).
 * - survey: check every pair to completion and report each outcome; nothing is nominated. Both
 *   peers of a survey should run in survey mode.
 *
 * Defaults (SCHEDULER_DEFAULTS) against the RFCs:
 * - Ta 50 ms: RFC 8445 §14.2's default. `taMs: 5` is allowed for nat-probe's diagnostic runs (lab,
 *   LAN, many pairs), because a survey of hundreds of pairs at 50 ms takes tens of seconds just to
 *   start them; 5 ms is §14.2's floor for all agents together, so lower values are refused and
 *   concurrent agents (trials) must divide it between them.
 * - maxInFlight 10, initial RTO 500 ms (RFC 8489 §6.2.1), Rc 7, Rm 16 as in RFC 8489.
 * - pairTimeoutMs 10 s instead of the 39.5 s a full RFC 8489 transaction may last; overall 30 s.
 */
import type { Clock, TimerHandle } from '../transport/clock.js';
import { RttEstimator } from '../transport/rtt.js';
import { prflxPriorityFor, type Candidate, type TransportAddress } from './candidate.js';
import type {
  Checklist,
  IncomingCheck,
  IncomingCheckResult,
  PairFailure,
  PairFailureReason,
  PairState,
  PairView,
} from './checklist.js';
import { IceOptionError } from './errors.js';
import { roleAfterConflictResponse } from './role-conflict.js';
import type { CandidatePair, IceRole } from './pair.js';

export type IceMode = 'connect' | 'survey';

/** How a run ended. */
export type IceOutcome =
  /** connect: a pair was nominated and selected. */
  | 'connected'
  /** connect: every pair was checked and none can be selected. */
  | 'failed'
  /** survey: every pair was checked. */
  | 'surveyed'
  /** The overall time bound ran out first. */
  | 'timeout'
  /** stop() was called. */
  | 'stopped';

/** What the agent needs to build one Binding request (RFC 8445 §7.1). */
export interface CheckAttempt {
  /** 1 for a transaction's first request; 2, 3, … for its retransmissions. */
  readonly attempt: number;
  /** Transaction number: retransmissions reuse the STUN transaction ID of attempt 1 (RFC 8489 §6.2.1); a new number needs a new ID. */
  readonly transaction: number;
  /** Sent from the triggered-check queue (§7.3.1.4). */
  readonly triggered: boolean;
  /** Include USE-CANDIDATE (§7.1.2): this is the controlling agent's nomination. */
  readonly useCandidate: boolean;
  /** The PRIORITY attribute (§7.1.1): the local candidate's priority as peer-reflexive. */
  readonly priority: number;
  /** Send ICE-CONTROLLING or ICE-CONTROLLED (§7.1.3) accordingly. */
  readonly role: IceRole;
  /** The RTO the transaction started with. */
  readonly rtoMs: number;
}

export interface CheckResponse {
  /** XOR-MAPPED-ADDRESS of the success response; may reveal a local peer-reflexive candidate (§7.2.5.3.1). */
  readonly mappedAddress?: TransportAddress;
}

export interface FailureDetail {
  readonly detail?: string;
  /** STUN error code, for 'error-response'. */
  readonly errorCode?: number;
}

/** The scheduler's own events. `at` is ms since start(), the same name the event stream uses (src/events.ts). */
export type IceSchedulerEvent =
  | {
      readonly type: 'check-sent';
      readonly at: number;
      readonly pairId: string;
      readonly attempt: number;
      readonly transaction: number;
      readonly triggered: boolean;
      readonly useCandidate: boolean;
      readonly rtoMs: number;
    }
  | {
      readonly type: 'pair-state';
      readonly at: number;
      readonly pairId: string;
      readonly from: PairState;
      readonly to: PairState;
      readonly failure?: PairFailure;
    }
  | { readonly type: 'pair-added'; readonly at: number; readonly pairId: string }
  | {
      readonly type: 'candidate-learned';
      readonly at: number;
      readonly side: 'local' | 'remote';
      readonly candidate: Candidate;
      readonly pairId: string;
    }
  | {
      readonly type: 'role-changed';
      readonly at: number;
      readonly from: IceRole;
      readonly to: IceRole;
      readonly reason: 'role-conflict-response' | 'set-role';
    }
  | { readonly type: 'nominating'; readonly at: number; readonly pairId: string }
  | { readonly type: 'nominated'; readonly at: number; readonly pairId: string; readonly validPair: CandidatePair }
  | {
      readonly type: 'completed';
      readonly at: number;
      readonly outcome: IceOutcome;
      readonly selectedPairId?: string;
      readonly counts: Readonly<Record<PairState, number>>;
    };

export type IceSchedulerListener = (event: IceSchedulerEvent) => void;

export interface SchedulerOptions {
  readonly clock: Clock;
  /** Default 'connect'. */
  readonly mode?: IceMode;
  /** Sends one Binding request for the pair (from pair.localBase to pair.remote). Must not throw for network errors; report them with onFailure. */
  readonly sendCheck: (pair: CandidatePair, attempt: CheckAttempt) => void;
  /**
   * Ta, the pacing interval between new transactions. Default 50 ms, the value RFC 8445 §14.2 says
   * agents SHOULD use. A diagnostic run on a known-good LAN or in the NAT lab may go down to 5 ms,
   * the floor §14.2 sets for all transactions of all agents together; values below 5 ms are
   * rejected. Several concurrent agents in one process must share that 5 ms budget (raise each
   * agent's Ta accordingly).
   */
  readonly taMs?: number;
  /** Open transactions at most. Default 10 (= 500 ms initial RTO / 50 ms Ta, see the file comment). */
  readonly maxInFlight?: number;
  /** Initial RTO per remote IP. Default 500 ms (RFC 8489 §6.2.1: SHOULD be ≥ 500 ms). */
  readonly initialRtoMs?: number;
  /**
   * Floor of the measured RTO. Default 100 ms. RFC 6298's 1 s floor is meant for TCP; RFC 8489
   * keeps 1 ms accuracy instead. 100 ms bounds the retransmission rate of a few checks in flight
   * while still adapting to fast paths (a 1 ms loopback RTT would otherwise give a ~5 ms RTO).
   */
  readonly minRtoMs?: number;
  /** Ceiling of the measured RTO. Default 60,000 ms. */
  readonly maxRtoMs?: number;
  /** Rc: requests per transaction. Default 7 (RFC 8489 §6.2.1). */
  readonly maxAttempts?: number;
  /** Rm: after the last request, wait Rm·RTO before failing. Default 16 (RFC 8489 §6.2.1). */
  readonly lastAttemptWaitFactor?: number;
  /**
   * Bound on one check, from its first request. Default 10,000 ms. The full RFC 8489 schedule
   * (Rc=7, Rm=16, RTO 500 ms) takes 39.5 s; a diagnostic gives up sooner, after ~5 retransmissions.
   */
  readonly pairTimeoutMs?: number;
  /** Bound on the whole run, from start(). Default 30,000 ms. */
  readonly overallTimeoutMs?: number;
  /**
   * connect, controlling: the longest wait for a better pair after the first valid pair, whatever
   * the RTT. RFC 8445 §8.1.1 leaves this stopping criterion open; see considerNomination for the
   * rule. Default 1,000 ms. Nomination happens at once when no higher-priority pair is still
   * pending, and sooner than this cap when the better pairs have had their chance.
   */
  readonly nominationWaitMs?: number;
  /**
   * connect, controlling: the wait for a better pair, in round trips of the best valid pair
   * (r): a pending better pair has a chance until factor × r after its check went out, and the
   * wait ends at most factor × r after the first valid pair. Default 1: a path that is better
   * than the one that works answers within its round trip, so nomination adds at most one RTT
   * (plus the Ta slot of the nomination check) to the first valid pair. (It was 8 until the lab
   * got real delay: at 100 ms RTT that waited 800 ms for host pairs between private addresses
   * that can never answer.)
   */
  readonly nominationWaitRttFactor?: number;
  /** Floor of the RTT-scaled wait. Default 0: on loopback, r is a fraction of a millisecond and nothing better can come. */
  readonly nominationMinWaitMs?: number;
  /** 487 responses tolerated per pair before it Fails with 'role-conflict'. Default 3. */
  readonly maxRoleConflictsPerPair?: number;
  /**
   * False while the peer may still trickle candidates (RFC 8838); the run then does not end as
   * 'failed' or 'surveyed' until endOfRemoteCandidates(). Default true.
   */
  readonly remoteCandidatesComplete?: boolean;
  /**
   * connect: how long after start() a run with no pairs of its own (every remote candidate was
   * unusable, or none shared an address family) keeps waiting for the peer's checks before it
   * ends as 'failed'. The peer may well reach this agent: its check creates a peer-reflexive
   * remote candidate, a pair and a triggered check (RFC 8445 §7.3.1.3–§7.3.1.4), and the run
   * connects through that pair. Pairs that incoming checks created do not count as the agent's
   * own. Default 0 (fail at once); IceAgent passes peerCheckWaitMs() of the signaling RTT.
   */
  readonly peerCheckWaitMs?: number;
  readonly listener?: IceSchedulerListener;
}

/** The defaults above, in one place for documentation and reports. */
export const SCHEDULER_DEFAULTS = {
  mode: 'connect' as IceMode,
  taMs: 50,
  maxInFlight: 10,
  initialRtoMs: 500,
  minRtoMs: 100,
  maxRtoMs: 60_000,
  maxAttempts: 7,
  lastAttemptWaitFactor: 16,
  pairTimeoutMs: 10_000,
  overallTimeoutMs: 30_000,
  nominationWaitMs: 1_000,
  nominationWaitRttFactor: 1,
  nominationMinWaitMs: 0,
  maxRoleConflictsPerPair: 3,
} as const;

/** RFC 8445 §14.2: no more than one transaction per 5 ms across all agents. */
export const MIN_TA_MS = 5;

/** Unauthenticated responses within one transaction before the pair Fails as 'integrity' (one alone could be a spoof). */
export const UNAUTHENTICATED_RESPONSES_TO_FAIL = 2;

/** The fixed part of peerCheckWaitMs(): see there. */
export const PEER_CHECK_WAIT_BASE_MS = 1_000;
/** peerCheckWaitMs() never waits longer than this. */
export const PEER_CHECK_WAIT_CAP_MS = 5_000;
/** peerCheckWaitMs(): signaling round trips waited beyond the base. */
export const PEER_CHECK_WAIT_RTT_FACTOR = 4;

/**
 * How long an agent with no pairs of its own waits for the peer's checks (see
 * SchedulerOptions.peerCheckWaitMs): 1 s + 4 × the peer-to-peer signaling RTT, at most 5 s.
 *
 * Why that bound. Both peers start their checks once they hold each other's parameters and
 * candidates; ours left before our start(), so the peer has them at most ½ signaling RTT later.
 * The peer may still be gathering its server-reflexive candidate (a STUN round trip, taken here as
 * about one signaling RTT), then paces its first checks by Ta, and its check needs ½ a
 * peer-to-peer RTT (no longer than the signaling path through a server, in practice) to arrive.
 * That is about 2 RTT; twice that is the margin, since the signaling RTT is estimated from one
 * sample. The fixed second covers one lost first check: the peer retransmits after its initial
 * RTO, 500 ms by RFC 8489 §6.2.1 (less when it measured its STUN server), and again after twice
 * that. Without a measured RTT the bound is the base alone. The cap keeps a silent peer from
 * holding the run: the overall bound still applies on top.
 */
export function peerCheckWaitMs(signalingRttMs?: number): number {
  const rtt = signalingRttMs !== undefined && Number.isFinite(signalingRttMs) && signalingRttMs > 0 ? signalingRttMs : 0;
  return Math.min(PEER_CHECK_WAIT_CAP_MS, PEER_CHECK_WAIT_BASE_MS + PEER_CHECK_WAIT_RTT_FACTOR * rtt);
}

/** One pair's outcome, for reports. Times are ms since start(). */
export interface PairReport {
  readonly pairId: string;
  readonly local: Candidate;
  readonly remote: Candidate;
  readonly priority: bigint;
  readonly state: PairState;
  readonly failure?: PairFailure;
  readonly valid: boolean;
  readonly nominated: boolean;
  /** Binding requests sent for this pair, retransmissions included. */
  readonly requestsSent: number;
  /**
   * The successful check's round trip: exact when its first request was answered; after a
   * retransmission, the time since the last request (Karn's rule keeps that out of the RTO).
   */
  readonly rttMs?: number;
  /** Responses to this pair's checks discarded for failing MESSAGE-INTEGRITY (RFC 8489 §9.1.4). */
  readonly unauthenticatedResponses: number;
  readonly firstCheckAtMs?: number;
  readonly succeededAtMs?: number;
}

/**
 * One connectivity-check transaction (RFC 8489 §6.2.1): its number is what sendCheck passes as
 * `attempt.transaction`, and what the agent reports responses and failures by.
 */
interface Transaction {
  readonly pairId: string;
  readonly pair: CandidatePair;
  readonly id: number;
  readonly nomination: boolean;
  readonly triggered: boolean;
  /** The role the request carries; retransmissions repeat it (they are the same request). */
  readonly role: IceRole;
  readonly startedAt: number;
  readonly deadline: number;
  readonly initialRtoMs: number;
  readonly stats: PairStats;
  attempts: number;
  lastSentAt: number;
  /** Wait after the next request (doubles each time). */
  interval: number;
  /** When the next retransmission is due, or (after the last request) when the transaction fails. */
  nextAt: number;
  finalWait: boolean;
  /** Responses that failed MESSAGE-INTEGRITY, discarded as never received (RFC 8489 §9.1.4). */
  unauthenticated: number;
}

/** The per-pair counters a report or event shows, owned here alone (see PairReport). */
export interface PairCheckStats {
  readonly requestsSent: number;
  readonly rttMs?: number;
  readonly unauthenticatedResponses: number;
}

interface PairStats {
  requestsSent: number;
  roleConflicts: number;
  unauthenticated: number;
  rttMs?: number;
  firstCheckAt?: number;
  succeededAt?: number;
}

export class IceScheduler {
  readonly checklist: Checklist;
  private readonly clock: Clock;
  private readonly mode: IceMode;
  private readonly sendCheck: SchedulerOptions['sendCheck'];
  private readonly taMs: number;
  private readonly maxInFlight: number;
  private readonly rtoOptions: { initialRtoMs: number; minRtoMs: number; maxRtoMs: number };
  private readonly maxAttempts: number;
  private readonly lastAttemptWaitFactor: number;
  private readonly pairTimeoutMs: number;
  private readonly overallTimeoutMs: number;
  private readonly nominationWaitMs: number;
  private readonly nominationWaitRttFactor: number;
  private readonly nominationMinWaitMs: number;
  private readonly maxRoleConflicts: number;
  private readonly peerCheckWaitMs: number;
  private remoteComplete: boolean;
  /** Whether the checklist ever held a pair this agent formed from signalled candidates (not from an incoming check). */
  private ownPairs = false;
  /** While set, a run with no pairs of its own waits until then for the peer's checks (peerCheckWaitMs). */
  private peerCheckWaitUntil: number | undefined;
  private waitedForPeerChecks = false;
  /** Pairs created by incoming checks (§7.3.1.4), possibly before start(). */
  private pairsFromChecks = 0;
  /** Outstanding hold() calls: the run may not end as failed or surveyed while any is held. */
  private holds = 0;

  private readonly listeners: IceSchedulerListener[] = [];
  /** The open transaction of each pair: at most one (an ordinary, triggered or nomination check). */
  private readonly inflight = new Map<string, Transaction>();
  /**
   * Every transaction that may still be answered, by number: the open ones, and those cancelled
   * by a triggered check (§7.3.1.4), whose late responses still count (for their pair, never as
   * another transaction's answer) until they would have timed out.
   */
  private readonly transactions = new Map<number, Transaction>();
  private readonly estimators = new Map<string, RttEstimator>();
  /**
   * Per remote IP, the time from a check's last send to its success. After a retransmission it is
   * no RTT sample (Karn's rule: which send was answered is unknown; it is at most the RTT), but it
   * still tells the nomination wait the scale of the path when no clean sample exists: a
   * hole-punched pair's first requests are dropped until the other side's opening arrives.
   */
  private readonly answerDelays = new Map<string, number>();
  private readonly stats = new Map<string, PairStats>();

  private phase: 'idle' | 'running' | 'finished' = 'idle';
  private finalOutcome: IceOutcome | undefined;
  private selected: string | undefined;
  private nominating: string | undefined;
  private nominationDueAt: number | undefined;
  /** When the wait for a better pair ends at the latest: set when the first valid pair appears (see considerNomination). */
  private nominationDeadline: number | undefined;
  private nominationDirty = false;
  private startedAt: number;
  private overallDeadline = Number.POSITIVE_INFINITY;
  private nextSlotAt = 0;
  private nextTransaction = 1;
  private workMayExist = true;
  private pumping = false;
  private pumpAgain = false;
  private timer: TimerHandle | undefined;
  private timerAt: number | undefined;

  constructor(checklist: Checklist, options: SchedulerOptions) {
    const d = SCHEDULER_DEFAULTS;
    this.checklist = checklist;
    this.clock = options.clock;
    this.mode = options.mode ?? d.mode;
    this.sendCheck = options.sendCheck;
    this.taMs = options.taMs ?? d.taMs;
    this.maxInFlight = options.maxInFlight ?? d.maxInFlight;
    this.rtoOptions = {
      initialRtoMs: options.initialRtoMs ?? d.initialRtoMs,
      minRtoMs: options.minRtoMs ?? d.minRtoMs,
      maxRtoMs: options.maxRtoMs ?? d.maxRtoMs,
    };
    this.maxAttempts = options.maxAttempts ?? d.maxAttempts;
    this.lastAttemptWaitFactor = options.lastAttemptWaitFactor ?? d.lastAttemptWaitFactor;
    this.pairTimeoutMs = options.pairTimeoutMs ?? d.pairTimeoutMs;
    this.overallTimeoutMs = options.overallTimeoutMs ?? d.overallTimeoutMs;
    this.nominationWaitMs = options.nominationWaitMs ?? d.nominationWaitMs;
    this.nominationWaitRttFactor = options.nominationWaitRttFactor ?? d.nominationWaitRttFactor;
    this.nominationMinWaitMs = options.nominationMinWaitMs ?? d.nominationMinWaitMs;
    this.maxRoleConflicts = options.maxRoleConflictsPerPair ?? d.maxRoleConflictsPerPair;
    this.peerCheckWaitMs = options.peerCheckWaitMs ?? 0;
    this.remoteComplete = options.remoteCandidatesComplete ?? true;
    if (options.listener !== undefined) this.listeners.push(options.listener);
    this.validate();
    this.startedAt = this.clock.now();
    checklist.observe({
      onStateChange: (view, from, to) => {
        if (this.listeners.length === 0) return;
        const at = this.elapsed();
        const pairId = view.pair.id;
        this.emit(
          view.failure === undefined
            ? { type: 'pair-state', at, pairId, from, to }
            : { type: 'pair-state', at, pairId, from, to, failure: view.failure },
        );
      },
      onPairAdded: (view) => this.emit({ type: 'pair-added', at: this.elapsed(), pairId: view.pair.id }),
    });
  }

  get role(): IceRole {
    return this.checklist.role;
  }

  get running(): boolean {
    return this.phase === 'running';
  }

  /** Undefined until the run has ended. */
  get outcome(): IceOutcome | undefined {
    return this.finalOutcome;
  }

  /** The selected (nominated) pair in connect mode. */
  get selectedPair(): PairView | undefined {
    return this.selected === undefined ? undefined : this.checklist.get(this.selected);
  }

  get inFlight(): number {
    return this.inflight.size;
  }

  /** The peer-check wait (SchedulerOptions.peerCheckWaitMs) this run applied, when it had to wait at all. */
  get peerCheckWaitApplied(): number | undefined {
    return this.waitedForPeerChecks ? this.peerCheckWaitMs : undefined;
  }

  /** Adds a listener; returns a function that removes it. */
  addListener(listener: IceSchedulerListener): () => void {
    this.listeners.push(listener);
    return () => {
      const index = this.listeners.indexOf(listener);
      if (index >= 0) this.listeners.splice(index, 1);
    };
  }

  /** Sets the initial states (§6.1.2.6) and sends the first check now; the next ones follow every Ta. */
  start(): void {
    if (this.phase !== 'idle') return;
    this.phase = 'running';
    this.startedAt = this.clock.now();
    this.overallDeadline = this.startedAt + this.overallTimeoutMs;
    this.nextSlotAt = this.startedAt;
    this.ownPairs = this.checklist.size > this.pairsFromChecks;
    this.checklist.unfreezeInitial();
    this.pump();
  }

  /** Ends the run now; checks in progress Fail as 'cancelled'. */
  stop(): void {
    this.finish('stopped');
  }

  /**
   * Ends a connect run as 'failed' now unless a pair is already valid: for a caller that knows no
   * check still in progress can succeed (a traversal plan found no direct path for this pair of
   * NATs, and no relayed candidate takes part), so waiting out the pair timeouts tells nothing
   * more. Returns whether the run ended.
   */
  abandon(why: string): boolean {
    if (this.phase !== 'running' || this.mode !== 'connect' || this.checklist.bestValidPair() !== undefined) return false;
    this.finish('failed', `run abandoned while the check was in progress: ${why}`);
    return true;
  }

  /**
   * A success response to transaction `transaction` (CheckAttempt.transaction) (§7.2.5.3). The
   * scheduler alone decides what it answers: the pair's open check, or a check cancelled by a
   * triggered check (§7.3.1.4) that still counts for its pair, but never as the nomination or any
   * other check of that pair that went out since. Returns false for a response it ignores (the
   * transaction ended, timed out, or the run is over).
   */
  onResponse(transaction: number, response: CheckResponse = {}): boolean {
    if (this.phase !== 'running') return false;
    const now = this.clock.now();
    const tx = this.transactions.get(transaction);
    if (tx === undefined) return false;
    this.transactions.delete(transaction);
    const pairId = tx.pairId;
    const stats = tx.stats;
    if (this.inflight.get(pairId) === tx) {
      this.inflight.delete(pairId);
      const answerDelay = now - tx.lastSentAt;
      this.answerDelays.set(tx.pair.remote.address, answerDelay);
      // Karn (RFC 6298 §3): a response to a retransmitted request is no sample for the RTO, since
      // which request it answers is unknown; the report still shows the time since the last one.
      if (tx.attempts === 1) this.estimatorFor(tx.pair).sample(answerDelay);
      stats.rttMs = answerDelay;
      if (tx.nomination && this.role === 'controlling') {
        this.nominating = undefined;
        const view = this.checklist.markNominated(pairId);
        this.emit({ type: 'nominated', at: this.elapsed(), pairId, validPair: view.validPair! });
        if (this.mode === 'connect') this.select(pairId);
        this.pump();
        return true;
      }
    } else {
      // A cancelled check answered after all (§7.3.1.4).
      if (now > tx.deadline) return false;
      const view = this.checklist.get(pairId);
      if (view.state === 'succeeded') return true; // the pair already has its answer
      stats.rttMs ??= now - tx.lastSentAt;
      // The ordinary re-check of the pair now in flight has nothing left to find out.
      const open = this.inflight.get(pairId);
      if (open !== undefined && !open.nomination) {
        this.inflight.delete(pairId);
        this.transactions.delete(open.id);
      }
    }
    this.workMayExist = true;
    const result = this.checklist.markSucceeded(pairId, response.mappedAddress ? { mappedAddress: response.mappedAddress } : {});
    stats.succeededAt ??= now;
    if (result.learnedLocal !== undefined) {
      this.emit({ type: 'candidate-learned', at: this.elapsed(), side: 'local', candidate: result.learnedLocal, pairId });
    }
    this.nominationDirty = true;
    if (result.view.nominated) {
      // Controlled agent: USE-CANDIDATE had arrived before this check succeeded (§7.3.1.5).
      this.emit({ type: 'nominated', at: this.elapsed(), pairId, validPair: result.validPair });
      if (this.mode === 'connect') this.select(pairId);
    }
    this.pump();
    return true;
  }

  /**
   * Transaction `transaction` failed for `reason` (§7.2.5.2, §7.2.5.4). Only the pair's open check
   * can fail it: a cancelled check ends silently (§7.3.1.4). Returns false when it was not open.
   */
  onFailure(transaction: number, reason: PairFailureReason, detail: FailureDetail = {}): boolean {
    const tx = this.openTransaction(transaction);
    if (tx === undefined) return false;
    this.failTransaction(tx, { reason, ...detail });
    this.pump();
    return true;
  }

  /**
   * A response to transaction `transaction` failed MESSAGE-INTEGRITY: discarded as never received
   * (RFC 8489 §9.1.4), and counted. A peer that keeps doing it within one open transaction
   * (UNAUTHENTICATED_RESPONSES_TO_FAIL) Fails the pair as 'integrity'. Returns false when the
   * transaction is unknown or over.
   */
  onUnauthenticatedResponse(transaction: number, detail: string): boolean {
    if (this.phase !== 'running') return false;
    const tx = this.transactions.get(transaction);
    if (tx === undefined) return false;
    tx.unauthenticated++;
    tx.stats.unauthenticated++;
    if (this.inflight.get(tx.pairId) === tx && tx.unauthenticated >= UNAUTHENTICATED_RESPONSES_TO_FAIL) {
      this.failTransaction(tx, { reason: 'integrity', detail: `${tx.unauthenticated} responses failed validation: ${detail}` });
      this.pump();
    }
    return true;
  }

  /**
   * A 487 Role Conflict response to transaction `transaction` (§7.2.5.1): switch role, and check
   * the pair again through the triggered-check queue. After `maxRoleConflictsPerPair` conflicts
   * the pair Fails with 'role-conflict' instead. Only the pair's open check counts.
   */
  onRoleConflict(transaction: number): boolean {
    const tx = this.openTransaction(transaction);
    if (tx === undefined) return false;
    const pairId = tx.pairId;
    const stats = tx.stats;
    stats.roleConflicts++;
    if (stats.roleConflicts > this.maxRoleConflicts) {
      this.failTransaction(tx, { reason: 'role-conflict', errorCode: 487, detail: `487 Role Conflict ${stats.roleConflicts} times` });
      this.pump();
      return true;
    }
    this.inflight.delete(pairId);
    this.transactions.delete(tx.id);
    if (tx.nomination) this.nominating = undefined;
    // §7.2.5.1: the role to take follows from the role the request carried, not the current one:
    // an incoming request may already have switched this agent (§7.3.1.1) while the check was out.
    this.changeRole(roleAfterConflictResponse(tx.role), 'role-conflict-response');
    this.checklist.requeue(pairId);
    this.workMayExist = true;
    this.pump();
    return true;
  }

  /** The pair's counters (requests sent, RTT, discarded responses); undefined before its first check. */
  pairStats(pairId: string): PairCheckStats | undefined {
    const stats = this.stats.get(pairId);
    if (stats === undefined) return undefined;
    return { requestsSent: stats.requestsSent, unauthenticatedResponses: stats.unauthenticated, ...(stats.rttMs !== undefined ? { rttMs: stats.rttMs } : {}) };
  }

  /** The transaction, when it is its pair's open check and the run goes on. */
  private openTransaction(transaction: number): Transaction | undefined {
    if (this.phase !== 'running') return undefined;
    const tx = this.transactions.get(transaction);
    return tx !== undefined && this.inflight.get(tx.pairId) === tx ? tx : undefined;
  }

  /**
   * An authenticated Binding request arrived (§7.3.1). Call it after answering the request (and
   * after resolving any role conflict, see resolveRoleConflict). Queues the triggered check, learns
   * peer-reflexive remote candidates and, for a controlled agent, records USE-CANDIDATE.
   */
  onIncomingCheck(check: IncomingCheck): IncomingCheckResult {
    const result = this.checklist.handleIncomingCheck(check);
    const pairId = result.view.pair.id;
    if (result.created) this.pairsFromChecks++;
    if (result.learnedRemote !== undefined) {
      this.emit({ type: 'candidate-learned', at: this.elapsed(), side: 'remote', candidate: result.learnedRemote, pairId });
    }
    if (result.previousState === 'in-progress') {
      // §7.3.1.4: the check in progress is cancelled: no more retransmissions and no failure on
      // timeout, but a response to it still counts until the transaction would have timed out.
      // The transaction stays known (this.transactions) until its deadline for that response.
      const tx = this.inflight.get(pairId);
      if (tx !== undefined) {
        this.inflight.delete(pairId);
        if (tx.nomination) this.nominating = undefined;
      }
    }
    if (result.nominatedNow && result.view.validPair !== undefined) {
      this.emit({ type: 'nominated', at: this.elapsed(), pairId, validPair: result.view.validPair });
      if (this.mode === 'connect' && this.phase === 'running') this.select(pairId);
    }
    this.workMayExist = true;
    this.pump();
    return result;
  }

  /** Switches role, e.g. after resolveRoleConflict decided so for an incoming request (§7.3.1.1). */
  setRole(role: IceRole): void {
    this.changeRole(role, 'set-role');
    this.pump();
  }

  /** A trickled remote candidate (RFC 8838); returns the pairs added. */
  addRemoteCandidate(candidate: Candidate): CandidatePair[] {
    const added = this.checklist.addRemoteCandidate(candidate);
    if (added.length > 0) this.ownPairs = true;
    this.workMayExist = true;
    this.pump();
    return added;
  }

  /** A local candidate added after start (see Checklist.addLocalCandidate); returns the pairs added. */
  addLocalCandidate(candidate: Candidate, options: { readonly formPairs: boolean }): CandidatePair[] {
    const added = this.checklist.addLocalCandidate(candidate, options);
    if (added.length > 0) this.ownPairs = true;
    this.workMayExist = true;
    this.pump();
    return added;
  }

  /**
   * Keeps the run from ending as 'failed' or 'surveyed' while something outside the checklist may
   * still produce a path: a relayed candidate still being allocated, or a traversal strategy whose
   * probes may yet open one (their checks arrive as incoming checks, §7.3.1.4). The overall bound
   * still applies. Returns the release; releasing twice is harmless.
   */
  hold(): () => void {
    this.holds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holds--;
      this.pump();
    };
  }

  /** The peer signalled end-of-candidates: the run may now end as 'failed' or 'surveyed'. */
  endOfRemoteCandidates(): void {
    this.remoteComplete = true;
    this.pump();
  }

  /** Every pair's outcome so far, highest priority first. */
  report(): PairReport[] {
    return this.checklist.pairs().map((view) => {
      const stats = this.stats.get(view.pair.id);
      const rel = (t: number | undefined): number | undefined => (t === undefined ? undefined : t - this.startedAt);
      const firstCheckAtMs = rel(stats?.firstCheckAt);
      const succeededAtMs = rel(stats?.succeededAt);
      return {
        pairId: view.pair.id,
        local: view.pair.local,
        remote: view.pair.remote,
        priority: view.pair.priority,
        state: view.state,
        ...(view.failure !== undefined ? { failure: view.failure } : {}),
        valid: view.validPair !== undefined,
        nominated: view.nominated,
        requestsSent: stats?.requestsSent ?? 0,
        unauthenticatedResponses: stats?.unauthenticated ?? 0,
        ...(stats?.rttMs !== undefined ? { rttMs: stats.rttMs } : {}),
        ...(firstCheckAtMs !== undefined ? { firstCheckAtMs } : {}),
        ...(succeededAtMs !== undefined ? { succeededAtMs } : {}),
      };
    });
  }

  /** The RTO the next transaction to this remote address would start with. */
  rtoFor(remote: TransportAddress): number {
    return this.estimators.get(remote.address)?.rtoMs ?? this.rtoOptions.initialRtoMs;
  }

  // ---- the pump: everything time-driven happens here ------------------------------------

  private pump(): void {
    if (this.phase !== 'running') return;
    if (this.pumping) {
      // Re-entered from sendCheck or a listener: finish the current step first, then step again.
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        this.step();
      } while (this.pumpAgain && this.phase === 'running');
    } finally {
      this.pumping = false;
    }
    this.armTimer();
  }

  private step(): void {
    const now = this.clock.now();
    if (now >= this.overallDeadline) {
      this.finish('timeout');
      return;
    }
    this.serviceTransactions(now);
    if (this.phase !== 'running') return;
    this.considerNomination(now);
    this.maybeStartCheck(now);
    this.checkCompletion();
  }

  private serviceTransactions(now: number): void {
    for (const tx of this.inflight.values()) {
      if (this.phase !== 'running') return;
      if (now >= tx.deadline) {
        this.failTransaction(tx, { reason: 'timeout', detail: `no response within ${this.pairTimeoutMs} ms (${tx.attempts} requests)` });
      } else if (now >= tx.nextAt) {
        if (tx.finalWait) {
          this.failTransaction(tx, { reason: 'timeout', detail: `no response to ${tx.attempts} requests (RFC 8489 §6.2.1 Rc/Rm)` });
        } else {
          this.transmit(tx, now);
        }
      }
    }
  }

  private maybeStartCheck(now: number): void {
    if (now < this.nextSlotAt || this.inflight.size >= this.maxInFlight || !this.workMayExist) return;
    for (;;) {
      const next = this.checklist.takeNextCheck();
      if (next === undefined) {
        this.workMayExist = false;
        return;
      }
      // A nomination queued before a role switch is void: only a controlling agent nominates.
      if (next.useCandidate && this.role !== 'controlling') continue;
      this.startTransaction(next.pair, next.triggered, next.useCandidate, now);
      this.nextSlotAt = now + this.taMs;
      return;
    }
  }

  private startTransaction(pair: CandidatePair, triggered: boolean, nomination: boolean, now: number): void {
    const rto = this.estimatorFor(pair).rtoMs;
    const stats = this.statsFor(pair.id);
    stats.firstCheckAt ??= now;
    const tx: Transaction = {
      pairId: pair.id,
      pair,
      id: this.nextTransaction++,
      nomination,
      triggered,
      role: this.role,
      startedAt: now,
      deadline: now + this.pairTimeoutMs,
      initialRtoMs: rto,
      stats,
      attempts: 0,
      lastSentAt: now,
      interval: rto,
      nextAt: now,
      finalWait: false,
      unauthenticated: 0,
    };
    this.inflight.set(pair.id, tx);
    this.transactions.set(tx.id, tx);
    this.transmit(tx, now);
  }

  /** Sends the transaction's next request and schedules the one after (RFC 8489 §6.2.1). */
  private transmit(tx: Transaction, now: number): void {
    tx.attempts++;
    tx.lastSentAt = now;
    if (tx.attempts < this.maxAttempts) {
      tx.nextAt = now + tx.interval;
      tx.interval *= 2;
    } else {
      tx.nextAt = now + this.lastAttemptWaitFactor * tx.initialRtoMs;
      tx.finalWait = true;
    }
    tx.stats.requestsSent++;
    const attempt: CheckAttempt = {
      attempt: tx.attempts,
      transaction: tx.id,
      triggered: tx.triggered,
      useCandidate: tx.nomination,
      priority: prflxPriorityFor(tx.pair.local),
      role: tx.role,
      rtoMs: tx.initialRtoMs,
    };
    this.emit({
      type: 'check-sent',
      at: this.elapsed(),
      pairId: tx.pairId,
      attempt: tx.attempts,
      transaction: tx.id,
      triggered: tx.triggered,
      useCandidate: tx.nomination,
      rtoMs: tx.initialRtoMs,
    });
    try {
      this.sendCheck(tx.pair, attempt);
    } catch (error) {
      if (this.inflight.get(tx.pairId) === tx) {
        this.failTransaction(tx, { reason: 'send-error', detail: error instanceof Error ? error.message : String(error) });
      }
    }
  }

  private failTransaction(tx: Transaction, failure: PairFailure): void {
    this.inflight.delete(tx.pairId);
    this.transactions.delete(tx.id);
    if (tx.nomination) this.nominating = undefined;
    this.checklist.markFailed(tx.pairId, failure);
    this.workMayExist = true;
    this.nominationDirty = true;
  }

  /**
   * Regular nomination by a controlling agent in connect mode (RFC 8445 §8.1.1), and when to stop
   * waiting for a better pair: §8.1.1 leaves the stopping criterion to the agent ("the controlling
   * agent MAY nominate ... once it has a valid pair, or wait for others"). The rule here:
   *
   * 1. With no pair of higher priority than the best valid one still pending (Frozen, Waiting or
   *    In-Progress), nominate at once: nothing better can appear (§6.1.4.2 order).
   * 2. Otherwise measure the path that works: r = the best valid pair's RTT. A pending better pair
   *    whose check went out at t still has a chance until t + r: a path that is clearly better
   *    answers at least as fast as the one that works. Checks go out in priority order
   *    (§6.1.4.2), so the better pairs were mostly sent before the valid one, and by the time it
   *    succeeds they have already had r; a host↔host pair between private addresses behind two
   *    NATs never answers, and stops counting as soon as r has passed since its check. A pair not
   *    sent yet (Frozen, Waiting: the pacing or the in-flight cap held it back, or a success just
   *    unfroze its foundation, §7.2.5.3.3) keeps its chance until the bound below, since it is
   *    sent within a few Ta and a LAN path answers in far less than r. No slack is added for
   *    jitter: a pair that answers later than the working path is not clearly better, and every
   *    millisecond of slack is paid by every connection.
   * 3. Bound: the wait ends at most r after the first valid pair appeared (nominationWaitRttFactor
   *    × r, floored by nominationMinWaitMs, capped by nominationWaitMs). The nomination check then
   *    waits for its Ta slot (§14.2) and takes one more round trip, so the nominated pair follows
   *    the first valid one within 2·r + Ta.
   *
   * A better pair that succeeds within the wait is nominated instead (the best valid pair is
   * taken when the wait ends). Once nominated, no other pair is (§8.1.1: one nomination per
   * component), so this rule trades a pair that answers more slowly than the working path (which
   * is not better on any real path) for connecting about 8 round trips sooner than a fixed wait.
   * Pending pairs are compared by their own priority: an approximation of the valid pair they
   * would produce, exact unless a check reveals a peer-reflexive local candidate (§7.2.5.3.2).
   */
  private considerNomination(now: number): void {
    if (this.mode !== 'connect' || this.role !== 'controlling' || this.nominating !== undefined || this.selected !== undefined) {
      this.nominationDueAt = undefined;
      return;
    }
    const due = this.nominationDueAt !== undefined && now >= this.nominationDueAt;
    if (!due && !this.nominationDirty) return;
    this.nominationDirty = false;
    const best = this.checklist.bestValidPair();
    if (best === undefined) {
      this.nominationDueAt = undefined;
      return;
    }
    const window = this.nominationWindowFor(best.pair);
    this.nominationDeadline ??= now + window;
    const chanceEndsAt = this.betterPairChanceEndsAt(best.pair.priority, now, window);
    if (chanceEndsAt === undefined || now >= this.nominationDeadline) {
      this.nominationDueAt = undefined;
      this.nominating = best.pair.id;
      this.checklist.enqueueNomination(best.pair.id);
      this.workMayExist = true;
      this.emit({ type: 'nominating', at: this.elapsed(), pairId: best.pair.id });
    } else {
      this.nominationDueAt = Math.min(this.nominationDeadline, chanceEndsAt);
    }
  }

  /** r (the valid pair's RTT) × nominationWaitRttFactor, within [nominationMinWaitMs, nominationWaitMs]. */
  private nominationWindowFor(valid: CandidatePair): number {
    const rtt = this.stats.get(valid.id)?.rttMs ?? this.estimatorFor(valid).smoothedRttMs ?? this.answerDelays.get(valid.remote.address);
    if (rtt === undefined) return this.nominationWaitMs;
    return Math.min(this.nominationWaitMs, Math.max(this.nominationMinWaitMs, this.nominationWaitRttFactor * rtt));
  }

  /**
   * When the last pending pair of higher priority than `priority` loses its chance (see
   * considerNomination): +Infinity while one has not been sent yet, undefined when none has any.
   */
  private betterPairChanceEndsAt(priority: bigint, now: number, window: number): number | undefined {
    let last: number | undefined;
    for (const view of this.checklist.pairs()) {
      if (view.pair.priority <= priority) break;
      if (view.state === 'succeeded' || view.state === 'failed') continue;
      const tx = view.state === 'in-progress' ? this.inflight.get(view.pair.id) : undefined;
      // In-Progress without a transaction of ours: a cancelled one being re-checked (§7.3.1.4).
      const endsAt = tx !== undefined ? tx.startedAt + window : Number.POSITIVE_INFINITY;
      if (endsAt > now) last = Math.max(last ?? endsAt, endsAt);
    }
    return last;
  }

  private checkCompletion(): void {
    if (this.phase !== 'running' || this.inflight.size > 0 || !this.remoteComplete || this.holds > 0) return;
    if (!this.checklist.isSettled()) return;
    if (this.mode === 'survey') {
      this.finish('surveyed');
      return;
    }
    if (this.nominating !== undefined || this.nominationDueAt !== undefined) return;
    // connect: nothing left to check. A controlling agent with a valid pair nominates it (see
    // considerNomination); a controlled agent with one waits for the peer's nomination until the
    // overall bound. Without any valid pair the run has failed, unless it never had a pair of its
    // own: then the peer's checks are its only way in (§7.3.1.3–§7.3.1.4), and it waits for them.
    if (this.checklist.bestValidPair() !== undefined) return;
    if (!this.ownPairs && this.peerCheckWaitMs > 0) {
      const until = this.startedAt + this.peerCheckWaitMs;
      if (this.clock.now() < until) {
        this.peerCheckWaitUntil = until;
        this.waitedForPeerChecks = true;
        return;
      }
    }
    this.peerCheckWaitUntil = undefined;
    this.finish('failed');
  }

  private select(pairId: string): void {
    this.selected = pairId;
    this.finish('connected');
  }

  private finish(outcome: IceOutcome, inProgressDetail = `run ended (${outcome}) while the check was in progress`): void {
    if (this.phase !== 'running') return;
    this.phase = 'finished';
    this.finalOutcome = outcome;
    const reason: PairFailureReason = outcome === 'timeout' ? 'overall-timeout' : 'cancelled';
    for (const tx of [...this.inflight.values()]) {
      this.inflight.delete(tx.pairId);
      // A nomination check runs on a pair that already Succeeded; it stays Succeeded.
      if (!tx.nomination) this.checklist.markFailed(tx.pairId, { reason, detail: inProgressDetail });
    }
    this.transactions.clear();
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = undefined;
    this.emit({
      type: 'completed',
      at: this.elapsed(),
      outcome,
      ...(this.selected !== undefined ? { selectedPairId: this.selected } : {}),
      counts: this.checklist.counts(),
    });
  }

  private armTimer(): void {
    if (this.phase !== 'running') return;
    const now = this.clock.now();
    let wake = this.overallDeadline;
    for (const tx of this.inflight.values()) wake = Math.min(wake, tx.nextAt, tx.deadline);
    if (this.nominationDueAt !== undefined) wake = Math.min(wake, this.nominationDueAt);
    if (this.peerCheckWaitUntil !== undefined && this.peerCheckWaitUntil > now) wake = Math.min(wake, this.peerCheckWaitUntil);
    if (this.workMayExist && this.inflight.size < this.maxInFlight && this.checklist.hasWork()) {
      wake = Math.min(wake, Math.max(now, this.nextSlotAt));
    }
    if (this.timer !== undefined && this.timerAt === wake) return;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timerAt = wake;
    this.timer = this.clock.setTimeout(this.onTimer, wake - now);
  }

  /** One callback for every wake-up, so re-arming the timer allocates no closure. */
  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.timerAt = undefined;
    this.pump();
  };

  private changeRole(role: IceRole, reason: 'role-conflict-response' | 'set-role'): void {
    const from = this.checklist.role;
    if (from === role) return;
    this.checklist.setRole(role);
    this.nominationDirty = true;
    this.workMayExist = true;
    if (role === 'controlled') {
      this.nominating = undefined;
      this.nominationDueAt = undefined;
    }
    this.emit({ type: 'role-changed', at: this.elapsed(), from, to: role, reason });
  }

  /** One estimator per remote IP, as RFC 8489 §6.2.1 caches RTO per server address. */
  private estimatorFor(pair: CandidatePair): RttEstimator {
    // Keyed by the address string as given (not lower-cased: that would allocate per check); an
    // IPv6 literal spelled two ways merely gets two estimators.
    const key = pair.remote.address;
    let estimator = this.estimators.get(key);
    if (estimator === undefined) {
      estimator = new RttEstimator(this.rtoOptions);
      this.estimators.set(key, estimator);
    }
    return estimator;
  }

  private statsFor(pairId: string): PairStats {
    let stats = this.stats.get(pairId);
    if (stats === undefined) {
      stats = { requestsSent: 0, roleConflicts: 0, unauthenticated: 0 };
      this.stats.set(pairId, stats);
    }
    return stats;
  }

  private elapsed(): number {
    return this.clock.now() - this.startedAt;
  }

  private emit(event: IceSchedulerEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  private validate(): void {
    const positive = (name: string, value: number): void => {
      if (!(value > 0) || !Number.isFinite(value)) throw new IceOptionError(`${name} must be a positive number of milliseconds, got ${value}.`);
    };
    if (!(this.taMs >= MIN_TA_MS) || !Number.isFinite(this.taMs)) {
      throw new IceOptionError(`Ta ${this.taMs} ms is below the ${MIN_TA_MS} ms floor of RFC 8445 §14.2; use taMs ≥ ${MIN_TA_MS} (default 50).`);
    }
    if (!Number.isInteger(this.maxInFlight) || this.maxInFlight < 1) throw new IceOptionError(`maxInFlight must be an integer ≥ 1, got ${this.maxInFlight}.`);
    if (!Number.isInteger(this.maxAttempts) || this.maxAttempts < 1) throw new IceOptionError(`maxAttempts (Rc) must be an integer ≥ 1, got ${this.maxAttempts}.`);
    if (!Number.isInteger(this.maxRoleConflicts) || this.maxRoleConflicts < 0) {
      throw new IceOptionError(`maxRoleConflictsPerPair must be an integer ≥ 0, got ${this.maxRoleConflicts}.`);
    }
    const { initialRtoMs, minRtoMs, maxRtoMs } = this.rtoOptions;
    if (!(minRtoMs > 0 && minRtoMs <= maxRtoMs && initialRtoMs > 0)) {
      throw new IceOptionError(
        `RTO bounds are inconsistent (initial ${initialRtoMs}, min ${minRtoMs}, max ${maxRtoMs} ms); use 0 < min ≤ max and a positive initial RTO.`,
      );
    }
    positive('lastAttemptWaitFactor', this.lastAttemptWaitFactor);
    positive('pairTimeoutMs', this.pairTimeoutMs);
    positive('overallTimeoutMs', this.overallTimeoutMs);
    if (!(this.nominationWaitMs >= 0)) throw new IceOptionError(`nominationWaitMs must be ≥ 0, got ${this.nominationWaitMs}.`);
    if (!(this.nominationMinWaitMs >= 0)) throw new IceOptionError(`nominationMinWaitMs must be ≥ 0, got ${this.nominationMinWaitMs}.`);
    if (!(this.nominationWaitRttFactor >= 0) || !Number.isFinite(this.nominationWaitRttFactor)) {
      throw new IceOptionError(`nominationWaitRttFactor must be a finite number ≥ 0, got ${this.nominationWaitRttFactor}.`);
    }
  }
}
