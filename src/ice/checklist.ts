/**
 * The ICE checklist (RFC 8445 §6.1.2, §7.2.5, §7.3.1) for one data stream: pair states,
 * freezing by foundation, the triggered-check queue, the valid list and nomination flags.
 * Pure bookkeeping: it never sends or waits. The scheduler decides when; the agent tells it what
 * happened on the wire.
 *
 * Costs stay O(log n) per check so a 10,000-pair survey is cheap: Waiting pairs sit in a heap,
 * Frozen pairs in per-foundation lists with a cursor, and foundations that fall idle in a queue.
 */
import { BinaryHeap } from './binary-heap.js';
import {
  FoundationAllocator,
  familyOf,
  formatTransportAddress,
  prflxPriorityFor,
  type Candidate,
  type TransportAddress,
} from './candidate.js';
import { InvalidCandidateError, UnknownPairError } from './errors.js';
import {
  DEFAULT_MAX_PAIRS,
  buildPairs,
  comparePairs,
  formPairs,
  makePair,
  pairIdOf,
  withRole,
  type CandidatePair,
  type IceRole,
} from './pair.js';

/**
 * RFC 8445 §6.1.2.6 (Frozen, Waiting, In-Progress, Succeeded, Failed), spelled in lower case as
 * the event stream, the reports and the signaling protocol spell them: one spelling everywhere.
 */
export type PairState = 'frozen' | 'waiting' | 'in-progress' | 'succeeded' | 'failed';
export const PAIR_STATES: readonly PairState[] = ['frozen', 'waiting', 'in-progress', 'succeeded', 'failed'];

/** Why a pair Failed; stable strings that reports count and explain. */
export type PairFailureReason =
  /** No response within the retransmission schedule or the per-pair time bound (RFC 8489 §6.2.1). */
  | 'timeout'
  /** The path reported the destination unreachable (ICMP), or the send was refused by the network. */
  | 'unreachable'
  /** The response failed MESSAGE-INTEGRITY or FINGERPRINT validation (RFC 8445 §7.2.5.2, RFC 8489 §9). */
  | 'integrity'
  /** The peer kept answering 487 Role Conflict after this agent switched role (§7.2.5.1). */
  | 'role-conflict'
  /** An unrecoverable STUN error response (§7.2.5.2.4); `errorCode` holds the code. */
  | 'error-response'
  /** The response's addresses were not symmetric with the request's (§7.2.5.2.1). */
  | 'non-symmetric'
  /** The local socket could not send the request. */
  | 'send-error'
  /** The whole run's time bound expired while this pair's check was in progress. */
  | 'overall-timeout'
  /** The run ended (a pair was nominated, or stop() was called) while this pair's check was in progress. */
  | 'cancelled';

export interface PairFailure {
  readonly reason: PairFailureReason;
  readonly detail?: string;
  /** The STUN error code for 'error-response' (and 487 for 'role-conflict'). */
  readonly errorCode?: number;
}

/** A read-only view of one checklist entry. */
export interface PairView {
  readonly pair: CandidatePair;
  readonly state: PairState;
  readonly failure: PairFailure | undefined;
  /** The valid pair this pair's check produced (§7.2.5.3.2); undefined until it Succeeds. */
  readonly validPair: CandidatePair | undefined;
  /** The nominated flag of that valid pair (§8.1.1, §7.3.1.5). */
  readonly nominated: boolean;
}

/** What the scheduler should send next. */
export interface NextCheck {
  readonly pair: CandidatePair;
  /** Taken from the triggered-check queue (§7.3.1.4) rather than the ordinary Waiting order. */
  readonly triggered: boolean;
  /** A controlling agent's nomination: repeat the check with USE-CANDIDATE (§8.1.1). */
  readonly useCandidate: boolean;
}

export interface SuccessResult {
  readonly view: PairView;
  readonly validPair: CandidatePair;
  /** A local peer-reflexive candidate learned from the mapped address (§7.2.5.3.1). */
  readonly learnedLocal?: Candidate;
}

