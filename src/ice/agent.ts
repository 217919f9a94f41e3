/**
 * The ICE agent (RFC 8445) with real sockets: it gathers candidates, sends and answers
 * connectivity checks, and drives the pure checklist and scheduler with what happens on the wire.
 *
 *   const agent = await IceAgent.create({ role: 'controlling', mode: 'connect', bindAddress: '127.0.0.1' });
 *   const locals = await agent.gather((c) => signal(c));          // trickles each candidate
 *   agent.setRemoteParameters(remote);                             // { ufrag, pwd }
 *   for (const c of remoteCandidates) agent.addRemoteCandidate(c);
 *   agent.endOfRemoteCandidates();
 *   agent.start();
 *   const result = await agent.done;                               // IceResult, never rejects
 *   await agent.close();
 *
 * What happens where:
 * - Sending a check (§7.2.4): the scheduler calls sendCheck(pair, attempt); a new transaction
 *   (attempt.transaction) gets a new STUN transaction ID and its bytes are reused for
 *   retransmissions (RFC 8489 §6.2.1). The agent keeps only that mapping and the bytes: attempts,
 *   RTTs and whether a response is stale are the scheduler's (one owner of check state).
 * - Answering a check (§7.3.1): authenticate with the local password (401/400/420 otherwise),
 *   resolve a role conflict (487 or switch role), answer with XOR-MAPPED-ADDRESS, then tell the
 *   scheduler, which queues the triggered check and learns peer-reflexive candidates.
 * - Reading a response (§7.2.5): authenticate with the remote password (an unauthenticated response
 *   is discarded as never received, RFC 8489 §9.1.4, and counted), check that addresses are
 *   symmetric (§7.2.5.2.1), then success, 487 or another error goes to the scheduler by
 *   transaction number.
 * - After connect-mode selection: consent freshness (RFC 7675) on the selected pair.
 *
 * Requests are answered from create() on, also before start() (an early check, §7.3.1.4: it is
 * remembered and handed to the checklist at start(), before the first check goes out), and until
 * a connect run has failed: from then on they go unanswered, so the peer cannot validate a pair
 * this side has given up on. The agent never writes to the terminal;
 * it reports through `onEvent` with its event types (src/ice/events.ts, part of src/events.ts).
 */
import type { IceEvent } from './events.js';
import {
  decodeMessage,
  looksLikeStun,
  newTransactionId,
  shortTermKey,
  StunMethod,
  transactionKey,
  type DecodedStunMessage,
  type TransportAddress as StunTransportAddress,
} from '../stun/index.js';
import { StunTransactions, systemClock, type Clock, type RandomSource, type UdpEndpoint } from '../transport/index.js';
import {
  candidateEventFields,
  emptyCounters,
  pairResultOf,
  type IceCounters,
  type IcePairResult,
  type IceResult,
  type IceSelectedPair,
} from './agent-result.js';
import {
  FoundationAllocator,
  computePriority,
  localPreferenceOf,
  familyOf,
  formatTransportAddress,
  prflxPriorityFor,
  sameTransportAddress,
  type AddressFamily,
  type Candidate,
  type TransportAddress,
} from './candidate.js';
import { encodeCheckError, encodeCheckRequest, encodeCheckSuccess, readCheckResponse, validateCheckRequest } from './check-codec.js';
import { Checklist, type IncomingCheck, type PairFailureReason, type PairView } from './checklist.js';
import { ConsentFreshness, type ConsentStats } from './consent.js';
import {
  assertIceParameters,
  assertTieBreakerValue,
  generateLocalParameters,
  type IceParameters,
  type LocalIceParameters,
} from './credentials.js';
import { IceOptionError, InvalidCandidateError } from './errors.js';
import {
  bindHostCandidates,
  gatherServerReflexive,
  hostAddresses,
  initialRtoFromGathering,
  relayedCandidate,
  type CandidateTransport,
  type RelayedAllocation,
  type SrflxAttempt,
} from './gather.js';
import type { CandidatePair, IceRole } from './pair.js';
import { resolveRoleConflict } from './role-conflict.js';
import { IceScheduler, SCHEDULER_DEFAULTS, peerCheckWaitMs, type CheckAttempt, type IceMode, type IceSchedulerEvent, type SchedulerOptions } from './scheduler.js';

/** Scheduler settings an agent user may change; the agent supplies clock, mode, sendCheck and listener. */
export type AgentSchedulerOptions = Partial<Omit<SchedulerOptions, 'clock' | 'mode' | 'sendCheck' | 'listener' | 'remoteCandidatesComplete'>>;

export interface IceAgentOptions {
  /** The role to start with (RFC 8445 §6.1.1); a role conflict may change it. */
  readonly role: IceRole;
  /** 'connect' nominates the best pair and stops; 'survey' checks every pair. Default 'connect'. */
  readonly mode?: IceMode;
  /** STUN server for server-reflexive candidates (§5.1.1.2). Default none: host candidates only. */
  readonly stunServer?: TransportAddress;
  /** Gather only on this address (default: every usable interface, see hostAddresses). */
  readonly bindAddress?: string;
  /** Gather only IPv4 or only IPv6. Default both. */
  readonly family?: AddressFamily;
  /** Explicit host addresses instead of the interface table (labs, tests). */
  readonly hostAddresses?: readonly string[];
  /** Default the system clock. */
  readonly clock?: Clock;
  /** Jitter for consent checks, and the tie-breaker's source when given. Default crypto / Math.random. */
  readonly random?: RandomSource;
  /** Fixes the tie-breaker (tests of role conflicts). Default random. */
  readonly tieBreaker?: bigint;
  /** Scheduler settings (SCHEDULER_DEFAULTS otherwise: Ta 50 ms, …). */
  readonly scheduler?: AgentSchedulerOptions;
  /** Pair limit (RFC 8445 §6.1.2.5). Default 100. */
  readonly maxPairs?: number;
  /** Bound on each STUN Binding transaction while gathering srflx candidates. Default 2,000 ms. */
  readonly gatherTimeoutMs?: number;
  /** First retransmission timeout of those transactions. Default 250 ms. */
  readonly gatherRtoMs?: number;
  /** Consent freshness after a connect-mode selection (RFC 7675). Default on with RFC timings; `false` turns it off. */
  readonly consent?: false | { readonly basePeriodMs?: number; readonly consentTimeoutMs?: number };
  /** Early checks remembered before start() (§7.3.1.4). Default 64. */
  readonly maxEarlyChecks?: number;
  /** Receives every ICE event. Listener errors are swallowed: they must not break the checks. */
  readonly onEvent?: (event: IceEvent) => void;
  /** Copied into every event (trials number their pairings). Default 0. */
  readonly trial?: number;
  /** Clock time events' `at` counts from. Default the agent's creation. */
  readonly epochMs?: number;
  /**
   * Which local candidates take part (the W3C RTCIceTransportPolicy, webrtc-pc §4.2.1). 'relay':
   * only relayed candidates added with addLocalCandidate are reported by gather() and paired;
   * host sockets are still bound but never signalled, and no server-reflexive candidate is
   * gathered. This forces the path through the TURN server. Default 'all'.
   */
  readonly iceTransportPolicy?: IceTransportPolicy;
}

