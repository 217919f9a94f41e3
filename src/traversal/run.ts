/**
 * One session's traversal run: the behaviour probe, the exchange over signaling, the plan, and
 * the strategy it picks (predict or birthday), all beside the ICE agent's own checks.
 *
 *   const run = new TraversalRun({ agent, options, send, stunServer, bindAddress, clock, … });
 *   run.start();                       // probe while gathering; holds ICE from failing meanwhile
 *   run.onPayload(payload);            // each `traversal` message from the other peer
 *   …
 *   const report = run.report(iceResult, remoteWinner);
 *   await run.close();
 *
 * How a strategy becomes an ICE path (RFC 8445 §7.3.1.3–§7.3.1.4). Every datagram a strategy sends
 * is an authenticated Binding request with this session's ICE credentials (IceAgent.sendProbe).
 * The hard side's probe sockets are probe-only bases of the agent (IceAgent.addProbeSocket). When
 * a probe gets through both NATs it reaches the other agent as an ordinary check: it is answered,
 * its source becomes a peer-reflexive candidate, and a triggered check goes back through the
 * mapping the probe just used. Success and nomination are plain ICE from there. Nothing
 * unauthenticated ever counts, and the probes go only to the public IP that the other peer
 * signalled as one of its own candidates.
 *
 * While the behaviour is being exchanged and a strategy still has budget, the run holds the agent
 * from ending as failed (IceAgent.hold); the agent's overall bound still applies.
 */
import type { IceAgent } from '../ice/agent.js';
import type { IceResult } from '../ice/agent-result.js';
import { baseOf, formatTransportAddress, type Candidate, type TransportAddress } from '../ice/candidate.js';
import { attr, getAttribute, newTransactionId, StunMethod } from '../stun/index.js';
import type { Clock, TimerHandle } from '../transport/clock.js';
import { StunTransactions, UdpEndpoint } from '../transport/index.js';
import { localInterfaceAddresses } from '../nat/local-addresses.js';
import { portMappingSkipReason } from '../nat/port-mapping.js';
import { probeBehaviour } from './behaviour.js';
import type { TraversalEvent } from './events.js';
import { behaviourPayload, type TraversalPayload } from './messages.js';
import { decideTraversal, type PlanBudget, type PlanSide } from './plan.js';
import { portmapGateway, SessionPortMapping } from './portmap.js';
import { predictedPorts, RandomPortSequence } from './targets.js';
import {
  TRAVERSAL_DEFAULTS,
  type ExtraStrategy,
  type NatBehaviour,
  type PlanDuty,
  type PortmapOffer,
  type PortmapReport,
  type RelayRungResult,
  type StrategyAttempt,
  type TraversalOptions,
  type TraversalPlan,
  type TraversalReport,
  type WinningPath,
} from './types.js';

export interface TraversalRunOptions {
  readonly agent: IceAgent;
  readonly options: TraversalOptions;
  /** Sends a `traversal` payload to the other peer over signaling. */
  readonly send: (payload: TraversalPayload) => void;
  /** The session's STUN server; without one there is no behaviour to exchange. */
  readonly stunServer?: TransportAddress;
  /** The address the agent's host socket is bound to (probe sockets bind there too). */
  readonly bindAddress: string;
  readonly clock: Clock;
  /** Session start: events' `at` counts from here. */
  readonly epochMs: number;
  readonly trial: number;
  readonly random?: () => number;
  readonly onEvent?: (event: TraversalEvent) => void;
  /** This machine's addresses, never probed. Default: the interfaces' addresses. */
  readonly ownAddresses?: readonly string[];
  /**
   * Whether relayed candidates may still join this side's checks (TURN servers configured or
   * allocating). While true, the direct attempt is never abandoned. Default: never.
   */
  readonly relaysMayJoin?: () => boolean;
  /** How long to wait for the other peer's behaviour after ours is known. Default 2,000 ms. */
  readonly remoteBehaviourWaitMs?: number;
  /**
   * Signals a local candidate found after gathering (portmap's mapped address) to the other peer,
   * as the session trickles every candidate. Without it portmap cannot advertise its mapping.
   */
  readonly signalCandidate?: (candidate: Candidate) => void;
}