/** An authenticated Binding request the agent received (§7.3.1), as the checklist needs it. */
export interface IncomingCheck {
  /** The local transport address the request arrived on: a host or relayed candidate's base. */
  readonly localBase: TransportAddress;
  /** The request's source transport address. */
  readonly source: TransportAddress;
  /** The PRIORITY attribute; becomes the priority of a learned peer-reflexive remote (§7.3.1.3). */
  readonly priority: number;
  /** USE-CANDIDATE present (§7.3.1.5); acted on by a controlled agent only. */
  readonly useCandidate: boolean;
  readonly component?: number;
}

export interface IncomingCheckResult {
  readonly view: PairView;
  readonly created: boolean;
  /** The pair's state before the request; undefined when the pair was created for it. */
  readonly previousState: PairState | undefined;
  /** A remote peer-reflexive candidate learned from an unknown source (§7.3.1.3). */
  readonly learnedRemote?: Candidate;
  /** A triggered check was queued for the pair (§7.3.1.4). */
  readonly enqueued: boolean;
  /** The pair was already valid and is nominated now (controlled agent, §7.3.1.5). */
  readonly nominatedNow: boolean;
}

export interface ChecklistOptions {
  readonly role: IceRole;
  /** All local candidates (srflx and relay included): incoming checks and mapped addresses are matched against them. Default: the pairs' local candidates. */
  readonly locals?: readonly Candidate[];
  /** All remote candidates. Default: the pairs' remote candidates. */
  readonly remotes?: readonly Candidate[];
  /** Pair limit (§6.1.2.5) for pairs added later by trickled remote candidates. Default 100. */
  readonly maxPairs?: number;
  /** Allocates foundations for learned local prflx candidates (§5.1.1.3). Default: a private allocator with prefix "prflx". */
  readonly foundations?: FoundationAllocator;
  /** Observes state changes and added pairs (more can be added with `observe`). */
  readonly observer?: ChecklistObserver;
}

export interface ChecklistObserver {
  /** Called after every state change. */
  readonly onStateChange?: (view: PairView, from: PairState, to: PairState) => void;
  /** Called when a pair is added after construction (learned from a check, or trickled). */
  readonly onPairAdded?: (view: PairView) => void;
}

interface Entry extends PairView {
  pair: CandidatePair;
  state: PairState;
  failure: PairFailure | undefined;
  validPair: CandidatePair | undefined;
  nominated: boolean;
  /** §7.3.1.5: USE-CANDIDATE arrived before this pair succeeded; nominate it when it does. */
  nominateOnSuccess: boolean;
  /** What the triggered-check queue holds this entry for, and the ticket of its live queue slot. */
  queuedFor: 'none' | 'check' | 'nominate';
  ticket: number;
  group: FoundationGroup;
  /** Index in priority order, valid while the checklist is `ranked`. */
  rank: number;
}

interface FoundationGroup {
  readonly foundation: string;
  /** Entries of this foundation by decreasing priority. Every entry before `cursor` is not Frozen. */
  entries: Entry[];
  cursor: number;
  /** Pairs Waiting or In-Progress: while > 0 the foundation's Frozen pairs stay frozen (§6.1.4.2). */
  active: number;
  frozen: number;
  idleQueued: boolean;
}

interface QueueSlot {
  readonly entry: Entry;
  readonly ticket: number;
}

const isActive = (state: PairState): boolean => state === 'waiting' || state === 'in-progress';

export class Checklist {
  private currentRole: IceRole;
  private readonly maxPairs: number;
  private readonly foundations: FoundationAllocator;
  private readonly observers: ChecklistObserver[] = [];

  private readonly entries: Entry[] = [];
  private sorted = true;
  /** Construction appends to groups in input order; they are sorted once, before first use. */
  private groupsSorted = false;
  private readonly byId = new Map<string, Entry>();
  private readonly groups = new Map<string, FoundationGroup>();
  private readonly stateCounts: Record<PairState, number> = { frozen: 0, waiting: 0, 'in-progress': 0, succeeded: 0, failed: 0 };
  private readonly valid = new Set<Entry>();