export type IceTransportPolicy = 'all' | 'relay';

export type IceAgentState = 'new' | 'gathering' | 'ready' | 'checking' | 'connected' | 'failed' | 'closed';

/** One base: a local host or relayed candidate and the transport it sends and receives on. */
interface Base {
  readonly key: string;
  readonly candidate: Candidate;
  readonly transport: CandidateTransport;
  /** The socket, when the agent bound it itself (it closes it); relayed transports belong to their creator. */
  readonly endpoint: UdpEndpoint | undefined;
  /** A traversal strategy's extra socket: answers and triggers checks, forms no pairs, never signalled. */
  readonly probeOnly: boolean;
  detach: () => void;
}

/**
 * One connectivity-check transaction on the wire: the scheduler's transaction number, the STUN
 * transaction ID it was given, and the request's bytes (retransmissions reuse them, RFC 8489
 * §6.2.1). Everything else about it (attempts, RTT, whether a response is stale) is the
 * scheduler's.
 */
interface CheckTransaction {
  readonly number: number;
  readonly key: string;
  readonly wire: Buffer;
  readonly baseKey: string;
  readonly remote: TransportAddress;
}

interface ConsentTransaction {
  readonly sequence: number;
  readonly baseKey: string;
  readonly remote: TransportAddress;
}

const DEFAULT_GATHER_TIMEOUT_MS = 2_000;
const DEFAULT_GATHER_RTO_MS = 250;
const DEFAULT_MAX_EARLY_CHECKS = 64;

export class IceAgent {
  readonly localParameters: LocalIceParameters;
  /** Resolves once with the run's result (also after close()); never rejects. */
  readonly done: Promise<IceResult>;

  private readonly clock: Clock;
  private readonly random: RandomSource;
  private readonly mode: IceMode;
  private readonly epochMs: number;
  private readonly trial: number;
  private readonly localKey: Uint8Array;
  private readonly foundations = new FoundationAllocator();
  private readonly bases = new Map<string, Base>();
  private readonly locals: Candidate[] = [];
  private readonly remotes: Candidate[] = [];
  /**
   * Trickled remote candidates that arrived after a check from the same address had made it a
   * peer-reflexive candidate (§7.3.1.3): a relayed path often beats the signaling path. Keyed by
   * address; the result names the candidate as its owner described it.
   */
  private readonly describedLate = new Map<string, Candidate>();
  private readonly gatheringAttempts: SrflxAttempt[] = [];
  private readonly counters: IceCounters = emptyCounters();
  /** STUN transaction ID (transactionKey) → the scheduler's transaction, for responses. */
  private readonly transactions = new Map<string, CheckTransaction>();
  /** The scheduler's transaction number → its bytes, for retransmissions. */
  private readonly transactionsByNumber = new Map<number, CheckTransaction>();
  private readonly consentTransactions = new Map<string, ConsentTransaction>();
  private readonly earlyChecks: IncomingCheck[] = [];
  private readonly stunClients = new Set<StunTransactions>();
  /** Host candidates of probe-only bases (addProbeSocket): in the checklist, never paired or reported. */
  private readonly probeCandidates: Candidate[] = [];
  /** hold() calls made before start(), applied to the scheduler when it exists. */
  private readonly pendingHolds: ((scheduler: IceScheduler) => void)[] = [];
  private readonly incomingListeners = new Set<(check: { readonly baseKey: string; readonly from: TransportAddress; readonly probeBase: boolean }) => void>();

  private currentRole: IceRole;
  private readonly tieBreaker: bigint;
  private remote: (IceParameters & { key: Uint8Array }) | undefined;
  private remoteComplete = false;
  private scheduler: IceScheduler | undefined;
  private consent: ConsentFreshness | undefined;
  private lifecycle: IceAgentState = 'new';
  private startedAt = 0;
  private result: IceResult | undefined;
  private resolveDone!: (result: IceResult) => void;
  private gathering: Promise<Candidate[]> | undefined;
  private closing: Promise<void> | undefined;
  private lostConsent = false;