export const TRAVERSAL_RUN_DEFAULTS = {
  remoteBehaviourWaitMs: 2_000,
  /** After the last probe, how long answers and triggered checks may still take before the hold ends. */
  graceMs: 500,
  /** Progress events every this many probes. */
  progressEvery: 64,
  /** Opening datagrams of the birthday hard side: one socket per this many ms. */
  openerIntervalMs: 1,
  /** A probe tick sends ceil(rate × tick) probes, so timers stay few at high rates. */
  tickMs: 10,
  /**
   * With nothing direct left to try, how long checks already under way still get before the
   * direct attempt ends as failed: many path round trips, and more than the 500 ms initial RTO
   * of a check that was dropped once.
   */
  abandonAfterMs: 1_500,
  /**
   * portmap: how long both sides hold the checks from failing once the plan is portmap, so the
   * mapped candidate can cross signaling and its pairs join the checklist (then they keep the
   * run going themselves). Many signaling round trips.
   */
  portmapHoldMs: 3_000,
} as const;

/** Budget a side brings (sent with its behaviour): from its own options, capped. */
export function budgetOf(options: TraversalOptions): PlanBudget & { readonly probeRatePerSecond: number } {
  const d = TRAVERSAL_DEFAULTS;
  return {
    birthdaySockets: Math.min(d.maxBirthdaySockets, options.birthday?.sockets ?? d.birthdaySockets),
    birthdayBudget: Math.min(d.maxBirthdayBudget, options.birthday?.budget ?? d.birthdayBudget),
    allowRandomPair: options.birthday?.allowRandomPair ?? false,
    probeRatePerSecond: Math.min(d.maxProbeRatePerSecond, options.birthday?.ratePerSecond ?? d.birthdayRatePerSecond),
  };
}

interface AttemptState {
  strategy: ExtraStrategy;
  duty: PlanDuty;
  startedAtMs: number;
  endedAtMs?: number;
  probesSent: number;
  socketsOpened: number;
  budget: number;
  hit: boolean;
  stopReason?: string;
}

export class TraversalRun {
  private readonly agent: IceAgent;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly budget: ReturnType<typeof budgetOf>;
  private localBehaviour: NatBehaviour | undefined;
  private remote: { behaviour: NatBehaviour; budget: PlanBudget; relays: boolean } | undefined;
  private localKnown = false;
  private decided: TraversalPlan | undefined;
  private readonly attempts: AttemptState[] = [];
  private readonly timers = new Set<TimerHandle>();
  private readonly holds: (() => void)[] = [];
  /** Listener removals to run at close. */
  private readonly cleanups: (() => void)[] = [];
  private readonly planWaiters: (() => void)[] = [];
  private readonly endpoints: UdpEndpoint[] = [];
  /** Probe-only bases and the strategy that opened each. */
  private readonly probeBases = new Map<string, ExtraStrategy>();
  /** "ip:port" targets a prober aimed at, with its strategy. */
  private readonly probedTargets = new Map<string, ExtraStrategy>();
  private readonly remoteBases: { round: number; port: number; delta: number }[] = [];
  private readonly remoteBaseWaiters = new Set<() => void>();
  private readonly abort = new AbortController();
  /** portmap: the gateway mapping of the ICE host socket, its base, or why none was asked for. */
  private portmap: SessionPortMapping | undefined;
  private portmapBaseKey: string | undefined;
  private portmapSkipped: string | undefined;
  private portmapReleasing = false;
  private iceDone = false;
  private closed = false;

  constructor(private readonly o: TraversalRunOptions) {
    this.agent = o.agent;
    this.clock = o.clock;
    this.random = o.random ?? Math.random;
    this.budget = budgetOf(o.options);
    void o.agent.done.then(() => {
      this.iceDone = true;
      for (const attempt of this.attempts) if (attempt.endedAtMs === undefined) this.finishAttempt(attempt, 'ice-ended');
      this.releaseAll();
    });
  }

  get plan(): TraversalPlan | undefined {
    return this.decided;
  }

  /**
   * Resolves once the plan is fixed (or the run closed), so a report names the plan even when ICE
   * connected before the behaviour exchange finished. Bounded by the caller.
   */
  planned(): Promise<void> {
    if (this.decided !== undefined || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.planWaiters.push(resolve));
  }