  /** Waiting pairs by rank (position in priority order): numeric compares, no BigInt in the hot path. */
  private readonly waiting = new BinaryHeap<Entry>((a, b) => a.rank < b.rank);
  /** Whether every entry's rank is its index in the current priority order. */
  private ranked = false;
  private triggeredQueue: QueueSlot[] = [];
  private triggeredHead = 0;
  private triggeredLive = 0;
  private nextTicket = 1;
  private idleQueue: FoundationGroup[] = [];

  private readonly locals: Candidate[];
  private readonly remotes: Candidate[];
  private readonly localsByAddress = new Map<string, Candidate[]>();
  private readonly remotesByAddress = new Map<string, Candidate[]>();
  private learnedRemotes = 0;

  /** Pairs built by `buildPairs` for the same role; the first is the highest priority. */
  constructor(pairs: readonly CandidatePair[], options: ChecklistOptions) {
    this.currentRole = options.role;
    this.maxPairs = options.maxPairs ?? DEFAULT_MAX_PAIRS;
    this.foundations = options.foundations ?? new FoundationAllocator('prflx');
    if (options.observer !== undefined) this.observers.push(options.observer);
    this.locals = [...(options.locals ?? uniqueCandidates(pairs.map((p) => p.local)))];
    this.remotes = [...(options.remotes ?? uniqueCandidates(pairs.map((p) => p.remote)))];
    for (const candidate of this.locals) indexCandidate(this.localsByAddress, candidate);
    for (const candidate of this.remotes) indexCandidate(this.remotesByAddress, candidate);
    for (const pair of pairs) this.insert(pair, 'frozen', false);
  }

  /** Forms, orders, prunes and limits pairs (§6.1.2) and builds the checklist. */
  static fromCandidates(
    locals: readonly Candidate[],
    remotes: readonly Candidate[],
    options: ChecklistOptions,
  ): Checklist {
    const pairs = buildPairs(locals, remotes, options.role, { maxPairs: options.maxPairs ?? DEFAULT_MAX_PAIRS });
    return new Checklist(pairs, { ...options, locals, remotes });
  }

  get role(): IceRole {
    return this.currentRole;
  }

  /** Adds an observer; returns a function that removes it. */
  observe(observer: ChecklistObserver): () => void {
    this.observers.push(observer);
    return () => {
      const index = this.observers.indexOf(observer);
      if (index >= 0) this.observers.splice(index, 1);
    };
  }

  get size(): number {
    return this.entries.length;
  }

  get localCandidates(): readonly Candidate[] {
    return this.locals;
  }

  get remoteCandidates(): readonly Candidate[] {
    return this.remotes;
  }

  counts(): Readonly<Record<PairState, number>> {
    return { ...this.stateCounts };
  }

  has(pairId: string): boolean {
    return this.byId.has(pairId);
  }

  get(pairId: string): PairView {
    return this.entry(pairId);
  }

  /** Every pair, highest priority first. */
  pairs(): readonly PairView[] {
    this.sortEntries();
    return this.entries;
  }

  /** The valid list (§7.2.5.3.2), highest valid-pair priority first. */
  validPairs(): PairView[] {
    return [...this.valid].sort((a, b) => comparePairs(a.validPair!, b.validPair!));
  }

  bestValidPair(): PairView | undefined {
    let best: Entry | undefined;
    for (const entry of this.valid) {
      if (best === undefined || comparePairs(entry.validPair!, best.validPair!) < 0) best = entry;
    }
    return best;
  }

  /** The highest-priority valid pair whose nominated flag is set: the selected pair (§8.1.1). */
  nominatedPair(): PairView | undefined {
    let best: Entry | undefined;
    for (const entry of this.valid) {
      if (entry.nominated && (best === undefined || comparePairs(entry.validPair!, best.validPair!) < 0)) best = entry;
    }
    return best;
  }

  /** True when a pair of higher priority than `priority` may still succeed (Frozen, Waiting or In-Progress). */
  hasPendingAbove(priority: bigint): boolean {
    for (const entry of this.entries) {
      if (entry.pair.priority > priority && (entry.state === 'frozen' || isActive(entry.state))) return true;
    }
    return false;
  }