  private constructor(private readonly options: IceAgentOptions) {
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.mode = options.mode ?? 'connect';
    this.epochMs = options.epochMs ?? this.clock.now();
    this.trial = options.trial ?? 0;
    this.currentRole = options.role;
    const generated = generateLocalParameters(options.random);
    this.tieBreaker = options.tieBreaker ?? generated.tieBreaker;
    assertTieBreakerValue(this.tieBreaker);
    this.localParameters = { ufrag: generated.ufrag, pwd: generated.pwd, tieBreaker: this.tieBreaker };
    this.localKey = shortTermKey(generated.pwd);
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  /** Binds one UDP socket per host address and makes the host candidates; answers checks from now on. */
  static async create(options: IceAgentOptions): Promise<IceAgent> {
    const agent = new IceAgent(options);
    const addresses =
      options.hostAddresses !== undefined
        ? options.hostAddresses.map((address, interfaceRank) => {
            const family = familyOf(address);
            if (family === undefined) throw new IceOptionError(`Host address "${address}" is not an IP address.`);
            return { address, family, interfaceRank };
          })
        : hostAddresses({
            ...(options.bindAddress !== undefined ? { bindAddress: options.bindAddress } : {}),
            ...(options.family !== undefined ? { family: options.family } : {}),
          });
    if (addresses.length === 0) {
      throw new IceOptionError('No usable local address to gather host candidates on; pass bindAddress, or check the network interfaces.');
    }
    const hosts = await bindHostCandidates(addresses, agent.foundations);
    for (const host of hosts) agent.addBase(host.candidate, host.endpoint, host.endpoint);
    return agent;
  }

  get role(): IceRole {
    return this.currentRole;
  }

  get state(): IceAgentState {
    return this.lifecycle;
  }

  get localCandidates(): readonly Candidate[] {
    return this.locals;
  }

  get remoteCandidates(): readonly Candidate[] {
    return this.remotes;
  }

  /** True once consent for the selected pair expired (RFC 7675 §5.1); the agent stopped using it. */
  get consentLost(): boolean {
    return this.lostConsent;
  }

  /** What consent freshness has done on the selected pair so far; undefined before it started (or with `consent: false`). */
  consentStats(): ConsentStats | undefined {
    return this.consent?.stats();
  }

  /**
   * Reports the host candidates at once, then gathers a server-reflexive candidate from each host
   * socket of the STUN server's family (in parallel, each bounded by gatherTimeoutMs). Calls
   * `onCandidate` for each candidate as it is found (trickle, RFC 8838) and resolves with all local
   * candidates. Calling it again returns the same promise.
   */
  gather(onCandidate?: (candidate: Candidate) => void): Promise<Candidate[]> {
    this.gathering ??= this.runGathering(onCandidate);
    return this.gathering;
  }

  /**
   * Adds a local candidate with its own send path, typically a TURN relayed candidate (its
   * transport wraps the allocation). Before start(), its pairs are formed at start(); after, it
   * is paired with the remote candidates and joins the running checks (RFC 8838 trickle applies
   * to local candidates as to remote ones). Added before gather(), it is reported with the
   * gathered candidates; added after, the caller signals it itself (an 'ice-candidate' event is
   * still emitted).
   */
  addLocalCandidate(candidate: Candidate, transport: CandidateTransport): void {
    if (this.lifecycle === 'closed') throw new IceOptionError('The agent is closed.');
    if (candidate.type !== 'host' && candidate.type !== 'relay') {
      throw new InvalidCandidateError(`A local ${candidate.type} candidate has no transport of its own; only host and relay candidates are bases (RFC 8445 §5.1.1.1).`);
    }
    if (!sameTransportAddress(candidate, transport.local)) {
      throw new InvalidCandidateError(`The transport's address ${formatTransportAddress(transport.local)} is not the candidate's ${formatTransportAddress(candidate)}.`);
    }
    this.addBase(candidate, transport, undefined);
    if (this.gathering !== undefined) this.emitCandidate('local', candidate);
    // After start() the candidate is trickled into the running checks (RFC 8838 §4 applies to
    // local candidates as to remote ones); before, pairs are formed at start().
    if (this.scheduler?.running === true && this.usableLocals().includes(candidate)) this.scheduler.addLocalCandidate(candidate, { formPairs: true });
  }

  /**
   * Adds an extra socket of a traversal strategy as a probe-only base: checks that arrive on it
   * are answered and create their pair and a triggered check (§7.3.1.4), and triggered checks
   * leave from it, but it forms no pairs of its own and is never signalled. The agent closes it
   * with the others. Returns its host candidate (lowest local preference).
   */
  addProbeSocket(endpoint: UdpEndpoint): Candidate {
    if (this.lifecycle === 'closed') throw new IceOptionError('The agent is closed.');
    const family = familyOf(endpoint.local.address) ?? 4;
    const candidate: Candidate = {
      foundation: this.foundations.foundationFor({ type: 'host', baseAddress: endpoint.local.address }),
      component: 1,
      transport: 'udp',
      priority: computePriority('host', 0),
      address: endpoint.local.address,
      port: endpoint.local.port,
      type: 'host',
      family,
    };
    this.addBase(candidate, endpoint, endpoint, { probeOnly: true });
    if (this.scheduler !== undefined) this.scheduler.addLocalCandidate(candidate, { formPairs: false });
    return candidate;
  }

  /**
   * A server-reflexive candidate that came from somewhere other than STUN: a port mapping the
   * default gateway granted for a host socket (NAT-PMP, RFC 6886 §3.3; the traversal `portmap`
   * strategy). It is what RFC 8445 §5.1.1.2 calls server-reflexive — a translated address on
   * the NAT's public side whose base is the host socket — so it is typed `srflx`, with the
   * gateway as its "server" (its own foundation, §5.1.1.3) and the host candidate's local
   * preference. Checks from it leave from the base, so no pairs of its own are formed here
   * (§6.1.2.4 would replace it by its base); the caller signals it, and the other agent pairs it
   * and checks it as usual (trickle, RFC 8838). Returns undefined when it duplicates a local
   * candidate (§5.1.3: same address and base, e.g. a port-preserving NAT's STUN mapping) or no
   * host base exists at `baseKey`.
   */
  addMappedCandidate(mapped: TransportAddress, options: { readonly baseKey: string; readonly server: string }): Candidate | undefined {
    if (this.lifecycle === 'closed') throw new IceOptionError('The agent is closed.');
    const base = this.bases.get(options.baseKey);
    if (base === undefined || base.probeOnly || base.candidate.type !== 'host') return undefined;
    const family = familyOf(mapped.address);
    if (family === undefined) throw new InvalidCandidateError(`The mapped address ${mapped.address} is not an IP address.`);
    if (this.locals.some((c) => sameTransportAddress(c, mapped))) return undefined;
    const candidate: Candidate = {
      foundation: this.foundations.foundationFor({ type: 'srflx', baseAddress: base.candidate.address, serverAddress: options.server }),
      component: 1,
      transport: 'udp',
      priority: computePriority('srflx', localPreferenceOf(base.candidate.priority)),
      address: mapped.address,
      port: mapped.port,
      type: 'srflx',
      relatedAddress: base.candidate.address,
      relatedPort: base.candidate.port,
      family,
    };
    this.locals.push(candidate);
    this.emitCandidate('local', candidate);
    return candidate;
  }

  /** True for a base added by addProbeSocket (key: "ip:port" of the base). */
  isProbeBase(key: string): boolean {
    return this.bases.get(key)?.probeOnly === true;
  }

  /**
   * Sends one authenticated Binding request (a connectivity check without a pair, RFC 8445
   * §7.2.4 attributes, never retransmitted) from a base to an address the peer did not signal:
   * a predicted or random port of its public address. What gets through reaches the peer's agent
   * as an ordinary check and takes the §7.3.1.4 path; nothing unauthenticated ever counts.
   * `fromKey` defaults to the first host base of the address's family. Returns false when no
   * such base exists, the remote parameters are unknown, or the agent is closed.
   */
  sendProbe(to: TransportAddress, fromKey?: string): boolean {
    const remote = this.remote;
    if (remote === undefined || this.lifecycle === 'closed') return false;
    const base = fromKey !== undefined ? this.bases.get(fromKey) : this.primaryBaseFor(to);
    if (base === undefined) return false;
    const transactionId = newTransactionId();
    const wire = encodeCheckRequest({
      transactionId,
      localUfrag: this.localParameters.ufrag,
      remoteUfrag: remote.ufrag,
      remoteKey: remote.key,
      priority: prflxPriorityFor(base.candidate),
      role: this.currentRole,
      tieBreaker: this.tieBreaker,
      useCandidate: false,
    });
    base.transport.send(wire, { address: to.address, port: to.port }).catch(() => undefined); // a lost probe is what probing expects
    return true;
  }

  /** The first host base of the address's family (the socket whose srflx candidate was signalled). */
  primaryBaseFor(to: TransportAddress): { readonly key: string; readonly candidate: Candidate; readonly transport: CandidateTransport } | undefined {
    const family = familyOf(to.address);
    for (const base of this.bases.values()) {
      if (!base.probeOnly && base.candidate.type === 'host' && base.candidate.family === family) return base;
    }
    return undefined;
  }

  /**
   * Keeps the checks from ending as failed while something else may still open a path (a
   * traversal strategy); see IceScheduler.hold. Works before start() too. Returns the release.
   */
  hold(): () => void {
    if (this.scheduler !== undefined) return this.scheduler.hold();
    let release: (() => void) | undefined;
    let released = false;
    this.pendingHolds.push((scheduler) => {
      if (!released) release = scheduler.hold();
    });
    return () => {
      released = true;
      release?.();
    };
  }

  /**
   * Ends the checks as failed now when no pair is valid yet and no relayed candidate takes part
   * on either side (see IceScheduler.abandon). Returns whether it did.
   */
  abandonDirect(why: string): boolean {
    const scheduler = this.scheduler;
    if (scheduler === undefined || !scheduler.running) return false;
    if (this.locals.some((c) => c.type === 'relay') || this.remotes.some((c) => c.type === 'relay')) return false;
    return scheduler.abandon(why);
  }

  /** Calls `listener` for every authenticated check that arrives (after it was answered). Returns the removal. */
  onIncomingCheck(listener: (check: { readonly baseKey: string; readonly from: TransportAddress; readonly probeBase: boolean }) => void): () => void {
    this.incomingListeners.add(listener);
    return () => this.incomingListeners.delete(listener);
  }

  /**
   * Adds the relayed candidate of a TURN allocation (RFC 8445 §5.1.1.2), built by
   * relayedCandidate() with this agent's foundations, and returns it. `transport` is the
   * allocation's send path; it stays the caller's to close. After start() it joins the running
   * checks (see addLocalCandidate).
   */
  addRelayedCandidate(allocation: RelayedAllocation, transport: CandidateTransport): Candidate {
    const index = this.locals.filter((c) => c.type === 'relay').length;
    const candidate = relayedCandidate(allocation, this.foundations, index);
    this.addLocalCandidate(candidate, transport);
    return candidate;
  }

  /** Before start() only (the peer session decides the role after joining). */
  setRole(role: IceRole): void {
    if (this.scheduler !== undefined) throw new IceOptionError('setRole() must come before start(); after it, roles change only through role conflicts.');
    this.currentRole = role;
  }

  setRemoteParameters(parameters: IceParameters): void {
    assertIceParameters(parameters, 'remote');
    if (this.remote !== undefined && (this.remote.ufrag !== parameters.ufrag || this.remote.pwd !== parameters.pwd)) {
      throw new IceOptionError('The remote ICE parameters are already set; an ICE restart needs a new agent.');
    }
    this.remote = { ufrag: parameters.ufrag, pwd: parameters.pwd, key: shortTermKey(parameters.pwd) };
  }

  /** A remote candidate, from signaling (trickled or not). Duplicates are ignored. */
  addRemoteCandidate(candidate: Candidate): void {
    if (this.lifecycle === 'closed') return;
    const known = this.remotes.find((c) => sameTransportAddress(c, candidate) && c.component === candidate.component);
    if (known !== undefined) {
      if (known.type === 'prflx' && candidate.type !== 'prflx' && !this.describedLate.has(formatTransportAddress(candidate))) {
        this.describedLate.set(formatTransportAddress(candidate), candidate);
        this.emitCandidate('remote', candidate);
      }
      return;
    }
    this.remotes.push(candidate);
    this.emitCandidate('remote', candidate);
    if (this.scheduler?.running === true) this.scheduler.addRemoteCandidate(candidate);
  }

  /** The peer sent end-of-candidates (RFC 8838 §4): the run may now end as failed or surveyed. */
  endOfRemoteCandidates(): void {
    this.remoteComplete = true;
    if (this.scheduler?.running === true) this.scheduler.endOfRemoteCandidates();
  }

  /**
   * Forms the pairs and starts the checks (the first goes out now). Needs the remote parameters.
   * `overallTimeoutMs` overrides the scheduler option for this run (a session caps it by the time
   * it has left). `peerCheckWaitMs` is how long a run with no pairs of its own waits for the
   * peer's checks before failing (default peerCheckWaitMs() without a signaling RTT: 1 s; a
   * session passes peerCheckWaitMs(its measured signaling RTT)). Checks that arrived before this
   * call are handed to the checklist before the first check goes out, so they count.
   */
  start(options: { readonly overallTimeoutMs?: number; readonly peerCheckWaitMs?: number } = {}): void {
    if (this.lifecycle === 'closed') throw new IceOptionError('The agent is closed.');
    if (this.scheduler !== undefined) return;
    if (this.remote === undefined) throw new IceOptionError('start() needs the remote ICE parameters first: call setRemoteParameters().');
    const checklist = Checklist.fromCandidates(this.usableLocals(), this.remotes, {
      role: this.currentRole,
      ...(this.options.maxPairs !== undefined ? { maxPairs: this.options.maxPairs } : {}),
    });
    const initialRtoMs = this.initialCheckRtoMs();
    this.scheduler = new IceScheduler(checklist, {
      ...this.options.scheduler,
      ...(initialRtoMs !== undefined ? { initialRtoMs } : {}),
      ...(options.overallTimeoutMs !== undefined ? { overallTimeoutMs: options.overallTimeoutMs } : {}),
      peerCheckWaitMs: options.peerCheckWaitMs ?? this.options.scheduler?.peerCheckWaitMs ?? peerCheckWaitMs(),
      clock: this.clock,
      mode: this.mode,
      remoteCandidatesComplete: this.remoteComplete,
      sendCheck: (pair, attempt) => this.sendCheck(pair, attempt),
      listener: (event) => this.onSchedulerEvent(event),
    });
    for (const candidate of this.probeCandidates) this.scheduler.addLocalCandidate(candidate, { formPairs: false });
    for (const apply of this.pendingHolds.splice(0)) apply(this.scheduler);
    this.startedAt = this.clock.now();
    this.lifecycle = 'checking';
    this.emit({ type: 'ice-state', at: this.at(), trial: this.trial, state: 'checking' });
    for (const view of checklist.pairs()) this.emitPair(view);
    // Early checks (§7.3.1.4) go in before the run starts: their pairs and triggered checks are
    // then part of it from the first Ta slot, and a run with no pairs of its own does not end
    // before it has seen them.
    for (const check of this.earlyChecks.splice(0)) this.deliverIncomingCheck(check);
    this.scheduler.start();
  }

  /** The first check RTO from the gathering RTTs (see initialRtoFromGathering), unless the caller set one. */
  private initialCheckRtoMs(): number | undefined {
    if (this.options.scheduler?.initialRtoMs !== undefined) return undefined;
    return initialRtoFromGathering(this.gatheringAttempts, {
      minRtoMs: this.options.scheduler?.minRtoMs ?? SCHEDULER_DEFAULTS.minRtoMs,
      maxRtoMs: SCHEDULER_DEFAULTS.initialRtoMs,
    });
  }

  /** Stops checks and consent, closes the sockets the agent bound. Resolves `done` if still pending. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  // ---- gathering -------------------------------------------------------------------------

  private async runGathering(onCandidate: ((candidate: Candidate) => void) | undefined): Promise<Candidate[]> {
    if (this.lifecycle === 'new') this.lifecycle = 'gathering';
    this.emit({ type: 'ice-state', at: this.at(), trial: this.trial, state: 'gathering' });
    const report = (candidate: Candidate): void => {
      this.emitCandidate('local', candidate);
      try {
        onCandidate?.(candidate);
      } catch {
        // A signaling callback's failure must not stop gathering; the session sees its own error.
      }
    };
    for (const candidate of this.usableLocals()) report(candidate);
    const server = this.relayOnly ? undefined : this.options.stunServer;
    if (server !== undefined) {
      const serverFamily = familyOf(server.address);
      const hosts = [...this.bases.values()].filter((base) => base.candidate.type === 'host' && base.candidate.family === serverFamily);
      await Promise.all(
        hosts.map(async ({ endpoint, candidate }) => {
          if (endpoint === undefined) return;
          const transactions = new StunTransactions(endpoint, { clock: this.clock });
          this.stunClients.add(transactions);
          try {
            const outcome = await gatherServerReflexive({ endpoint, candidate }, transactions, this.foundations, {
              server,
              clock: this.clock,
              timeoutMs: this.options.gatherTimeoutMs ?? DEFAULT_GATHER_TIMEOUT_MS,
              rtoMs: this.options.gatherRtoMs ?? DEFAULT_GATHER_RTO_MS,
            });
            this.gatheringAttempts.push(outcome.attempt);
            if (outcome.candidate !== undefined && this.lifecycle !== 'closed') {
              const duplicate = this.locals.some((c) => sameTransportAddress(c, outcome.candidate!) && c.type === outcome.candidate!.type);
              if (!duplicate) {
                this.locals.push(outcome.candidate);
                report(outcome.candidate);
              }
            }
          } finally {
            transactions.close();
            this.stunClients.delete(transactions);
          }
        }),
      );
    }
    if (this.lifecycle === 'gathering') this.lifecycle = 'ready';
    return this.usableLocals();
  }

  /** A learned peer-reflexive remote candidate as its owner later trickled it, if it did. */
  private described(candidate: Candidate): Candidate {
    if (candidate.type !== 'prflx' || this.describedLate.size === 0) return candidate;
    return this.describedLate.get(formatTransportAddress(candidate)) ?? candidate;
  }

  private get relayOnly(): boolean {
    return this.options.iceTransportPolicy === 'relay';
  }

  /** The local candidates the transport policy lets take part: all, or the relayed ones only. */
  private usableLocals(): Candidate[] {
    return this.relayOnly ? this.locals.filter((c) => c.type === 'relay') : [...this.locals];
  }

  private addBase(candidate: Candidate, transport: CandidateTransport, endpoint: UdpEndpoint | undefined, options: { probeOnly?: boolean } = {}): void {
    const key = formatTransportAddress(candidate);
    if (this.bases.has(key)) throw new InvalidCandidateError(`A local candidate at ${key} already exists.`);
    const base: Base = { key, candidate, transport, endpoint, probeOnly: options.probeOnly === true, detach: () => undefined };
    base.detach = transport.onDatagram((datagram) => this.receive(base, datagram.data, datagram.from));
    this.bases.set(key, base);
    if (base.probeOnly) this.probeCandidates.push(candidate);
    else this.locals.push(candidate);
  }

  // ---- sending checks --------------------------------------------------------------------

  private sendCheck(pair: CandidatePair, attempt: CheckAttempt): void {
    const baseKey = formatTransportAddress(pair.localBase);
    const base = this.bases.get(baseKey);
    if (base === undefined) throw new InvalidCandidateError(`No local socket for ${baseKey}.`);
    const remote = this.remote!;
    let tx = this.transactionsByNumber.get(attempt.transaction);
    if (tx === undefined) {
      const transactionId = newTransactionId();
      tx = {
        number: attempt.transaction,
        key: transactionKey(transactionId),
        wire: encodeCheckRequest({
          transactionId,
          localUfrag: this.localParameters.ufrag,
          remoteUfrag: remote.ufrag,
          remoteKey: remote.key,
          priority: attempt.priority,
          role: attempt.role,
          tieBreaker: this.tieBreaker,
          useCandidate: attempt.useCandidate,
        }),
        baseKey,
        remote: { address: pair.remote.address, port: pair.remote.port },
      };
      this.transactions.set(tx.key, tx);
      this.transactionsByNumber.set(tx.number, tx);
    }
    const sent = tx;
    base.transport.send(sent.wire, sent.remote).catch((error: unknown) => this.onSendError(sent, error));
  }

  private onSendError(tx: CheckTransaction, error: unknown): void {
    if (this.scheduler?.running !== true) return;
    const code = errnoOf(error);
    const reason: PairFailureReason = code !== undefined && UNREACHABLE_ERRNOS.has(code) ? 'unreachable' : 'send-error';
    // The scheduler ignores it unless the transaction is still its pair's open check.
    this.scheduler.onFailure(tx.number, reason, { detail: error instanceof Error ? error.message : String(error) });
  }

  // ---- receiving -------------------------------------------------------------------------

  private receive(base: Base, data: Uint8Array, from: TransportAddress): void {
    if (this.lifecycle === 'closed') return;
    if (this.relayOnly && base.candidate.type !== 'relay') {
      // Relay policy: a host socket was never signalled, so nothing legitimate arrives on it.
      this.counters.datagramsIgnored++;
      return;
    }
    if (!looksLikeStun(data)) {
      // Application data (e.g. DTLS from a WebRTC peer after ICE) is not ours to read.
      this.counters.datagramsIgnored++;
      return;
    }
    let message: DecodedStunMessage;
    try {
      message = decodeMessage(data);
    } catch {
      this.counters.datagramsIgnored++;
      return;
    }
    if (message.method !== StunMethod.binding) {
      this.counters.datagramsIgnored++;
      return;
    }
    if (message.class === 'request') this.onRequest(base, message, from);
    else if (message.class === 'successResponse' || message.class === 'errorResponse') this.onResponse(base, message, from);
    // Binding indications are keepalives (RFC 8445 §11): nothing to do.
  }

  /** RFC 8445 §7.3: authenticate, resolve role conflicts, answer, then let the checklist react. */
  private onRequest(base: Base, request: DecodedStunMessage, from: TransportAddress): void {
    this.counters.requestsReceived++;
    if (this.mode === 'connect' && this.result?.state === 'failed') {
      // A failed agent stays silent: answering would let the peer validate and nominate a pair
      // this side has already given up on, and the two ends would report different outcomes.
      this.counters.requestsIgnoredAfterFailure++;
      return;
    }
    const source: StunTransportAddress = { family: familyOf(from.address) ?? 4, address: from.address, port: from.port };
    const verdict = validateCheckRequest(request, this.localParameters.ufrag, this.localKey);
    if (!verdict.ok) {
      this.counters.requestsRejected++;
      const options = {
        ...(verdict.authenticated ? { key: this.localKey } : {}),
        ...(verdict.unknownAttributes !== undefined ? { unknownAttributes: verdict.unknownAttributes } : {}),
      };
      this.reply(base, encodeCheckError(request, verdict.code, verdict.reason, options), source);
      return;
    }
    const decision = resolveRoleConflict({
      localRole: this.currentRole,
      localTieBreaker: this.tieBreaker,
      remoteRole: verdict.remoteRole,
      remoteTieBreaker: verdict.remoteTieBreaker,
    });
    if (decision.action === 'reject-487') {
      this.counters.roleConflictsSent++;
      this.reply(base, encodeCheckError(request, 487, 'Role Conflict', { key: this.localKey }), source);
      return;
    }
    if (decision.action === 'switch') this.switchRole(decision.role);
    this.reply(base, encodeCheckSuccess(request, source, this.localKey), source);
    const check: IncomingCheck = {
      localBase: { address: base.candidate.address, port: base.candidate.port },
      source: { address: from.address, port: from.port },
      priority: verdict.priority,
      useCandidate: verdict.useCandidate,
    };
    for (const listener of this.incomingListeners) {
      try {
        listener({ baseKey: base.key, from: { address: from.address, port: from.port }, probeBase: base.probeOnly });
      } catch {
        // A strategy's listener must not break the checks.
      }
    }
    if (this.scheduler === undefined) {
      const limit = this.options.maxEarlyChecks ?? DEFAULT_MAX_EARLY_CHECKS;
      if (this.earlyChecks.length < limit) this.earlyChecks.push(check);
    } else if (this.scheduler.running) {
      this.deliverIncomingCheck(check);
    }
  }

  private deliverIncomingCheck(check: IncomingCheck): void {
    try {
      this.scheduler!.onIncomingCheck(check);
    } catch (error) {
      // A check on a base the checklist does not know (e.g. a relayed candidate added late):
      // answered above, but it cannot take part in the checks.
      if (!(error instanceof InvalidCandidateError)) throw error;
    }
  }

  /** §7.3.1.1: the incoming request made this agent switch role. */
  private switchRole(role: IceRole): void {
    const from = this.currentRole;
    if (from === role) return;
    this.currentRole = role;
    if (this.scheduler?.running === true) this.scheduler.setRole(role); // its 'role-changed' event is not re-emitted (reason 'set-role')
    this.emit({ type: 'ice-role', at: this.at(), trial: this.trial, from, to: role, reason: 'role-conflict-request' });
  }

  /** RFC 8445 §7.2.5: a response to one of our checks (or consent requests). */
  private onResponse(base: Base, response: DecodedStunMessage, from: TransportAddress): void {
    const key = transactionKey(response.transactionId);
    const consentTx = this.consentTransactions.get(key);
    if (consentTx !== undefined) {
      this.onConsentResponse(key, consentTx, base, response, from);
      return;
    }
    const tx = this.transactions.get(key);
    if (tx === undefined || this.remote === undefined) return; // stale, or a STUN server's answer handled by gathering
    const scheduler = this.scheduler;
    if (scheduler === undefined || !scheduler.running) return;
    const verdict = readCheckResponse(response, this.remote.key);
    if (verdict.kind === 'unauthenticated') {
      // RFC 8489 §9.1.4: discard as if never received (the transaction stays open); the scheduler
      // counts it and fails a pair whose peer keeps doing it.
      this.counters.responsesUnauthenticated++;
      scheduler.onUnauthenticatedResponse(tx.number, verdict.detail);
      return;
    }
    this.transactions.delete(key);
    this.transactionsByNumber.delete(tx.number);
    // Which check this answers, and whether it is stale, is the scheduler's call (by transaction).
    // §7.2.5.2.1: the response must come from where the request went, to where it came from.
    if (base.key !== tx.baseKey || !sameTransportAddress(from, tx.remote)) {
      scheduler.onFailure(tx.number, 'non-symmetric', {
        detail: `request ${tx.baseKey} → ${formatTransportAddress(tx.remote)}, response ${formatTransportAddress(from)} → ${base.key}`,
      });
      return;
    }
    if (verdict.kind === 'error') {
      if (verdict.code === 487) {
        scheduler.onRoleConflict(tx.number);
      } else if (verdict.code === 401) {
        scheduler.onFailure(tx.number, 'integrity', {
          errorCode: 401,
          detail: `the peer answered 401 (${verdict.reason}): it could not authenticate this agent's check; the ICE ufrag/password it has for this side are wrong`,
        });
      } else {
        scheduler.onFailure(tx.number, 'error-response', { errorCode: verdict.code, detail: `${verdict.code} ${verdict.reason}` });
      }
      return;
    }
    scheduler.onResponse(tx.number, verdict.mappedAddress !== undefined ? { mappedAddress: { address: verdict.mappedAddress.address, port: verdict.mappedAddress.port } } : {});
  }

  private reply(base: Base, wire: Buffer, to: TransportAddress): void {
    base.transport.send(wire, { address: to.address, port: to.port }).catch(() => undefined); // the peer retransmits
  }

  // ---- scheduler events → the event stream, and the end of the run ------------------------

  private onSchedulerEvent(event: IceSchedulerEvent): void {
    switch (event.type) {
      case 'check-sent':
        this.emit({
          type: 'ice-check-sent',
          at: this.at(),
          trial: this.trial,
          pairId: event.pairId,
          attempt: event.attempt,
          triggered: event.triggered,
          useCandidate: event.useCandidate,
          rtoMs: event.rtoMs,
        });
        return;
      case 'pair-state':
      case 'pair-added':
      case 'nominated':
        if (this.scheduler !== undefined) this.emitPair(this.scheduler.checklist.get(event.pairId));
        return;
      case 'candidate-learned':
        if (event.side === 'remote') this.remotes.push(event.candidate);
        this.emitCandidate(event.side, event.candidate);
        return;
      case 'role-changed':
        if (event.reason === 'role-conflict-response') {
          this.currentRole = event.to;
          this.emit({ type: 'ice-role', at: this.at(), trial: this.trial, from: event.from, to: event.to, reason: 'role-conflict-response' });
        }
        return;
      case 'completed':
        this.finish();
        return;
      case 'nominating':
        return;
    }
  }

  private finish(): void {
    const scheduler = this.scheduler!;
    const checklist = scheduler.checklist;
    const outcome = scheduler.outcome!;
    const view = this.mode === 'connect' ? scheduler.selectedPair : checklist.bestValidPair();
    const pairs: IcePairResult[] = scheduler.report().map((row) => {
      const result = pairResultOf(row);
      return { ...result, remote: this.described(result.remote) };
    });
    let selectedPair: IceSelectedPair | undefined;
    if (view?.validPair !== undefined) {
      selectedPair = {
        id: view.validPair.id,
        local: view.validPair.local,
        remote: this.described(view.validPair.remote),
        rttMs: pairs.find((p) => p.id === view.pair.id)?.rttMs ?? 0,
        nominated: view.nominated,
      };
    }
    const timeToConnectMs = this.clock.now() - this.startedAt;
    this.result = {
      state: selectedPair !== undefined ? 'connected' : 'failed',
      outcome,
      mode: this.mode,
      role: this.currentRole,
      ...(selectedPair !== undefined ? { selectedPair } : {}),
      timeToConnectMs,
      pairs,
      localCandidates: [...this.usableLocals(), ...checklist.localCandidates.filter((c) => c.type === 'prflx')],
      remoteCandidates: this.remotes.map((c) => this.described(c)),
      gathering: [...this.gatheringAttempts],
      counters: { ...this.counters },
      ...(scheduler.peerCheckWaitApplied !== undefined ? { peerCheckWaitMs: scheduler.peerCheckWaitApplied } : {}),
    };
    if (this.lifecycle !== 'closed') this.lifecycle = this.result.state;
    if (selectedPair !== undefined) {
      this.emit({
        type: 'ice-selected-pair',
        at: this.at(),
        trial: this.trial,
        pairId: selectedPair.id,
        local: formatTransportAddress(selectedPair.local),
        remote: formatTransportAddress(selectedPair.remote),
        localType: selectedPair.local.type,
        remoteType: selectedPair.remote.type,
        nominated: selectedPair.nominated,
        rttMs: selectedPair.rttMs,
        timeToConnectMs,
      });
    }
    this.emit({
      type: 'ice-state',
      at: this.at(),
      trial: this.trial,
      state: this.result.state,
      ...(selectedPair !== undefined ? { selectedPairId: selectedPair.id } : {}),
    });
    if (this.mode === 'connect' && view?.validPair !== undefined && outcome === 'connected' && this.lifecycle !== 'closed') {
      this.startConsent(view.validPair);
    }
    this.resolveDone(this.result);
  }

  // ---- consent freshness (RFC 7675) -------------------------------------------------------

  private startConsent(pair: CandidatePair): void {
    const settings = this.options.consent;
    if (settings === false) return;
    const baseKey = formatTransportAddress(pair.localBase);
    const base = this.bases.get(baseKey);
    if (base === undefined) return;
    const remoteAddress: TransportAddress = { address: pair.remote.address, port: pair.remote.port };
    this.consent = new ConsentFreshness({
      clock: this.clock,
      random: this.random,
      ...(settings?.basePeriodMs !== undefined ? { basePeriodMs: settings.basePeriodMs } : {}),
      ...(settings?.consentTimeoutMs !== undefined ? { consentTimeoutMs: settings.consentTimeoutMs } : {}),
      // §5.1: a consent check is a Binding request with the ICE credentials, a new transaction each time.
      sendCheck: (sequence) => {
        const remote = this.remote;
        if (remote === undefined || this.lifecycle === 'closed') return;
        const transactionId = newTransactionId();
        const key = transactionKey(transactionId);
        this.consentTransactions.set(key, { sequence, baseKey, remote: remoteAddress });
        const wire = encodeCheckRequest({
          transactionId,
          localUfrag: this.localParameters.ufrag,
          remoteUfrag: remote.ufrag,
          remoteKey: remote.key,
          priority: prflxPriorityFor(pair.local),
          role: this.currentRole,
          tieBreaker: this.tieBreaker,
          useCandidate: false,
        });
        base.transport.send(wire, remoteAddress).catch(() => undefined); // a lost check is what consent measures
      },
      onConsentLost: () => {
        this.lostConsent = true;
        this.emit({ type: 'ice-state', at: this.at(), trial: this.trial, state: 'consent-lost', selectedPairId: pair.id });
      },
    });
    this.consent.start();
  }

  private onConsentResponse(key: string, tx: ConsentTransaction, base: Base, response: DecodedStunMessage, from: TransportAddress): void {
    if (this.remote === undefined || this.consent === undefined) return;
    const verdict = readCheckResponse(response, this.remote.key);
    if (verdict.kind !== 'success' || base.key !== tx.baseKey || !sameTransportAddress(from, tx.remote)) return;
    this.consentTransactions.delete(key);
    this.consent.onResponse(tx.sequence);
  }

  // ---- shutdown --------------------------------------------------------------------------

  private async shutdown(): Promise<void> {
    if (this.scheduler?.running === true) this.scheduler.stop(); // resolves `done` through 'completed'
    this.lifecycle = 'closed';
    this.consent?.stop();
    for (const client of this.stunClients) client.close();
    this.stunClients.clear();
    if (this.result === undefined) this.resolveDone(this.neverStartedResult());
    const closing: Promise<void>[] = [];
    for (const base of this.bases.values()) {
      base.detach();
      if (base.endpoint !== undefined) closing.push(base.endpoint.close());
    }
    await Promise.all(closing);
    this.transactions.clear();
    this.transactionsByNumber.clear();
    this.consentTransactions.clear();
    this.emit({ type: 'ice-state', at: this.at(), trial: this.trial, state: 'closed' });
  }

  private neverStartedResult(): IceResult {
    return {
      state: 'failed',
      outcome: 'stopped',
      mode: this.mode,
      role: this.currentRole,
      timeToConnectMs: this.scheduler === undefined ? 0 : this.clock.now() - this.startedAt,
      pairs: [],
      localCandidates: this.usableLocals(),
      remoteCandidates: [...this.remotes],
      gathering: [...this.gatheringAttempts],
      counters: { ...this.counters },
    };
  }

  // ---- events ----------------------------------------------------------------------------

  private at(): number {
    return this.clock.now() - this.epochMs;
  }

  private emit(event: IceEvent): void {
    const listener = this.options.onEvent;
    if (listener === undefined) return;
    try {
      listener(event);
    } catch {
      // A broken listener must not break the checks.
    }
  }

  private emitCandidate(side: 'local' | 'remote', candidate: Candidate): void {
    this.emit({ type: 'ice-candidate', at: this.at(), trial: this.trial, side, ...candidateEventFields(candidate) });
  }

  private emitPair(view: PairView): void {
    if (this.options.onEvent === undefined) return;
    const stats = this.scheduler?.pairStats(view.pair.id);
    const pair = view.validPair ?? view.pair;
    this.emit({
      type: 'ice-pair',
      at: this.at(),
      trial: this.trial,
      pairId: view.pair.id,
      local: formatTransportAddress(pair.local),
      remote: formatTransportAddress(pair.remote),
      localType: pair.local.type,
      remoteType: pair.remote.type,
      state: view.state,
      attempts: stats?.requestsSent ?? 0,
      ...(stats?.rttMs !== undefined ? { rttMs: stats.rttMs } : {}),
      ...(view.failure !== undefined ? { failureReason: view.failure.reason } : {}),
      ...(view.nominated ? { nominated: true } : {}),
    });
  }
}

/**
 * Send errors that mean the path refused the datagram rather than a local fault: no route, an ICMP
 * error remembered by the kernel, or a local firewall rule (EPERM). Linux does not report ICMP port
 * unreachable on unconnected UDP sockets, so a closed port shows up as 'timeout' instead.
 */
const UNREACHABLE_ERRNOS = new Set(['EHOSTUNREACH', 'ENETUNREACH', 'ECONNREFUSED', 'EPERM']);

function errnoOf(error: unknown): string | undefined {
  for (let current = error, depth = 0; current instanceof Error && depth < 4; current = current.cause, depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('E')) return code;
  }
  return undefined;
}