  /** Starts the behaviour probe (or says at once that there is none) and holds the agent meanwhile. */
  start(): void {
    this.holds.push(this.agent.hold());
    if (this.o.stunServer === undefined) {
      this.portmapSkipped = 'no STUN server, so no behaviour to plan with';
      this.setLocal(undefined);
      return;
    }
    // The mapping is asked for while the behaviour is probed, so the behaviour message carries it.
    const mapping = this.o.options.strategies.includes('portmap') ? this.acquirePortmap(this.o.stunServer) : Promise.resolve(undefined);
    void Promise.all([
      probeBehaviour({
        server: this.o.stunServer,
        bindAddress: this.o.bindAddress,
        strategies: this.o.options.strategies,
        clock: this.clock,
        signal: this.abort.signal,
      }),
      mapping,
    ]).then(([probe, offer]) => this.setLocal(probe === undefined ? undefined : offer === undefined ? probe.behaviour : { ...probe.behaviour, portmap: offer }));
  }

  /** Deletes the gateway mapping, if any, before the session's report is final (bounded, never rejects). */
  async releaseGateway(): Promise<void> {
    await this.releasePortmap();
  }

  /** A `traversal` payload from the other peer (already parsed). */
  onPayload(payload: TraversalPayload): void {
    if (this.closed) return;
    if (payload.kind === 'behaviour') {
      if (this.remote !== undefined) return;
      this.remote = { behaviour: payload.behaviour as NatBehaviour, budget: payload.budget, relays: payload.relays === true };
      this.maybeDecide();
    } else {
      this.remoteBases.push({ round: payload.round, port: payload.port, delta: payload.delta });
      for (const waiter of [...this.remoteBaseWaiters]) waiter();
    }
  }

  /** The report for the session result. `remoteWinner` is the other side's own view, when it sent one. */
  report(
    ice: IceResult | undefined,
    paths: { readonly remoteWinner?: WinningPath; readonly relayPath?: WinningPath; readonly ladder?: readonly RelayRungResult[] } = {},
  ): TraversalReport {
    return {
      requested: [...this.o.options.strategies],
      ...(this.localBehaviour !== undefined ? { localBehaviour: this.localBehaviour } : {}),
      ...(this.remote !== undefined ? { remoteBehaviour: this.remote.behaviour } : {}),
      plan: this.decided ?? decideTraversal(this.localSide(), this.remoteSide()),
      attempts: this.attempts.map((a) => this.attemptResult(a)),
      ladder: [...(paths.ladder ?? [])],
      winner: this.winnerOf(ice, paths.remoteWinner, paths.relayPath),
      ...(this.o.options.strategies.includes('portmap') ? { portmap: this.portmapReport() } : {}),
    };
  }

  private portmapReport(): PortmapReport {
    if (this.portmap !== undefined) return this.portmap.report();
    return { protocol: 'nat-pmp', skipped: this.portmapSkipped ?? 'not asked yet', mapped: false, renewals: 0, advertised: false, deleted: false };
  }