  /** No pair left to check: all Succeeded or Failed, and nothing queued. */
  isSettled(): boolean {
    const c = this.stateCounts;
    return c.frozen === 0 && c.waiting === 0 && c['in-progress'] === 0 && this.triggeredLive === 0;
  }

  /** Whether takeNextCheck may return a pair (cheap; may be true when it then finds none). */
  hasWork(): boolean {
    return this.triggeredLive > 0 || this.stateCounts.waiting > 0 || (this.stateCounts.frozen > 0 && this.idleQueue.length > 0);
  }

  /**
   * Initial states (§6.1.2.6): for each foundation, the pair with the lowest component ID and,
   * among those, the highest priority becomes Waiting; every other pair stays Frozen.
   */
  unfreezeInitial(): void {
    this.sortGroups();
    for (const group of this.groups.values()) {
      if (group.active > 0 || group.frozen === 0) continue;
      let chosen: Entry | undefined;
      for (const entry of group.entries) {
        if (entry.state !== 'frozen') continue;
        if (chosen === undefined || entry.pair.component < chosen.pair.component) chosen = entry;
      }
      if (chosen !== undefined) this.makeWaiting(chosen);
    }
    this.idleQueue = [];
    for (const group of this.groups.values()) group.idleQueued = false;
  }

  /**
   * The next check to send (§6.1.4.2): the head of the triggered-check queue; else the
   * highest-priority Waiting pair; else, when no pair is Waiting, one Frozen pair is unfrozen for
   * every foundation with no pair Waiting or In-Progress, and the highest of those is taken.
   * An ordinary or triggered check moves its pair to In-Progress; a nomination leaves it Succeeded.
   */
  takeNextCheck(): NextCheck | undefined {
    while (this.triggeredHead < this.triggeredQueue.length) {
      const slot = this.triggeredQueue[this.triggeredHead++]!;
      const entry = slot.entry;
      if (entry.ticket !== slot.ticket || entry.queuedFor === 'none') continue;
      const kind = entry.queuedFor;
      this.clearQueued(entry);
      if (kind === 'nominate') {
        if (entry.state === 'succeeded' && entry.validPair !== undefined) return { pair: entry.pair, triggered: true, useCandidate: true };
        continue;
      }
      // A pair can leave Waiting while queued, e.g. when a cancelled transaction's late response arrives.
      if (entry.state !== 'waiting') continue;
      this.setState(entry, 'in-progress');
      return { pair: entry.pair, triggered: true, useCandidate: false };
    }
    this.compactTriggeredQueue();
    let entry = this.popWaiting();
    if (entry === undefined && this.unfreezeIdleFoundations() > 0) entry = this.popWaiting();
    if (entry === undefined) return undefined;
    this.setState(entry, 'in-progress');
    return { pair: entry.pair, triggered: false, useCandidate: false };
  }

  /**
   * A successful response (§7.2.5.3): the pair Succeeds, its valid pair is constructed from the
   * mapped address (learning a local peer-reflexive candidate when no local candidate has it,
   * §7.2.5.3.1–2), and every Frozen pair of the same foundation becomes Waiting (§7.2.5.3.3).
   * `nominated` is set when the check carried USE-CANDIDATE (controlling agent, §7.2.5.3.4).
   */
  markSucceeded(pairId: string, response: { mappedAddress?: TransportAddress; nominated?: boolean } = {}): SuccessResult {
    const entry = this.entry(pairId);
    let learnedLocal: Candidate | undefined;
    if (entry.queuedFor === 'check') this.clearQueued(entry);
    if (entry.state !== 'succeeded' || entry.validPair === undefined) {
      const constructed = this.constructValidPair(entry, response.mappedAddress);
      learnedLocal = constructed.learnedLocal;
      entry.failure = undefined;
      entry.validPair = constructed.validPair;
      this.valid.add(entry);
      this.setState(entry, 'succeeded');
      this.unfreezeFoundation(entry.group);
    }
    if ((response.nominated ?? false) || entry.nominateOnSuccess) entry.nominated = true;
    return learnedLocal === undefined ? { view: entry, validPair: entry.validPair! } : { view: entry, validPair: entry.validPair!, learnedLocal };
  }

