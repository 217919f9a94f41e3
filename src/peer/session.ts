/**
 * One peer session: join a room on the signaling server, exchange ICE parameters and candidates
 * with the other peer, run the ICE agent, swap results, say bye.
 *
 *   const result = await runPeerSession({ signalUrl, room: 'lab-42', mode: 'connect', timeoutMs: 15_000 });
 *
 * Roles. The peer that joined the room first (the server's `joined` listed no other peer) is
 * controlling; the second is controlled. The server orders joins, so exactly one peer is first,
 * and the roles are known without an extra round trip. The tie-breakers in `ice-params` still
 * resolve a conflict should one arise (RFC 8445 §7.3.1.1), e.g. after a resumed session.
 *
 * Order of events (both sides):
 *   1. connect and join (the ICE sockets are bound meanwhile);
 *   2. the first peer waits for `peer-joined` (a stream message sent while alone is not delivered);
 *   3. send `ice-params`, then each local candidate as it is gathered (trickle, RFC 8838), then
 *      `end-of-candidates`; remote candidates are fed to the agent as they arrive;
 *   4. once the remote parameters are in and local gathering is done, start the checks;
 *   5. send this side's `result`, wait (bounded) for the other's, leave with `bye`.
 *
 * Relayed candidates (RFC 8445 §5.1.1.2, RFC 8656). With TURN servers in the options (or, when
 * none are given, the `turn:` entries of the signaling server's `config.iceServers`), the session
 * allocates on each, in parallel with signaling and host gathering, and adds the relayed
 * candidate to the agent when the allocation completes, before or after the checks start (they
 * never wait for TURN); it is trickled like the others. One still running when the session ends
 * is reported as 'turn-pending'. The agent then
 * checks relay↔host, relay↔srflx and relay↔relay pairs through the allocation (the TURN transport
 * creates a permission for each peer IP it sends to, RFC 8656 §9). A failed allocation is an
 * event and an entry in `relays`, not an error: the session goes on with its direct candidates.
 * `relayOnly` pairs and signals the relayed candidates only. Allocations close with the session.
 *
 * Pacing. A peer session is a two-agent diagnostic run, so the agent's Ta defaults to 5 ms (the
 * floor of RFC 8445 §14.2) instead of the 50 ms default for media sessions. Both peers are
 * nat-probe with the same default, which stands in for the Ta negotiation §14.2 asks for. Several
 * sessions in one process (trials) share §14.2's 5 ms budget and should pass a larger `taMs`.
 *
 * Errors (rejections) are NatProbeErrors with stable codes: the signaling client's
 * (`signaling-unreachable`, `room-full`, `room-token-mismatch`, …) and this module's
 * (`peer-never-came`, `peer-left`, `peer-session-timeout`, `peer-protocol-error`). A run whose
 * checks fail is not an error: it resolves with state 'failed' and the reasons per pair.
 */
import type { PeerEvent } from './events.js';
import { IceAgent, type AgentSchedulerOptions } from '../ice/agent.js';
import type { IceResult } from '../ice/agent-result.js';
import type { AddressFamily, TransportAddress } from '../ice/candidate.js';
import type { IceRole } from '../ice/pair.js';
import type { IceMode } from '../ice/scheduler.js';
import type { ConfigMessage } from '../signaling/index.js';
import { formatCandidate, IceCandidateSyntaxError, IceCandidateUnsupportedError, parseCandidate } from '../ice/sdp-candidate.js';
import { peerCheckWaitMs } from '../ice/scheduler.js';
import { MDNS_DEFAULTS, resolveMdnsName } from '../ice/mdns.js';
import { NatProbeError } from '../errors.js';
import { SignalingClient, type IncomingSignalingMessage, type PeerPayload as OutgoingSignal } from '../signaling/index.js';
import { systemClock, type Clock, type TimerHandle } from '../transport/clock.js';
import { PeerLeftError, PeerNeverCameError, PeerProtocolError, PeerSessionTimeoutError, type PeerSessionPhase } from './session-errors.js';
import { parsePeerSummary, summarizeForPeer, type PeerSummary } from './session-summary.js';
import { sessionFailureReason } from './trials-outcome.js';
import { allocateRelay, pendingRelayResult, relayLadderRungs, relayRungOf, RELAY_RUNGS, turnServersFromIceServers, type RelayRung, type PeerRelayResult, type PeerTurnServer, type RelaySource } from './relay.js';
import { parseTurnUrl, type TurnAllocation } from '../turn/index.js';
import type { RelayRungResult, TraversalOptions, TraversalReport, WinningPath } from '../traversal/types.js';
import { TRAVERSAL_RUN_DEFAULTS, TraversalRun } from '../traversal/run.js';
import { BEHAVIOUR_PROBE_TIMEOUT_MS } from '../traversal/behaviour.js';
import { parseTraversalPayload, type TraversalPayload } from '../traversal/messages.js';
import { localAddressWarnings, type PeerWarning } from './warnings.js';
import type { ConnectTime } from './trials-types.js';
import { judgePathHold, type HoldEnd, type PathHoldReport } from './path-hold.js';

export type { PeerRelayResult, PeerTurnServer } from './relay.js';