  /** Stops every strategy; probe sockets belong to the agent, which closes them. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.abort.abort();
    for (const attempt of this.attempts) if (attempt.endedAtMs === undefined) this.finishAttempt(attempt, 'session-ended');
    for (const timer of this.timers) this.clock.clearTimeout(timer);
    this.timers.clear();
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    for (const resolve of this.planWaiters.splice(0)) resolve();
    this.releaseAll();
    await this.releasePortmap();
  }

  // ---- negotiation -----------------------------------------------------------------------

  private setLocal(behaviour: NatBehaviour | undefined): void {
    if (this.closed) return;
    this.localKnown = true;
    this.localBehaviour = behaviour;
    // Always tell the other side, even "unknown", so it need not wait out its bound.
    const sent: NatBehaviour = behaviour ?? { mapping: 'unknown', filtering: 'unknown', allocation: 'unknown', strategies: [...this.o.options.strategies] };
    this.o.send(behaviourPayload(sent, this.budget));
    if (this.remote === undefined) {
      this.after(this.o.remoteBehaviourWaitMs ?? TRAVERSAL_RUN_DEFAULTS.remoteBehaviourWaitMs, () => this.maybeDecide(true));
    }
    this.maybeDecide();
  }

  private localSide(): PlanSide | undefined {
    return this.localBehaviour === undefined ? undefined : { behaviour: this.localBehaviour, budget: this.budget };
  }

  private remoteSide(): PlanSide | undefined {
    return this.remote;
  }

  private maybeDecide(waitedOut = false): void {
    if (this.decided !== undefined || this.closed || !this.localKnown) return;
    if (this.remote === undefined && !waitedOut) return;
    const plan = decideTraversal(this.localSide(), this.remoteSide());
    this.decided = plan;
    for (const resolve of this.planWaiters.splice(0)) resolve();
    this.emit({
      type: 'traversal-plan',
      at: this.at(),
      trial: this.o.trial,
      plan,
      ...(this.localBehaviour !== undefined ? { local: this.localBehaviour } : {}),
      ...(this.remote !== undefined ? { remote: this.remote.behaviour } : {}),
    });
    this.applyPortmap(plan);
    if (this.iceDone) {
      this.releaseAll();
      return;
    }
    if (plan.technique === 'predict') void this.runPredict(plan.localDuty);
    else if (plan.technique === 'birthday') this.runBirthday(plan.localDuty);
    else if (plan.technique === 'relay-only') this.afterAllTried('the traversal plan is relay-only');
    // Whatever runs took its own hold; the negotiation's hold ends here.
    this.holds.shift()?.();
  }

  /**
   * Nothing direct is left to try (the plan is relay-only, or every strategy spent its budget
   * without a hit): after a grace for checks already on the way, end the direct attempt instead
   * of waiting out the pair timeouts, unless a relayed candidate takes part (the agent refuses
   * then) or either side may still add one. This is the "bounded attempt" a relay-only verdict
   * comes after.
   */
  private afterAllTried(why: string): void {
    this.after(TRAVERSAL_RUN_DEFAULTS.abandonAfterMs, () => {
      if (this.attempts.some((a) => a.endedAtMs === undefined || a.hit)) return;
      if (this.remote?.relays === true || this.o.relaysMayJoin?.() === true) return;
      this.agent.abandonDirect(why);
    });
  }

  // ---- portmap ---------------------------------------------------------------------------

  /**
   * Asks the default gateway to map the ICE host socket's port (NAT-PMP, PCP or UPnP:
   * traversal/portmap.ts), unless it must not be
   * asked: the CLI's reason (--embedded), or every server on loopback (the rule `detect`
   * follows, nat/port-mapping.ts). Resolves with what the other side is told.
   */
  private async acquirePortmap(stun: TransportAddress): Promise<PortmapOffer> {
    const skip = this.o.options.portmap?.skip ?? portMappingSkipReason({ embedded: false, portmap: true, serverAddresses: [stun.address] });
    const base = this.agent.primaryBaseFor(stun);
    const gateway = skip === undefined && base !== undefined ? await portmapGateway(this.o.options.portmap?.gateway) : undefined;
    const why = skip ?? (base === undefined ? 'no host socket of the STUN server family' : gateway === undefined ? 'no IPv4 default route, so no gateway to ask' : undefined);
    if (why !== undefined || base === undefined || gateway === undefined) {
      this.portmapSkipped = why ?? 'not asked';
      this.emitPortmap();
      return { mapped: false, reason: `not asked: ${this.portmapSkipped}` };
    }
    this.portmapBaseKey = base.key;
    this.portmap = await SessionPortMapping.acquire({
      gateway,
      internalPort: base.candidate.port,
      bindAddress: base.candidate.address,
      ...(this.o.options.portmap?.lifetimeSeconds !== undefined ? { lifetimeSeconds: this.o.options.portmap.lifetimeSeconds } : {}),
      ...(this.o.options.portmap?.port !== undefined ? { port: this.o.options.portmap.port } : {}),
      clock: this.clock,
      signal: this.abort.signal,
    });
    this.emitPortmap();
    if (this.closed) await this.releasePortmap();
    return this.portmap.offer();
  }

  /** Deletes the mapping (once) and says so. */
  private async releasePortmap(): Promise<void> {
    const mapping = this.portmap;
    if (mapping === undefined) return;
    const first = !this.portmapReleasing;
    this.portmapReleasing = true;
    const wasMapped = mapping.mapped;
    await mapping.release();
    if (first && wasMapped) this.emitPortmap();
  }

  private emitPortmap(): void {
    this.emit({ type: 'traversal-portmap', at: this.at(), trial: this.o.trial, report: this.portmapReport() });
  }