  /** Sets the nominated flag on the pair's valid pair (§7.2.5.3.4 / §7.3.1.5). */
  markNominated(pairId: string): PairView {
    const entry = this.entry(pairId);
    if (entry.validPair === undefined) {
      throw new InvalidCandidateError(`Pair ${pairId} is not valid yet; only a valid pair can be nominated (RFC 8445 §8.1.1).`);
    }
    entry.nominated = true;
    return entry;
  }

  /** The pair Failed; a valid pair it had produced leaves the valid list. */
  markFailed(pairId: string, failure: PairFailure): PairView {
    const entry = this.entry(pairId);
    this.clearQueued(entry);
    entry.failure = failure;
    if (this.valid.delete(entry)) {
      entry.validPair = undefined;
      entry.nominated = false;
    }
    this.setState(entry, 'failed');
    return entry;
  }

  /**
   * Puts the pair back to Waiting at the head of the line: the triggered-check queue (§7.3.1.4).
   * Used after a 487 Role Conflict (§7.2.5.1) and when a check in progress is cancelled.
   */
  requeue(pairId: string): PairView {
    const entry = this.entry(pairId);
    if (entry.state === 'succeeded') return entry;
    if (entry.state !== 'waiting') this.setState(entry, 'waiting');
    entry.failure = undefined;
    this.enqueue(entry, 'check');
    return entry;
  }

  /** A controlling agent nominates a valid pair: its check is repeated with USE-CANDIDATE, as a triggered check (§8.1.1). */
  enqueueNomination(pairId: string): PairView {
    const entry = this.entry(pairId);
    if (entry.state !== 'succeeded' || entry.validPair === undefined) {
      throw new InvalidCandidateError(`Pair ${pairId} is ${entry.state}; only a Succeeded pair can be nominated (RFC 8445 §8.1.1).`);
    }
    this.enqueue(entry, 'nominate');
    return entry;
  }

  /**
   * An authenticated Binding request arrived (§7.3.1.3–§7.3.1.5). Learns a peer-reflexive remote
   * candidate for an unknown source, finds or creates the pair, queues a triggered check according
   * to the pair's state, and records USE-CANDIDATE for a controlled agent.
   */
  handleIncomingCheck(check: IncomingCheck): IncomingCheckResult {
    const component = check.component ?? 1;
    const local = this.findLocalAt(check.localBase, component);
    let remote = findCandidate(this.remotesByAddress, check.source, component);
    let learnedRemote: Candidate | undefined;
    if (remote === undefined) {
      remote = this.learnRemote(check, component);
      learnedRemote = remote;
    }
    const id = pairIdOf(check.localBase, check.source, component);
    let entry = this.byId.get(id);
    let previousState: PairState | undefined;
    let created = false;
    let enqueued = false;
    if (entry === undefined) {
      // §7.3.1.4: a new pair is Waiting and goes straight to the triggered-check queue.
      entry = this.insert(makePair(local, remote, this.currentRole, check.localBase), 'waiting', true);
      created = true;
      this.enqueue(entry, 'check');
      enqueued = true;
    } else {
      previousState = entry.state;
      if (entry.state !== 'succeeded') {
        // Frozen/Waiting → Waiting; In-Progress → cancelled and re-checked; Failed → checked anew.
        if (entry.state !== 'waiting') this.setState(entry, 'waiting');
        entry.failure = undefined;
        this.enqueue(entry, 'check');
        enqueued = true;
      }
    }
    let nominatedNow = false;
    if (check.useCandidate && this.currentRole === 'controlled') {
      if (entry.state === 'succeeded' && entry.validPair !== undefined) {
        nominatedNow = !entry.nominated;
        entry.nominated = true;
      } else {
        entry.nominateOnSuccess = true;
      }
    }
    return { view: entry, created, previousState, enqueued, nominatedNow, ...(learnedRemote !== undefined ? { learnedRemote } : {}) };
  }