export interface PeerSessionOptions {
  /** Signaling server URL, e.g. ws://127.0.0.1:8080/. */
  signalUrl: string;
  /** Further instances of the same signaling service (sharing one Redis): reconnects try them in turn. */
  signalFallbackUrls?: readonly string[];
  room: string;
  /** Room secret; both peers must give the same one. */
  token?: string;
  /** Operator token for a signaling server that requires one (`serve --auth-secret`). */
  authToken?: string;
  /** STUN server for server-reflexive candidates. Default none (host candidates only). */
  stunServer?: TransportAddress;
  mode: IceMode;
  /** Bound on the whole session, from the call to the result (waiting for the peer included). */
  timeoutMs: number;
  /** Default the system clock. */
  clock?: Clock;
  /** ICE and session events; `at` counts from the start of this session. */
  onEvent?: (event: PeerEvent) => void;
  /** Gather only on this address. Default every usable interface. */
  bindAddress?: string;
  family?: AddressFamily;
  /** Explicit host addresses (labs, tests). */
  hostAddresses?: readonly string[];
  /** Copied into events. Default 0. */
  trial?: number;
  /** Scheduler settings. Default `{ taMs: 5 }` (see "Pacing" above); overallTimeoutMs is capped by what is left of timeoutMs. */
  scheduler?: AgentSchedulerOptions;
  /** How long to wait for the other peer's result after ours is sent. Default 2,000 ms (capped by timeoutMs). */
  resultWaitMs?: number;
  /** Bound on reaching the signaling server (each attempt). Default 5,000 ms (capped by timeoutMs). */
  connectTimeoutMs?: number;
  /** Reconnect attempts of the signaling client. Default 2. */
  signalingAttempts?: number;
  /**
   * TURN servers to allocate a relayed candidate on, one allocation each. When given, they
   * replace the signaling config's iceServers. Default: the `turn:` entries of config.iceServers.
   */
  turnServers?: readonly PeerTurnServer[];
  /** Use the `turn:` entries of the signaling server's config when turnServers is not given. Default true. */
  useSignaledIceServers?: boolean;
  /** iceTransportPolicy "relay": only relayed local candidates are signalled and paired. Default false. */
  relayOnly?: boolean;
  /** Bound on each allocation, the 401 round trip included. Default 5,000 ms (capped by timeoutMs). */
  turnTimeoutMs?: number;
  /** Strategies beyond plain ICE (src/traversal). Default none: plain ICE. */
  traversal?: TraversalOptions;
  /**
   * Resolve the other peer's mDNS host candidates (`<uuid>.local`, as browsers signal them) by a
   * Multicast DNS query on the local network (src/ice/mdns.ts, RFC 6762). Default off: it sends
   * multicast. A name that does not resolve within `timeoutMs` (default 1,000) is reported as
   * skipped. `resolve` replaces the resolver (tests).
   */
  mdns?: false | { readonly timeoutMs?: number; readonly resolve?: (name: string) => Promise<readonly string[]> };
  /**
   * After a connected verdict, keep the selected pair for `ms` with only consent freshness on it
   * and report whether that keeps a mapping of `mappingLifetimeMs` alive (src/peer/path-hold.ts).
   * Default none: the session ends with the verdict.
   */
  hold?: { readonly ms: number; readonly mappingLifetimeMs?: number };
}

export interface PeerResult extends IceResult {
  readonly room: string;
  readonly peerId: string;
  readonly remotePeerId?: string;
  /** The other peer's own result, when it arrived in time and parsed. */
  readonly remoteResult?: PeerSummary;
  /** From the call until the checks started (joined, peer present, parameters exchanged, gathered). */
  readonly signalingMs: number;
  /** From the call until the session ended (result exchanged, bye sent). */
  readonly totalMs: number;
  /**
   * Remote candidates that could not be used, with the reason: 'mdns-hostname', 'fqdn',
   * 'transport' (TCP), 'candidate-type' (src/ice/sdp-candidate.ts) or 'syntax'.
   */
  readonly skippedRemoteCandidates: readonly SkippedCandidate[];
  /**
   * Peer-to-peer signaling round trip estimated from this side's join round trip (twice it: our
   * leg to the server and the other peer's, taken as alike). Scales how long a run with no pairs
   * of its own waits for the peer's checks (src/ice/scheduler.ts peerCheckWaitMs).
   */
  readonly signalingRttMs?: number;
  /** One entry per TURN server tried, allocated or with the reason it failed; empty without TURN. */
  readonly relays: readonly PeerRelayResult[];
  /** What the traversal strategies did; present when `traversal` asked for any. */
  readonly traversal?: TraversalReport;
  /** Plain warnings about this peer's environment (e.g. only loopback to gather on); also emitted as `peer-warning`. */
  readonly warnings?: readonly PeerWarning[];
  /** Connected: the time from both peers joined to the selected pair, and what it was spent on. */
  readonly connectTime?: ConnectTime;
  /** With `hold`: what consent freshness did while the path was held, and whether it keeps the mapping alive. */
  readonly hold?: PathHoldReport;
}

export interface SkippedCandidate {
  readonly candidate: string;
  readonly reason: string;
  readonly detail: string;
}

/** Defaults, in one place for the CLI's help. */
export const PEER_SESSION_DEFAULTS = {
  taMs: 5,
  resultWaitMs: 2_000,
  connectTimeoutMs: 5_000,
  signalingAttempts: 2,
  turnTimeoutMs: 5_000,
  /** How long to wait for the `config` that follows `joined` (PROTOCOL.md) when it may carry TURN servers. */
  configWaitMs: 1_000,
} as const;

export async function runPeerSession(options: PeerSessionOptions): Promise<PeerResult> {
  const session = new PeerSession(options);
  try {
    return await session.run();
  } finally {
    await session.close();
  }
}

/** What the other peer has told us so far, and waiters for what is still to come. */
class Inbox {
  peerJoined: string | undefined;
  parameters: { ufrag: string; pwd: string; from: string } | undefined;
  result: unknown;
  resultArrived = false;
  left: string | undefined;
  config: ConfigMessage | undefined;
  /** `traversal` payloads that arrived before this side's traversal run existed. */
  readonly traversal: TraversalPayload[] = [];
  private readonly waiters = new Set<() => void>();