  /**
   * With a portmap plan, the side whose mapping is usable signals it as a candidate, and both
   * sides hold the checks a moment for it to arrive. A mapping the plan does not use is deleted
   * at once: no state is left on the gateway that the session does not need.
   */
  private applyPortmap(plan: TraversalPlan): void {
    const mapping = this.portmap;
    const portmapPlan = plan.technique === 'portmap';
    if (portmapPlan && !this.iceDone) {
      const release = this.agent.hold();
      this.holds.push(release);
      this.after(TRAVERSAL_RUN_DEFAULTS.portmapHoldMs, release);
    }
    if (mapping === undefined) return;
    const offer = mapping.offer();
    if (!portmapPlan || plan.localDuty !== 'opener' || !offer.mapped) {
      // Not part of the plan (or not usable, e.g. on the inner NAT of a double NAT): no state is
      // left on the gateway that the session does not need.
      void this.releasePortmap();
      return;
    }
    // A port-preserving NAT's mapping is the very address STUN saw: already signalled as our
    // srflx candidate (and open to every sender from the moment it was granted).
    const signalled = this.agent.localCandidates.some((c) => c.address === offer.address && c.port === offer.port);
    if (signalled) {
      mapping.markAdvertised();
      return;
    }
    if (this.iceDone || this.portmapBaseKey === undefined) return;
    const candidate = this.agent.addMappedCandidate({ address: offer.address, port: offer.port }, { baseKey: this.portmapBaseKey, server: mapping.report().gateway ?? '' });
    if (candidate !== undefined) {
      mapping.markAdvertised();
      this.o.signalCandidate?.(candidate);
    }
  }

  // ---- birthday --------------------------------------------------------------------------

  private runBirthday(duty: PlanDuty): void {
    const remote = this.remote!;
    if (duty === 'opener' || duty === 'both') void this.birthdayOpener(remote.budget.birthdayBudget, remote.budget.probeRatePerSecond);
    if (duty === 'prober' || duty === 'both') this.birthdayProber();
  }

  /** Hard side: k fresh sockets, each sending one opening check to the easy side's address. */
  private async birthdayOpener(remoteBudget: number, remoteRate: number | undefined): Promise<void> {
    const targets = this.remoteEndpointsAtPublicAddress();
    const attempt = this.newAttempt('birthday', 'opener', 0);
    if (targets.length === 0) return this.finishAttempt(attempt, this.refusal() ?? 'address-not-signalled');
    const release = this.agent.hold();
    this.holds.push(release);
    this.watchProbeBases(attempt);
    const rate = remoteRate ?? TRAVERSAL_DEFAULTS.birthdayRatePerSecond;
    const sockets = this.budget.birthdaySockets;
    attempt.budget = sockets * targets.length;
    for (let i = 0; i < sockets && !this.stopped(attempt); i++) {
      let endpoint: UdpEndpoint;
      try {
        endpoint = await UdpEndpoint.bind({ address: this.o.bindAddress, port: 0 });
      } catch {
        return this.finishAttempt(attempt, 'socket-limit', release);
      }
      if (this.closed) {
        await endpoint.close();
        return;
      }
      this.endpoints.push(endpoint);
      const candidate = this.agent.addProbeSocket(endpoint);
      const key = formatTransportAddress(candidate);
      this.probeBases.set(key, 'birthday');
      attempt.socketsOpened++;
      for (const target of targets) if (this.agent.sendProbe(target, key)) attempt.probesSent++;
      if (attempt.socketsOpened % TRAVERSAL_RUN_DEFAULTS.progressEvery === 0) this.progress(attempt);
      if (i % 16 === 15) await this.pause(TRAVERSAL_RUN_DEFAULTS.openerIntervalMs * 16);
    }
    this.progress(attempt);
    if (attempt.endedAtMs !== undefined) return;
    // Keep the mappings' owner listening while the easy side can still be probing.
    const proberMs = (remoteBudget / Math.max(1, rate)) * 1000;
    this.after(proberMs + TRAVERSAL_RUN_DEFAULTS.graceMs, () => this.finishAttempt(attempt, 'budget', release));
  }

  /** Easy side: random ports of the hard side's public IP, at the rate, up to the budget. */
  private birthdayProber(): void {
    const ip = this.remoteSignalledPublicIp();
    const attempt = this.newAttempt('birthday', 'prober', this.budget.birthdayBudget);
    if (ip === undefined) return this.finishAttempt(attempt, this.refusal() ?? 'address-not-signalled');
    const signalledPorts = this.agent.remoteCandidates.filter((c) => c.address === ip).map((c) => c.port);
    const ports = new RandomPortSequence(this.random, undefined, undefined, signalledPorts);
    this.sweep(attempt, ip, () => ports.next(), this.budget.probeRatePerSecond);
  }