  /**
   * A remote candidate trickled in after the checklist was built (RFC 8838): pairs are formed with
   * the local candidates, Frozen, and enter the unfreezing rules like the rest. Pairs beyond the
   * pair limit, and pairs the checklist already holds, are skipped. Returns the pairs added.
   */
  addRemoteCandidate(candidate: Candidate): CandidatePair[] {
    if (findCandidate(this.remotesByAddress, candidate, candidate.component) !== undefined) return [];
    this.remotes.push(candidate);
    indexCandidate(this.remotesByAddress, candidate);
    const added: CandidatePair[] = [];
    const formed = formPairs(this.locals, [candidate], this.currentRole).sort(comparePairs);
    for (const pair of formed) {
      if (this.byId.has(pair.id) || this.entries.length >= this.maxPairs) continue;
      this.insert(pair, 'frozen', true);
      added.push(pair);
    }
    return added;
  }

  /**
   * A local candidate that arrived after the checklist was built (RFC 8838 trickle applies to local
   * candidates as to remote ones): relayed candidates whose allocation finished late, and the
   * extra sockets of a traversal strategy. With `formPairs` it is paired with every remote
   * candidate like the rest (Frozen, within the pair limit); without, it is only known as a base,
   * so that checks arriving on it (§7.3.1.4) create their pair and triggered check. Returns the
   * pairs added.
   */
  addLocalCandidate(candidate: Candidate, options: { readonly formPairs: boolean }): CandidatePair[] {
    if (findCandidate(this.localsByAddress, candidate, candidate.component) !== undefined) return [];
    this.locals.push(candidate);
    indexCandidate(this.localsByAddress, candidate);
    if (!options.formPairs) return [];
    const added: CandidatePair[] = [];
    const formed = formPairs([candidate], this.remotes, this.currentRole).sort(comparePairs);
    for (const pair of formed) {
      if (this.byId.has(pair.id) || this.entries.length >= this.maxPairs) continue;
      this.insert(pair, 'frozen', true);
      added.push(pair);
    }
    return added;
  }

  /**
   * Switches role (§7.2.5.1, §7.3.1.1). Pair priorities depend on the role (§6.1.2.3), so every
   * pair is re-prioritised and the orderings are rebuilt.
   */
  setRole(role: IceRole): void {
    if (role === this.currentRole) return;
    this.currentRole = role;
    for (const entry of this.entries) {
      entry.pair = withRole(entry.pair, role);
      if (entry.validPair !== undefined) entry.validPair = withRole(entry.validPair, role);
    }
    this.sorted = false;
    this.groupsSorted = false;
    this.sortGroups();
    this.ranked = false;
    this.ensureRanks();
  }

  // ---- internals -------------------------------------------------------------------------

  private entry(pairId: string): Entry {
    const entry = this.byId.get(pairId);
    if (entry === undefined) throw new UnknownPairError(pairId);
    return entry;
  }

  private insert(pair: CandidatePair, state: PairState, announce: boolean): Entry {
    let group = this.groups.get(pair.foundation);
    if (group === undefined) {
      group = { foundation: pair.foundation, entries: [], cursor: 0, active: 0, frozen: 0, idleQueued: false };
      this.groups.set(pair.foundation, group);
    }
    const entry: Entry = {
      pair,
      state,
      failure: undefined,
      validPair: undefined,
      nominated: false,
      nominateOnSuccess: false,
      queuedFor: 'none',
      ticket: 0,
      group,
      rank: this.entries.length,
    };
    this.byId.set(pair.id, entry);
    this.entries.push(entry);
    this.sorted = false;
    this.ranked = false;
    this.stateCounts[state]++;
    if (isActive(state)) group.active++;
    if (state === 'frozen') group.frozen++;
    if (announce) {
      this.sortGroups();
      // Keep the group ordered; a Frozen pair inserted before the cursor moves the cursor back.
      const at = upperBound(group.entries, entry);
      group.entries.splice(at, 0, entry);
      if (state === 'frozen') {
        group.cursor = Math.min(group.cursor, at);
        this.queueIdle(group);
      } else if (at < group.cursor) {
        group.cursor++;
      }
      for (const observer of this.observers) observer.onPairAdded?.(entry);
    } else {
      group.entries.push(entry);
    }
    return entry;
  }