  /** Resolves when `ready()` holds (checked after every message). */
  until(ready: () => boolean): Promise<void> {
    if (ready()) return Promise.resolve();
    return new Promise((resolve) => {
      const check = (): void => {
        if (!ready()) return;
        this.waiters.delete(check);
        resolve();
      };
      this.waiters.add(check);
    });
  }

  changed(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

class PeerSession {
  private readonly clock: Clock;
  private readonly startedAt: number;
  private readonly deadlineAt: number;
  private readonly trial: number;
  private readonly inbox = new Inbox();
  private readonly client: SignalingClient;
  private agent: IceAgent | undefined;
  private agentCreation: Promise<IceAgent> | undefined;
  private phaseName: PeerSessionPhase = 'signaling';
  private fatal: NatProbeError | undefined;
  private readonly skipped: SkippedCandidate[] = [];
  private signalingRttMs: number | undefined;
  private warnings: PeerWarning[] = [];
  private peerId = '';
  private role: IceRole = 'controlling';
  private closed = false;
  private readonly relayResults: PeerRelayResult[] = [];
  private readonly allocations: TurnAllocation[] = [];
  /** Aborts allocations still running when the session closes. */
  private readonly relayAbort = new AbortController();
  /** Set just before gather(): relayed candidates added later are trickled by the session itself. */
  private trickling = false;
  /** Strategies beyond ICE, when the options ask for any (src/traversal). */
  private traversal: TraversalRun | undefined;
  /** Traversal payloads waiting for the other peer to be in the room. */
  private readonly traversalOutbox: TraversalPayload[] = [];
  private peerPresent = false;
  /** Every stream message this session sent, in order: sent again into a new signaling session after a reset. */
  private readonly signaled: OutgoingSignal[] = [];
  /** After a reset, until the other peer is back in the room: new messages only go to `signaled`. */
  private replayAfterReset = false;
  /** Allocations under way: reported as 'turn-pending' if the session ends first. */
  private readonly pendingRelays = new Set<{ readonly server: PeerTurnServer; readonly source: RelaySource; readonly startedAt: number }>();
  /** Every TURN allocation of this session has ended (allocated or failed). */
  private relaysSettled = false;
  /** The relay ladder's rungs from their start (only with the relay-ladder strategy). */
  private readonly ladderRungs: RelayRungResult[] = [];
  private checksStartedAtMs: number | undefined;
  /** When this session knew both peers were in the room, and when the other's parameters arrived (ms since start). */
  private peerJoinedAtMs: number | undefined;
  private parametersAtMs: number | undefined;

  constructor(private readonly options: PeerSessionOptions) {
    this.clock = options.clock ?? systemClock;
    this.startedAt = this.clock.now();
    this.deadlineAt = this.startedAt + options.timeoutMs;
    this.trial = options.trial ?? 0;
    this.client = new SignalingClient({
      url: options.signalUrl,
      ...(options.signalFallbackUrls !== undefined && options.signalFallbackUrls.length > 0 ? { fallbackUrls: options.signalFallbackUrls } : {}),
      room: options.room,
      ...(options.token !== undefined ? { token: options.token } : {}),
      ...(options.authToken !== undefined ? { authToken: options.authToken } : {}),
      clock: this.clock,
      connectTimeoutMs: Math.max(1, Math.min(options.connectTimeoutMs ?? PEER_SESSION_DEFAULTS.connectTimeoutMs, options.timeoutMs)),
      // With fallbacks, enough attempts to reach each other instance after the first one died.
      reconnect: { maxAttempts: Math.max(options.signalingAttempts ?? PEER_SESSION_DEFAULTS.signalingAttempts, (options.signalFallbackUrls?.length ?? 0) + 2) },
      // A server that lost the session (Redis restarted empty: `resume-failed`, PROTOCOL.md) does
      // not end the run: the client joins afresh and this session signals again (onSignalingReset).
      restartOnSessionLost: true,
    });
    this.client.on('reset', ({ reason }) => this.onSignalingReset(reason));
    this.client.on('joined', (join) => {
      if (!this.replayAfterReset) return;
      this.peerId = join.peerId;
      if (join.peers.length > 0) this.replaySignaling(join.peers[0]!);
    });
    this.client.on('message', (message) => this.onMessage(message));
    this.client.on('config', (config) => {
      this.inbox.config = config;
      this.inbox.changed();
      this.flushTraversal();
    });
    this.client.on('close', ({ error }) => {
      if (error !== undefined) this.fatal ??= error;
      this.inbox.changed();
    });
  }

  async run(): Promise<PeerResult> {
    const o = this.options;
    // Said before anything else: a peer with only loopback fails every off-host check, and the
    // reason would otherwise show only as failed pairs (issue 13: a lab peer gathered 127.0.0.1).
    this.warnings = localAddressWarnings({
      ...(o.bindAddress !== undefined ? { bindAddress: o.bindAddress } : {}),
      ...(o.hostAddresses !== undefined ? { hostAddresses: o.hostAddresses } : {}),
      ...(o.family !== undefined ? { family: o.family } : {}),
    });
    for (const warning of this.warnings) this.emit({ type: 'peer-warning', at: this.clock.now() - this.startedAt, trial: this.trial, ...warning });
    this.emitPhase('signaling');
    // The sockets are bound while the WebSocket connects; the role is set once joined.
    this.agentCreation = IceAgent.create({
      role: 'controlling',
      mode: o.mode,
      ...(o.stunServer !== undefined ? { stunServer: o.stunServer } : {}),
      ...(o.bindAddress !== undefined ? { bindAddress: o.bindAddress } : {}),
      ...(o.family !== undefined ? { family: o.family } : {}),
      ...(o.hostAddresses !== undefined ? { hostAddresses: o.hostAddresses } : {}),
      clock: this.clock,
      trial: this.trial,
      epochMs: this.startedAt,
      scheduler: { taMs: PEER_SESSION_DEFAULTS.taMs, ...o.scheduler },
      ...(o.relayOnly === true ? { iceTransportPolicy: 'relay' as const } : {}),
      onEvent: (event) => {
        // A hold (--hold) waits on the inbox; consent expiring must end that wait at once.
        if (event.type === 'ice-state' && event.state === 'consent-lost') this.inbox.changed();
        this.emit(event);
      },
    });
    this.agentCreation
      .then((agent) => {
        this.agent = agent;
        // The behaviour probe runs while signaling connects and the peer comes (its result waits
        // for the peer: a stream message sent while alone is not delivered).
        this.startTraversal(agent);
      })
      .catch(() => undefined);
    // Servers from the options are known now: allocate while the WebSocket connects.
    let relays: Promise<void> | undefined = o.turnServers !== undefined ? this.gatherRelays(o.turnServers, 'options') : undefined;

    const join = await this.bounded('signaling', this.client.connect());
    this.peerId = join.peerId;
    this.role = join.peers.length === 0 ? 'controlling' : 'controlled';
    if (join.rttMs !== undefined) this.signalingRttMs = 2 * join.rttMs;
    const agent = await this.bounded('signaling', this.agentCreation);
    agent.setRole(this.role);
    this.emitPhase('joined');
    relays ??= this.signaledRelays();
    void relays.finally(() => {
      this.relaysSettled = true;
    });

    if (join.peers.length === 0) {
      this.phaseName = 'waiting-for-peer';
      await this.waitFor('waiting-for-peer', () => this.inbox.peerJoined !== undefined);
    } else {
      this.inbox.peerJoined ??= join.peers[0];
    }
    this.peerJoinedAtMs = this.clock.now() - this.startedAt;
    this.emitPhase('peer-joined');
    this.peerPresent = true;
    this.flushTraversal();

    const params = agent.localParameters;
    this.signal({ type: 'ice-params', ufrag: params.ufrag, pwd: params.pwd, tieBreaker: params.tieBreaker.toString() });
    // Relayed candidates added before this are reported by gather(); later ones are sent on arrival.
    this.trickling = true;
    const localGathering = agent.gather((candidate) => this.sendCandidate(candidate));
    // end-of-candidates once every candidate, relayed ones included, has been sent.
    void Promise.all([localGathering, relays]).then(() => {
      if (!this.closed) this.signal({ type: 'end-of-candidates' });
    });
    // The direct checks never wait for TURN: they start once host and server-reflexive candidates
    // are in, and each relayed candidate joins the running checks when its allocation completes
    // (trickled on both sides, RFC 8838, local candidates as remote ones). The hold keeps the
    // checks from failing while allocations are still running (with relayOnly, the relayed
    // candidates are the only ones, so the checks start with no pair and wait under the hold).
    // --turn-timeout thus bounds only how long the session keeps waiting for an allocation.
    const gathered: Promise<unknown> = localGathering;
    const release = agent.hold();
    void relays.finally(release);

    await this.waitFor('exchanging-parameters', () => this.inbox.parameters !== undefined);
    this.parametersAtMs = this.clock.now() - this.startedAt;
    try {
      agent.setRemoteParameters(this.inbox.parameters!);
    } catch (error) {
      throw new PeerProtocolError('its ICE parameters are invalid', { cause: error });
    }
    await this.bounded('gathering', gathered);

    const signalingMs = this.clock.now() - this.startedAt;
    this.checksStartedAtMs = signalingMs;
    this.phaseName = 'checking';
    this.emitPhase('checking');
    // The agent's own bound ends the checks in time to swap results before ours.
    const resultWaitMs = o.resultWaitMs ?? PEER_SESSION_DEFAULTS.resultWaitMs;
    const left = this.deadlineAt - this.clock.now();
    const overall = Math.max(1, Math.min(o.scheduler?.overallTimeoutMs ?? Number.POSITIVE_INFINITY, left - Math.min(resultWaitMs, left / 4)));
    agent.start({ overallTimeoutMs: overall, peerCheckWaitMs: o.scheduler?.peerCheckWaitMs ?? peerCheckWaitMs(this.signalingRttMs) });
    const ice = await this.bounded('checking', agent.done, overall + 1_000);

    if (this.traversal !== undefined) {
      // ICE may have connected before the behaviour exchange ended; the report names the plan.
      await this.race(this.traversal.planned(), Math.max(0, Math.min(TRAVERSAL_RUN_DEFAULTS.remoteBehaviourWaitMs + BEHAVIOUR_PROBE_TIMEOUT_MS, this.deadlineAt - this.clock.now() - resultWaitMs / 2)), () => undefined);
    }
    const localWinner = this.traversal?.report(ice, this.relayPathOf(ice)).winner;
    this.signal({ type: 'result', result: summarizeForPeer(ice, localWinner) as unknown as Record<string, unknown> });
    this.emitPhase('result-sent');
    this.phaseName = 'exchanging-results';
    const remoteResult = await this.remoteResult(resultWaitMs);
    if (remoteResult !== undefined) this.emitPhase('remote-result');
    const hold = o.hold !== undefined && o.hold.ms > 0 && ice.state === 'connected' ? await this.holdPath(agent, o.hold) : undefined;

    // Both sides are done with the path (after --hold, if any; renewals kept the mapping alive
    // meanwhile): a portmap mapping is deleted now, so the report can say so.
    await this.traversal?.releaseGateway();
    const totalMs = this.clock.now() - this.startedAt;
    const result: PeerResult = {
      ...ice,
      room: o.room,
      peerId: this.peerId,
      ...(this.inbox.peerJoined !== undefined ? { remotePeerId: this.inbox.peerJoined } : {}),
      ...(remoteResult !== undefined ? { remoteResult } : {}),
      signalingMs,
      totalMs,
      skippedRemoteCandidates: [...this.skipped],
      ...(this.signalingRttMs !== undefined ? { signalingRttMs: this.signalingRttMs } : {}),
      relays: [...this.relayResults, ...[...this.pendingRelays].map((p) => pendingRelayResult(p.server, p.source, this.clock.now() - p.startedAt))],
      ...(this.warnings.length > 0 ? { warnings: [...this.warnings] } : {}),
      ...(hold !== undefined ? { hold } : {}),
      // The checks never wait for TURN any more (relayed candidates join them), so no TURN wait is in the figure.
      ...(ice.state === 'connected' ? { connectTime: this.connectTime(ice.timeToConnectMs, signalingMs, false) } : {}),
      ...(this.traversal !== undefined
        ? {
            traversal: this.traversal.report(ice, {
              ...(remoteResult?.traversalWinner !== undefined ? { remoteWinner: remoteResult.traversalWinner } : {}),
              ...this.relayPathOf(ice),
            }),
          }
        : {}),
    };
    this.emitDone(result);
    return result;
  }

  /**
   * `--hold`: keeps the selected pair with only consent freshness on it (the agent runs it after
   * nomination, RFC 7675) until the hold's time is up, the other peer leaves, consent expires or
   * signaling fails, then judges whether that traffic keeps the mapping alive (path-hold.ts).
   * The session's timeout bounds the way to the verdict, not the hold, which has its own length.
   */
  private async holdPath(agent: IceAgent, hold: NonNullable<PeerSessionOptions['hold']>): Promise<PathHoldReport> {
    this.emitPhase('holding');
    const startedAt = this.clock.now();
    const ended = (): HoldEnd | undefined =>
      agent.consentLost ? 'consent-lost' : this.inbox.left !== undefined ? 'peer-left' : this.fatal !== undefined ? 'signaling-lost' : undefined;
    const endedBy = await this.race(this.inbox.until(() => ended() !== undefined).then(() => ended() ?? 'time'), hold.ms, (): HoldEnd => 'time');
    const report = judgePathHold({
      askedMs: hold.ms,
      heldMs: this.clock.now() - startedAt,
      endedBy,
      stats: agent.consentStats(),
      ...(hold.mappingLifetimeMs !== undefined ? { mappingLifetimeMs: hold.mappingLifetimeMs } : {}),
    });
    this.emit({ type: 'peer-hold', at: this.clock.now() - this.startedAt, trial: this.trial, ...report });
    return report;
  }

  /**
   * Sends the traversal payloads once the other peer is in the room and the server has said it
   * relays them (config.features, PROTOCOL.md): an older server would refuse the message, and the
   * refused seq would stall the stream. Without the feature, nothing is sent and both sides go on
   * with plain ICE.
   */
  private flushTraversal(): void {
    if (this.closed || !this.peerPresent || this.inbox.config === undefined) return;
    if (!(this.inbox.config.features ?? []).includes('traversal')) {
      this.traversalOutbox.splice(0);
      return;
    }
    for (const payload of this.traversalOutbox.splice(0)) {
      // Stamped when it leaves, not when the probe ended: the signaled TURN servers are known now.
      const sent = payload.kind === 'behaviour' && this.relaysMayJoin() ? { ...payload, relays: true } : payload;
      this.signal({ type: 'traversal', traversal: sent as unknown as Record<string, unknown> });
    }
  }

  /**
   * Whether relayed candidates may still join this side's checks: TURN servers are configured
   * (in the options, or in the signaling config when it is used) and their allocations have not
   * all settled. Before the config arrives the answer is yes, to be safe.
   */
  private relaysMayJoin(): boolean {
    if (this.relaysSettled) return false;
    if ((this.options.turnServers?.length ?? 0) > 0) return true;
    if (this.options.useSignaledIceServers === false) return false;
    return this.inbox.config === undefined || turnServersFromIceServers(this.inbox.config.iceServers).length > 0;
  }

  private get ladder(): boolean {
    return this.options.traversal?.strategies.includes('relay-ladder') === true;
  }

  /** Starts the strategies (their behaviour probe first) as soon as the agent's sockets exist. */
  private startTraversal(agent: IceAgent): void {
    const traversal = this.options.traversal;
    if (traversal === undefined || traversal.strategies.length === 0) return;
    const stun = this.options.stunServer;
    const base = stun !== undefined ? agent.primaryBaseFor(stun) : undefined;
    this.traversal = new TraversalRun({
      agent,
      options: traversal,
      send: (payload) => {
        this.traversalOutbox.push(payload);
        this.flushTraversal();
      },
      ...(stun !== undefined && base !== undefined ? { stunServer: stun } : {}),
      bindAddress: base?.candidate.address ?? this.options.bindAddress ?? '0.0.0.0',
      clock: this.clock,
      epochMs: this.startedAt,
      trial: this.trial,
      onEvent: (event) => this.emit(event),
      relaysMayJoin: () => this.relaysMayJoin(),
      // portmap's mapped address is trickled like every other candidate (RFC 8838).
      signalCandidate: (candidate) => this.sendCandidate(candidate),
    });
    this.traversal.start();
    for (const payload of this.inbox.traversal.splice(0)) this.traversal.onPayload(payload);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.relayAbort.abort();
    await this.traversal?.close();
    const agent = this.agent ?? (await this.agentCreation?.catch(() => undefined));
    // The agent first: it stops sending through the allocations before they are freed.
    await Promise.all([agent?.close(), this.client.close().catch(() => undefined)]);
    await Promise.all(this.allocations.splice(0).map((allocation) => allocation.close().catch(() => undefined)));
    this.emitPhase('closed');
  }

  // ---- relayed candidates ----------------------------------------------------------------

  /** After joining: the TURN servers in the signaling config, unless turned off. Never rejects. */
  private async signaledRelays(): Promise<void> {
    if (this.options.useSignaledIceServers === false) return;
    // `config` follows `joined` on the same connection; wait for it briefly, it may lag a frame.
    const bound = Math.min(PEER_SESSION_DEFAULTS.configWaitMs, Math.max(0, this.deadlineAt - this.clock.now()));
    await this.race(this.inbox.until(() => this.inbox.config !== undefined || this.closed), bound, () => undefined);
    const servers = turnServersFromIceServers(this.inbox.config?.iceServers);
    if (servers.length > 0) await this.gatherRelays(servers, 'signaling');
  }

  /**
   * One allocation per server, in parallel; each success becomes a relayed candidate. Never
   * rejects. With the relay ladder the servers are first expanded into its rungs (UDP, TCP, TLS;
   * peer/relay.ts), all allocated at once beside the direct checks: a rung that waited for the one
   * before it to fail would add that rung's whole timeout, and ICE's priorities already prefer
   * the lower rungs (src/ice/gather.ts).
   */
  private async gatherRelays(configured: readonly PeerTurnServer[], source: RelaySource): Promise<void> {
    const servers = this.ladder ? relayLadderRungs(configured) : configured;
    const left = Math.max(1, this.deadlineAt - this.clock.now());
    const timeoutMs = Math.min(this.options.turnTimeoutMs ?? PEER_SESSION_DEFAULTS.turnTimeoutMs, left);
    await Promise.all(
      servers.map(async (server) => {
        // A rung is in the ladder from its start: one still allocating when the session ends is
        // reported as such, not left out.
        const rung: { -readonly [K in keyof RelayRungResult]: RelayRungResult[K] } | undefined = this.ladder
          ? { rung: rungOfUrl(server.url), startedAtMs: this.clock.now() - this.startedAt, ok: false, detail: `${server.url.split('?')[0]}: still allocating when the session ended` }
          : undefined;
        if (rung !== undefined) this.ladderRungs.push(rung);
        const pending = { server, source, startedAt: this.clock.now() };
        this.pendingRelays.add(pending);
        const { result, allocation } = await allocateRelay(server, source, {
          clock: this.clock,
          timeoutMs,
          signal: this.relayAbort.signal,
          ...(this.options.bindAddress !== undefined ? { bindAddress: this.options.bindAddress } : {}),
        }).finally(() => this.pendingRelays.delete(pending));
        if (rung !== undefined) {
          rung.rung = relayRungOf(result);
          rung.endedAtMs = this.clock.now() - this.startedAt;
          rung.ok = allocation !== undefined;
          rung.detail = result.error !== undefined ? `${result.server}: ${result.error.code}` : `${result.server} relayed ${result.relayed ?? '?'}`;
        }
        if (allocation !== undefined) await this.useAllocation(allocation, result);
        else this.recordRelay(result);
      }),
    );
  }

  private async useAllocation(allocation: TurnAllocation, result: PeerRelayResult): Promise<void> {
    this.allocations.push(allocation);
    if (this.closed) {
      // Allocated after the session ended: free it now rather than leak it until it expires.
      this.allocations.splice(this.allocations.indexOf(allocation), 1);
      await allocation.close().catch(() => undefined);
      return;
    }
    try {
      const agent = await this.agentCreation!;
      const candidate = agent.addRelayedCandidate(allocation, allocation.transport);
      this.recordRelay(result);
      if (this.trickling) this.sendCandidate(candidate);
    } catch (error) {
      // No agent (its sockets failed: the session reports that), or the agent was closed.
      this.recordRelay({ ...result, error: { code: 'turn-not-used', message: `The allocation on ${result.server} could not be added to ICE: ${(error as Error).message}` } });
    }
  }

  /**
   * The relay ladder's view of the result: each rung with its times, the direct rung first, and
   * the rung of the selected pair when it is relayed on this side.
   */
  private relayPathOf(ice: IceResult): { relayPath?: WinningPath; ladder?: RelayRungResult[] } {
    if (!this.ladder) return {};
    const selected = ice.selectedPair;
    const direct: RelayRungResult = {
      rung: 'direct',
      startedAtMs: this.checksStartedAtMs ?? 0,
      ...(ice.state === 'connected' ? { endedAtMs: (this.checksStartedAtMs ?? 0) + ice.timeToConnectMs } : {}),
      ok: ice.state === 'connected' && selected !== undefined && selected.local.type !== 'relay' && selected.remote.type !== 'relay',
    };
    const ladder = [direct, ...[...this.ladderRungs].sort((a, b) => RELAY_RUNGS.indexOf(a.rung as RelayRung) - RELAY_RUNGS.indexOf(b.rung as RelayRung))];
    if (selected?.local.type !== 'relay') return { ladder };
    const relayed = `${selected.local.address}:${selected.local.port}`;
    const result = this.relayResults.find((r) => r.relayed === relayed || r.relayed === `[${selected.local.address}]:${selected.local.port}`);
    return { ladder, ...(result !== undefined ? { relayPath: relayRungOf(result) } : {}) };
  }

  /** Sends a stream message to the other peer, and keeps it for a replay after a signaling reset. */
  private signal(message: OutgoingSignal): void {
    this.signaled.push(message);
    if (!this.replayAfterReset) this.client.send(message);
  }

  /**
   * The signaling server lost this session (PROTOCOL.md "After resume-failed"): the client has
   * joined the room afresh, and the other peer, whose session was lost with ours, does the same.
   * Neither has what the other sent before, so once it is back in the room this side sends all
   * of it again, in order (sent while alone, it would be refused with no-peer). Receiving it
   * twice is harmless: ICE parameters are taken once, the agent ignores known candidates, and
   * the traversal run takes the first behaviour. The ICE role stays as decided at the first join.
   */
  private onSignalingReset(reason: string): void {
    if (this.closed) return;
    this.replayAfterReset = true;
    const warning: PeerWarning = {
      code: 'signaling-reset',
      message: `The signaling server lost this session (${reason}: e.g. its Redis restarted without its data); joined the room again and re-sending this side's signaling.`,
    };
    this.warnings.push(warning);
    this.emit({ type: 'peer-warning', at: this.clock.now() - this.startedAt, trial: this.trial, ...warning });
    this.inbox.changed();
  }

  private replaySignaling(otherPeer: string): void {
    if (!this.replayAfterReset || this.closed) return;
    this.replayAfterReset = false;
    if (this.inbox.peerJoined !== undefined) this.inbox.peerJoined = otherPeer;
    for (const message of this.signaled) this.client.send(message);
  }

  private sendCandidate(candidate: Parameters<typeof formatCandidate>[0]): void {
    if (!this.closed) this.signal({ type: 'candidate', candidate: formatCandidate(candidate) });
  }

  private recordRelay(result: PeerRelayResult): void {
    this.relayResults.push(result);
    this.emit({
      type: 'peer-relay',
      at: this.clock.now() - this.startedAt,
      trial: this.trial,
      server: result.server,
      source: result.source,
      state: result.error === undefined ? 'allocated' : 'failed',
      ...(result.relayed !== undefined ? { relayed: result.relayed } : {}),
      ...(result.mapped !== undefined ? { mapped: result.mapped } : {}),
      ...(result.allocateMs !== undefined ? { allocateMs: result.allocateMs } : {}),
      ...(result.error !== undefined ? { errorCode: result.error.code, message: result.error.message } : {}),
    });
  }

  // ---- incoming messages -----------------------------------------------------------------

  private onMessage(message: IncomingSignalingMessage): void {
    switch (message.type) {
      case 'peer-joined':
        this.inbox.peerJoined ??= message.peerId;
        this.replaySignaling(message.peerId);
        break;
      case 'peer-left':
        this.inbox.left = message.reason;
        break;
      case 'ice-params':
        this.inbox.parameters ??= { ufrag: message.ufrag, pwd: message.pwd, from: message.from };
        break;
      case 'candidate':
        this.onRemoteCandidate(message.candidate);
        break;
      case 'end-of-candidates':
        this.withAgent((agent) => agent.endOfRemoteCandidates());
        break;
      case 'result':
        this.inbox.result = message.result;
        this.inbox.resultArrived = true;
        break;
      case 'traversal': {
        // A payload this version does not understand is ignored: ICE goes on without a plan.
        const payload = parseTraversalPayload(message.traversal);
        if (payload === undefined) break;
        if (this.traversal !== undefined) this.traversal.onPayload(payload);
        else this.inbox.traversal.push(payload);
        break;
      }
    }
    this.inbox.changed();
  }

  private onRemoteCandidate(line: string): void {
    try {
      const candidate = parseCandidate(line);
      this.withAgent((agent) => agent.addRemoteCandidate(candidate));
    } catch (error) {
      if (error instanceof IceCandidateUnsupportedError && error.reason === 'mdns-hostname' && this.options.mdns) {
        this.resolveMdnsCandidate(line, error);
        return;
      }
      this.skip(line, error);
    }
  }

  /**
   * A `.local` host candidate, resolved by Multicast DNS (src/ice/mdns.ts): the candidate with the
   * name's address joins the checks (trickled, RFC 8838); the checks may not end as failed while
   * the query runs. Unresolved, it is skipped like any other unusable candidate.
   */
  private resolveMdnsCandidate(line: string, error: IceCandidateUnsupportedError): void {
    const settings = this.options.mdns || {};
    const fields = line.replace(/^a=/, '').split(/\s+/);
    const name = fields[4] ?? '';
    const timeoutMs = settings.timeoutMs ?? MDNS_DEFAULTS.timeoutMs;
    const resolve = settings.resolve ?? ((n: string) => resolveMdnsName(n, { timeoutMs, clock: this.clock }));
    let release: (() => void) | undefined;
    let resolved = false;
    this.withAgent((agent) => {
      if (!resolved) release = agent.hold();
    });
    void resolve(name)
      .catch(() => [] as readonly string[])
      .then((addresses) => {
        const address = addresses[0];
        if (address === undefined || this.closed) {
          this.skip(line, error, `${error.message} Multicast DNS found no address for it within ${timeoutMs} ms.`);
          return;
        }
        const resolved = [...fields];
        resolved[4] = address;
        try {
          const candidate = parseCandidate(resolved.join(' '));
          this.withAgent((agent) => agent.addRemoteCandidate(candidate));
        } catch (parseError) {
          this.skip(line, parseError);
        }
      })
      .finally(() => {
        resolved = true;
        release?.();
      });
  }

  /**
   * An mDNS name or a TCP candidate cannot be checked; the rest of the run goes on, and the peer
   * may still reach this side through its checks (a peer-reflexive candidate, §7.3.1.3).
   */
  private skip(line: string, error: unknown, detail?: string): void {
    const skipped: SkippedCandidate = {
      candidate: line,
      reason: error instanceof IceCandidateUnsupportedError ? error.reason : error instanceof IceCandidateSyntaxError ? 'syntax' : error instanceof NatProbeError ? error.code : 'syntax',
      detail: detail ?? (error instanceof Error ? error.message : String(error)),
    };
    this.skipped.push(skipped);
    this.emit({ type: 'peer-candidate-skipped', at: this.clock.now() - this.startedAt, trial: this.trial, ...skipped });
  }

  /** Runs `action` on the agent now, or once it exists (candidates can arrive while sockets are still being bound). */
  private withAgent(action: (agent: IceAgent) => void): void {
    if (this.agent !== undefined) action(this.agent);
    else void this.agentCreation?.then(action, () => undefined);
  }

  // ---- waiting, bounded ------------------------------------------------------------------

  /** Waits for the inbox condition; the peer leaving, a fatal signaling error or the deadline end the wait. */
  private async waitFor(phase: PeerSessionPhase, ready: () => boolean): Promise<void> {
    this.phaseName = phase;
    await this.bounded(
      phase,
      this.inbox.until(() => ready() || this.inbox.left !== undefined || this.fatal !== undefined),
    );
    if (ready()) return;
    if (this.fatal !== undefined) throw this.fatal;
    throw new PeerLeftError(this.options.room, this.inbox.left ?? 'unknown');
  }

  private async remoteResult(waitMs: number): Promise<PeerSummary | undefined> {
    const arrived = this.inbox.until(() => this.inbox.resultArrived || this.inbox.left !== undefined || this.fatal !== undefined);
    const bound = Math.max(0, Math.min(waitMs, this.deadlineAt - this.clock.now()));
    await this.race(arrived, bound, () => undefined);
    return this.inbox.resultArrived ? parsePeerSummary(this.inbox.result) : undefined;
  }

  /** `promise`, or a timeout error for `phase` when the session deadline (or `boundMs`) comes first. */
  private bounded<T>(phase: PeerSessionPhase, promise: Promise<T>, boundMs?: number): Promise<T> {
    this.phaseName = phase;
    const left = Math.max(0, this.deadlineAt - this.clock.now());
    return this.race(promise, Math.min(left, boundMs ?? left), () => {
      throw phase === 'waiting-for-peer'
        ? new PeerNeverCameError(this.options.room, this.clock.now() - this.startedAt)
        : new PeerSessionTimeoutError(phase, this.options.timeoutMs);
    });
  }

  private race<T, U>(promise: Promise<T>, boundMs: number, onTimeout: () => U): Promise<T | U> {
    return new Promise<T | U>((resolve, reject) => {
      let timer: TimerHandle | undefined = this.clock.setTimeout(() => {
        timer = undefined;
        try {
          resolve(onTimeout());
        } catch (error) {
          reject(error);
        }
      }, boundMs);
      promise.then(
        (value) => {
          if (timer !== undefined) this.clock.clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          if (timer !== undefined) this.clock.clearTimeout(timer);
          reject(error);
        },
      );
    });
  }

  // ---- events ----------------------------------------------------------------------------

  /** ConnectTime (trials-types.ts): the phases between the other peer's arrival and the selected pair. */
  private connectTime(checksMs: number, checksStartedAtMs: number, waitedForRelays: boolean): ConnectTime {
    const joined = this.peerJoinedAtMs ?? checksStartedAtMs;
    const parameters = Math.max(joined, this.parametersAtMs ?? joined);
    const parametersMs = parameters - joined;
    const gatheringMs = Math.max(0, checksStartedAtMs - parameters);
    return { sincePeerJoinedMs: parametersMs + gatheringMs + checksMs, parametersMs, gatheringMs, checksMs, waitedForRelays };
  }

  private emitPhase(phase: Extract<PeerEvent, { type: 'peer-phase' }>['phase']): void {
    this.emit({
      type: 'peer-phase',
      at: this.clock.now() - this.startedAt,
      trial: this.trial,
      phase,
      room: this.options.room,
      ...(this.peerId !== '' ? { peerId: this.peerId, role: this.role } : {}),
    });
  }

  private emitDone(ice: PeerResult): void {
    // The trials' wording of a failure (one vocabulary for events, reports and the dashboard).
    const failure = sessionFailureReason({ ok: true, result: ice });
    this.emit({
      type: 'peer-done',
      at: this.clock.now() - this.startedAt,
      trial: this.trial,
      connected: ice.state === 'connected',
      ...(ice.state === 'connected' ? { timeToConnectMs: ice.timeToConnectMs } : {}),
      ...(ice.selectedPair !== undefined ? { selectedPairType: `${ice.selectedPair.local.type}/${ice.selectedPair.remote.type}` } : {}),
      ...(failure !== undefined ? { failureReason: failure } : {}),
    });
  }

  private emit(event: PeerEvent): void {
    try {
      this.options.onEvent?.(event);
    } catch {
      // A broken listener must not break the session.
    }
  }
}

/** The ladder rung a TURN URL stands for, before its allocation says (a URL that does not parse: UDP, where its error is reported). */
function rungOfUrl(url: string): RelayRung {
  try {
    return relayRungOf(parseTurnUrl(url));
  } catch {
    return 'relay-udp';
  }
}