  // ---- predict ---------------------------------------------------------------------------

  private async runPredict(duty: PlanDuty): Promise<void> {
    const window = Math.min(TRAVERSAL_DEFAULTS.maxPredictWindow, this.o.options.predict?.window ?? TRAVERSAL_DEFAULTS.predictWindow);
    const repeats = Math.max(1, this.o.options.predict?.repeats ?? TRAVERSAL_DEFAULTS.predictRepeats);
    const rate = Math.min(TRAVERSAL_DEFAULTS.maxProbeRatePerSecond, this.o.options.predict?.ratePerSecond ?? TRAVERSAL_DEFAULTS.predictRatePerSecond);
    const ip = this.remoteSignalledPublicIp();
    const attempt = this.newAttempt('predict', duty, duty === 'opener' ? repeats : window * repeats);
    if (ip === undefined) return this.finishAttempt(attempt, this.refusal() ?? 'address-not-signalled');
    const release = this.agent.hold();
    this.holds.push(release);
    let ownSocket: string | undefined;
    if (duty === 'opener' || duty === 'both') {
      // A fresh socket whose first mapping is measured now: the next one is base + δ, as long as
      // nothing else opens a mapping on this NAT in between (the base is sent at once).
      const fresh = await this.freshMappedSocket();
      if (fresh === undefined) return this.finishAttempt(attempt, 'no-base', release);
      ownSocket = fresh.key;
      attempt.socketsOpened++;
      this.watchProbeBases(attempt);
      this.o.send({ v: 1, kind: 'predict-base', round: 1, port: fresh.port, delta: this.localBehaviour?.delta ?? 1 });
    }
    if (duty === 'opener') {
      // One opening check per repeat from the fresh socket to the easy side's address: its
      // mapping is the port the other side predicts.
      const targets = this.remoteEndpointsAtPublicAddress();
      const interval = (window / Math.max(1, rate)) * 1000;
      for (let round = 0; round < repeats && !this.stopped(attempt); round++) {
        for (const target of targets) if (this.agent.sendProbe(target, ownSocket)) attempt.probesSent++;
        await this.pause(interval);
      }
      if (attempt.endedAtMs === undefined) this.after(TRAVERSAL_RUN_DEFAULTS.graceMs, () => this.finishAttempt(attempt, 'budget', release));
      return;
    }
    // Prober (or both): wait for the other side's fresh base, then sweep base+δ … base+window·δ.
    const base = await this.remoteBase(1, 2_000);
    if (base === undefined) return this.finishAttempt(attempt, this.closed ? 'session-ended' : 'no-remote-base', release);
    const ports = predictedPorts(base.port, base.delta, window);
    let index = 0;
    const total = ports.length * repeats;
    attempt.budget = total;
    this.sweep(attempt, ip, () => (index < total ? ports[index++ % ports.length] : undefined), rate, ownSocket, release);
  }

  /** Binds a probe socket and learns its mapped port from the STUN server (one transaction). */
  private async freshMappedSocket(): Promise<{ key: string; port: number } | undefined> {
    const server = this.o.stunServer;
    if (server === undefined) return undefined;
    let endpoint: UdpEndpoint;
    try {
      endpoint = await UdpEndpoint.bind({ address: this.o.bindAddress, port: 0 });
    } catch {
      return undefined;
    }
    this.endpoints.push(endpoint);
    const transactions = new StunTransactions(endpoint, { clock: this.clock });
    try {
      const result = await transactions.request(
        { class: 'request', method: StunMethod.binding, transactionId: newTransactionId(), attributes: [attr('SOFTWARE', 'nat-probe predict')] },
        server,
        { rtoMs: 100, deadlineMs: 1_000, signal: this.abort.signal },
      );
      const mapped = getAttribute(result.response, 'XOR-MAPPED-ADDRESS') ?? getAttribute(result.response, 'MAPPED-ADDRESS');
      if (mapped === undefined || this.closed) return undefined;
      const candidate = this.agent.addProbeSocket(endpoint);
      const key = formatTransportAddress(candidate);
      this.probeBases.set(key, 'predict');
      return { key, port: mapped.port };
    } catch {
      return undefined;
    } finally {
      transactions.close();
    }
  }