  private sortEntries(): void {
    if (this.sorted) return;
    // Pairs usually arrive already ordered by buildPairs; the sort then costs n comparisons.
    this.entries.sort((a, b) => comparePairs(a.pair, b.pair));
    this.sorted = true;
  }

  /**
   * Re-ranks entries after the order changed (construction, an added pair, a role switch) and
   * rebuilds the Waiting heap on the new ranks. Rare: the hot path only compares ranks.
   */
  private ensureRanks(): void {
    if (this.ranked) return;
    this.sortEntries();
    const entries = this.entries;
    for (let i = 0; i < entries.length; i++) entries[i]!.rank = i;
    this.ranked = true;
    this.waiting.clear();
    for (const entry of entries) if (entry.state === 'waiting' && entry.queuedFor === 'none') this.waiting.push(entry);
  }

  /** Orders every foundation group by decreasing priority and resets its Frozen cursor. */
  private sortGroups(): void {
    if (this.groupsSorted) return;
    for (const group of this.groups.values()) {
      group.entries.sort((a, b) => comparePairs(a.pair, b.pair));
      group.cursor = 0;
    }
    this.groupsSorted = true;
  }

  private setState(entry: Entry, to: PairState): void {
    const from = entry.state;
    if (from === to) return;
    const group = entry.group;
    this.stateCounts[from]--;
    this.stateCounts[to]++;
    if (from === 'frozen') group.frozen--;
    if (to === 'frozen') group.frozen++;
    if (isActive(from)) group.active--;
    if (isActive(to)) group.active++;
    entry.state = to;
    if (group.active === 0 && group.frozen > 0) this.queueIdle(group);
    for (const observer of this.observers) observer.onStateChange?.(entry, from, to);
  }

  private makeWaiting(entry: Entry): void {
    this.ensureRanks();
    this.setState(entry, 'waiting');
    if (entry.queuedFor === 'none') this.waiting.push(entry);
  }

  private popWaiting(): Entry | undefined {
    this.ensureRanks();
    for (;;) {
      const entry = this.waiting.pop();
      if (entry === undefined) return undefined;
      if (entry.state === 'waiting' && entry.queuedFor === 'none') return entry;
    }
  }

  private queueIdle(group: FoundationGroup): void {
    if (group.idleQueued) return;
    group.idleQueued = true;
    this.idleQueue.push(group);
  }

  /** §6.1.4.2 step 2: one Frozen pair per foundation that has no pair Waiting or In-Progress. */
  private unfreezeIdleFoundations(): number {
    const queue = this.idleQueue;
    this.idleQueue = [];
    let unfrozen = 0;
    for (const group of queue) {
      group.idleQueued = false;
      if (group.active > 0 || group.frozen === 0) continue;
      const head = this.firstFrozen(group);
      if (head !== undefined) {
        this.makeWaiting(head);
        unfrozen++;
      }
    }
    return unfrozen;
  }

  /** §7.2.5.3.3: every Frozen pair of the foundation becomes Waiting. */
  private unfreezeFoundation(group: FoundationGroup): void {
    this.sortGroups();
    for (let i = group.cursor; i < group.entries.length && group.frozen > 0; i++) {
      const entry = group.entries[i]!;
      if (entry.state === 'frozen') this.makeWaiting(entry);
    }
    group.cursor = group.entries.length;
  }

  private firstFrozen(group: FoundationGroup): Entry | undefined {
    this.sortGroups();
    while (group.cursor < group.entries.length && group.entries[group.cursor]!.state !== 'frozen') group.cursor++;
    return group.entries[group.cursor];
  }

  private enqueue(entry: Entry, kind: 'check' | 'nominate'): void {
    if (entry.queuedFor === 'none') {
      entry.ticket = this.nextTicket++;
      this.triggeredQueue.push({ entry, ticket: entry.ticket });
      this.triggeredLive++;
    }
    entry.queuedFor = kind;
  }