  private remoteBase(round: number, waitMs: number): Promise<{ port: number; delta: number } | undefined> {
    const found = (): { port: number; delta: number } | undefined => this.remoteBases.find((b) => b.round === round);
    const now = found();
    if (now !== undefined || this.closed) return Promise.resolve(now);
    return new Promise((resolve) => {
      const done = (value: { port: number; delta: number } | undefined): void => {
        this.remoteBaseWaiters.delete(check);
        this.clock.clearTimeout(timer);
        this.timers.delete(timer);
        resolve(value);
      };
      const check = (): void => {
        const value = found();
        if (value !== undefined) done(value);
      };
      const timer = this.clock.setTimeout(() => done(undefined), waitMs);
      this.timers.add(timer);
      this.remoteBaseWaiters.add(check);
      this.abort.signal.addEventListener('abort', () => done(undefined), { once: true });
    });
  }

  // ---- the probe sweep, shared by both strategies ------------------------------------------

  /**
   * Sends probes to ip:nextPort() at `rate` per second until the ports run out, the attempt is hit
   * or ICE ends; then waits the grace period and releases its hold.
   */
  private sweep(attempt: AttemptState, ip: string, nextPort: () => number | undefined, rate: number, fromKey?: string, heldRelease?: () => void): void {
    const release = heldRelease ?? this.agent.hold();
    if (heldRelease === undefined) this.holds.push(release);
    const offIncoming = this.agent.onIncomingCheck((check) => {
      // A check from a port we aimed at: the strategy opened the path.
      if (check.from.address === ip && this.probedTargets.has(formatTransportAddress(check.from))) attempt.hit = true;
      if (check.probeBase && this.probeBases.has(check.baseKey)) attempt.hit = true;
    });
    const tickMs = TRAVERSAL_RUN_DEFAULTS.tickMs;
    const perTick = Math.max(1, Math.round((rate * tickMs) / 1000));
    const interval = (perTick * 1000) / Math.max(1, rate);
    const tick = (): void => {
      if (this.stopped(attempt)) return end(attempt.hit ? 'hit' : 'ice-ended');
      for (let i = 0; i < perTick; i++) {
        if (attempt.probesSent >= attempt.budget) return end('budget');
        const port = nextPort();
        if (port === undefined) return end('budget');
        const target = { address: ip, port };
        this.probedTargets.set(formatTransportAddress(target), attempt.strategy);
        if (this.agent.sendProbe(target, fromKey)) attempt.probesSent++;
        if (attempt.probesSent % TRAVERSAL_RUN_DEFAULTS.progressEvery === 0) this.progress(attempt);
      }
      this.after(interval, tick);
    };
    const end = (reason: string): void => {
      this.progress(attempt);
      // Answers to the last probes, and the other side's triggered checks, may still be on the way.
      this.after(attempt.hit ? 0 : TRAVERSAL_RUN_DEFAULTS.graceMs, () => {
        offIncoming();
        this.finishAttempt(attempt, attempt.hit ? 'hit' : reason, release);
      });
    };
    tick();
  }

  // ---- helpers ---------------------------------------------------------------------------

  /**
   * The other side's public IP, but only when it also signalled a candidate there, and never an
   * address of this machine (safety: a sweep of one's own ports is never a traversal; two peers
   * on one host need none). Undefined refuses the strategy.
   */
  private remoteSignalledPublicIp(): string | undefined {
    return this.refusal() === undefined ? this.remote?.behaviour.publicAddress : undefined;
  }

  /** Why the other side's public IP may not be probed, or undefined when it may. */
  private refusal(): string | undefined {
    const ip = this.remote?.behaviour.publicAddress;
    if (ip === undefined) return 'no-public-address';
    if (this.ownAddresses().has(ip)) return 'own-address';
    return this.agent.remoteCandidates.some((c) => c.address === ip) ? undefined : 'address-not-signalled';
  }

  private ownAddresses(): Set<string> {
    return new Set([...(this.o.ownAddresses ?? localInterfaceAddresses())]);
  }

  /** The other side's signalled candidates at its public IP (its ICE socket's mapping, or its public host). */
  private remoteEndpointsAtPublicAddress(): TransportAddress[] {
    const ip = this.remoteSignalledPublicIp();
    if (ip === undefined) return [];
    const seen = new Set<string>();
    const out: TransportAddress[] = [];
    for (const c of this.agent.remoteCandidates) {
      if (c.address !== ip || c.type === 'relay' || c.type === 'prflx') continue;
      const key = formatTransportAddress(c);
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ address: c.address, port: c.port });
    }
    return out;
  }

  /** An authenticated check arriving on one of this strategy's probe sockets is a hit. */
  private watchProbeBases(attempt: AttemptState): void {
    this.cleanups.push(
      this.agent.onIncomingCheck((check) => {
        if (check.probeBase && this.probeBases.get(check.baseKey) === attempt.strategy) attempt.hit = true;
      }),
    );
  }

  private stopped(attempt: AttemptState): boolean {
    return this.closed || this.iceDone || attempt.hit || attempt.endedAtMs !== undefined || this.agent.state === 'connected';
  }

  private newAttempt(strategy: ExtraStrategy, duty: PlanDuty, budget: number): AttemptState {
    const attempt: AttemptState = { strategy, duty, startedAtMs: this.at(), probesSent: 0, socketsOpened: 0, budget, hit: false };
    this.attempts.push(attempt);
    return attempt;
  }

  private finishAttempt(attempt: AttemptState, reason: string, release?: () => void): void {
    release?.();
    if (attempt.endedAtMs !== undefined) return;
    attempt.endedAtMs = this.at();
    attempt.stopReason = attempt.hit ? 'hit' : reason;
    this.emit({ type: 'traversal-done', at: this.at(), trial: this.o.trial, attempt: this.attemptResult(attempt) });
    if (!this.closed && !this.iceDone && this.attempts.every((a) => a.endedAtMs !== undefined && !a.hit)) this.afterAllTried('every traversal strategy spent its budget without an answer');
  }

  private attemptResult(a: AttemptState): StrategyAttempt {
    return {
      strategy: a.strategy,
      duty: a.duty,
      startedAtMs: a.startedAtMs,
      endedAtMs: a.endedAtMs ?? this.at(),
      probesSent: a.probesSent,
      socketsOpened: a.socketsOpened,
      hit: a.hit,
      stopReason: a.stopReason ?? 'running',
    };
  }

  private progress(attempt: AttemptState): void {
    this.emit({
      type: 'traversal-progress',
      at: this.at(),
      trial: this.o.trial,
      strategy: attempt.strategy,
      probesSent: attempt.probesSent,
      budget: attempt.budget,
      socketsOpened: attempt.socketsOpened,
    });
  }

  /** Which path the selected pair came from, by this side's evidence, else the other side's. */
  private winnerOf(ice: IceResult | undefined, remoteWinner: WinningPath | undefined, relayPath: WinningPath | undefined): WinningPath {
    const selected = ice?.selectedPair;
    if (ice === undefined || ice.state !== 'connected' || selected === undefined) return 'none';
    if (selected.local.type === 'relay') return relayPath ?? 'relay-udp';
    if (selected.remote.type === 'relay') return remoteWinner !== undefined && remoteWinner.startsWith('relay-') ? remoteWinner : 'relay-udp';
    const baseKey = formatTransportAddress(baseOf(selected.local));
    const byBase = this.probeBases.get(baseKey);
    if (byBase === 'predict' || byBase === 'birthday') return byBase;
    const byTarget = this.probedTargets.get(formatTransportAddress(selected.remote));
    if (byTarget === 'predict' || byTarget === 'birthday') return byTarget;
    if (remoteWinner === 'predict' || remoteWinner === 'birthday') return remoteWinner;
    if (this.decided?.technique === 'portmap') {
      // The other side's mapped address is the remote end of the pair; or the other side saw ours.
      const offer = this.remote?.behaviour.portmap;
      if (offer?.mapped === true && selected.remote.address === offer.address && selected.remote.port === offer.port) return 'portmap';
      if (remoteWinner === 'portmap') return 'portmap';
    }
    return 'ice';
  }

  private releaseAll(): void {
    for (const release of this.holds.splice(0)) release();
  }

  private after(ms: number, action: () => void): void {
    if (this.closed) return;
    const timer = this.clock.setTimeout(() => {
      this.timers.delete(timer);
      if (!this.closed) action();
    }, ms);
    this.timers.add(timer);
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.closed) return resolve();
      const timer = this.clock.setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }

  private at(): number {
    return this.clock.now() - this.o.epochMs;
  }

  private emit(event: TraversalEvent): void {
    try {
      this.o.onEvent?.(event);
    } catch {
      // A broken listener must not break the run.
    }
  }
}