  /** Takes the entry out of the triggered-check queue (its slot goes stale and is skipped). */
  private clearQueued(entry: Entry): void {
    if (entry.queuedFor === 'none') return;
    entry.queuedFor = 'none';
    entry.ticket = 0;
    this.triggeredLive--;
  }

  private compactTriggeredQueue(): void {
    if (this.triggeredHead > 0 && this.triggeredHead >= this.triggeredQueue.length) {
      this.triggeredQueue = [];
      this.triggeredHead = 0;
    }
  }

  private constructValidPair(entry: Entry, mapped: TransportAddress | undefined): { validPair: CandidatePair; learnedLocal?: Candidate } {
    const pair = entry.pair;
    if (mapped === undefined || formatTransportAddress(mapped) === formatTransportAddress(pair.local)) return { validPair: pair };
    const known = findCandidate(this.localsByAddress, mapped, pair.component);
    if (known !== undefined) return { validPair: makePair(known, pair.remote, this.currentRole, pair.localBase) };
    // §7.2.5.3.1: a new local peer-reflexive candidate. Its priority is the PRIORITY the request
    // carried; its base is the base of the pair's local candidate. It is not paired (§6.1.2.2).
    const family = familyOf(mapped.address);
    const learnedLocal: Candidate = {
      foundation: this.foundations.foundationFor({ type: 'prflx', baseAddress: pair.localBase.address }),
      component: pair.component,
      transport: 'udp',
      priority: prflxPriorityFor(pair.local),
      address: mapped.address,
      port: mapped.port,
      type: 'prflx',
      relatedAddress: pair.localBase.address,
      relatedPort: pair.localBase.port,
      family: family ?? pair.local.family,
    };
    this.locals.push(learnedLocal);
    indexCandidate(this.localsByAddress, learnedLocal);
    return { validPair: makePair(learnedLocal, pair.remote, this.currentRole, pair.localBase), learnedLocal };
  }

  private findLocalAt(base: TransportAddress, component: number): Candidate {
    const candidates = this.localsByAddress.get(formatTransportAddress(base)) ?? [];
    const local = candidates.find((c) => c.component === component && (c.type === 'host' || c.type === 'relay'));
    if (local === undefined) {
      throw new InvalidCandidateError(
        `No local host or relayed candidate at ${formatTransportAddress(base)} (component ${component}); pass every local candidate in ChecklistOptions.locals.`,
      );
    }
    return local;
  }

  /** §7.3.1.3: a peer-reflexive remote candidate; its foundation is arbitrary but unique. */
  private learnRemote(check: IncomingCheck, component: number): Candidate {
    const used = new Set(this.remotes.map((c) => c.foundation));
    let foundation: string;
    do foundation = `prflx${++this.learnedRemotes}`;
    while (used.has(foundation));
    const candidate: Candidate = {
      foundation,
      component,
      transport: 'udp',
      priority: check.priority,
      address: check.source.address,
      port: check.source.port,
      type: 'prflx',
      family: familyOf(check.source.address) ?? (check.source.address.includes(':') ? 6 : 4),
    };
    this.remotes.push(candidate);
    indexCandidate(this.remotesByAddress, candidate);
    return candidate;
  }
}

function indexCandidate(index: Map<string, Candidate[]>, candidate: Candidate): void {
  const key = formatTransportAddress(candidate);
  const list = index.get(key);
  if (list === undefined) index.set(key, [candidate]);
  else list.push(candidate);
}

function findCandidate(index: Map<string, Candidate[]>, address: TransportAddress, component: number): Candidate | undefined {
  return index.get(formatTransportAddress(address))?.find((c) => c.component === component);
}

function uniqueCandidates(candidates: readonly Candidate[]): Candidate[] {
  return [...new Set(candidates)];
}

/** First index in `entries` (sorted by decreasing priority) at which `entry` may be inserted after its equals. */
function upperBound(entries: readonly Entry[], entry: Entry): number {
  let low = 0;
  let high = entries.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (comparePairs(entries[mid]!.pair, entry.pair) <= 0) low = mid + 1;
    else high = mid;
  }
  return low;
}
