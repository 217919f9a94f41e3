import { setMaxListeners } from 'node:events';
import type { DetectEvent } from './events.js';
import {
  attr,
  getAttribute,
  newTransactionId,
  sameIp,
  StunMethod,
  transactionKey,
  type DecodedStunMessage,
  type StunMessage,
  type TransportAddress,
} from '../stun/index.js';
import {
  RttEstimator,
  StunTransactions,
  SystemClock,
  TransactionCancelledError,
  TransactionTimeoutError,
  UdpEndpoint,
  formatAddress,
  type Clock,
  type ReceivedDatagram,
  type TimerHandle,
} from '../transport/index.js';
import { classify } from './classify.js';
import { interpret, type Interpretation } from './interpret.js';
import { localInterfaceAddresses } from './local-addresses.js';
import type { ResolvedServer } from './servers.js';
import type { NatVerdict, ProbeObservation, ProbeOutcome, ProbeSection, ProbeTest, ServerReport } from './types.js';

export interface DetectOptions {
  /** Servers to probe, all of one address family. */
  servers: readonly ResolvedServer[];
  /** Local sockets that each probe every server address (mapping and port allocation). Default 3. */
  mappingSockets?: number;
  /** Fresh sockets per filtering test (RFC 5780 §4.4 tests II and III). Default 2. */
  filteringSocketsPerTest?: number;
  /** Test hairpinning (RFC 5780 §4.5). Off by default: some firewalls flag it as an attack. */
  hairpin?: boolean;
  /** Overall cap on the run. Default 5000 ms. */
  timeoutMs?: number;
  /** First retransmission timeout before any RTT is known. Default 200 ms. */
  discoveryRtoMs?: number;
  /** Floor for RTT-derived retransmission timeouts. Default 10 ms. */
  minRtoMs?: number;
  /**
   * Sends per probe once the RTT is known: at 0, R, 3R, 7R…, then a final wait of 8R, so a
   * "no answer" is decided after about 15 RTOs. Four sends make a loss-induced wrong verdict
   * need four consecutive losses. Default 4.
   */
  attempts?: number;
  /** How long other servers may stay silent after the first answer. Default max(500 ms, 10 RTT). */
  stragglerGraceMs?: number;
  /** Local address to bind. Default 0.0.0.0 (or :: for IPv6). */
  bindAddress?: string;
  /** This host's addresses, for the no-NAT test. Default: the interfaces' addresses. */
  localAddresses?: readonly string[];
  clock?: Clock;
  onEvent?: (event: DetectEvent) => void;
  signal?: AbortSignal;
}

export interface DetectResult {
  family: 4 | 6;
  verdict: NatVerdict;
  interpretation: Interpretation;
  servers: ServerReport[];
  observations: ProbeObservation[];
  durationMs: number;
  /** Requests sent, including retransmissions. */
  packetsSent: number;
}

interface ProbeSocket {
  section: ProbeSection;
  index: number;
  endpoint: UdpEndpoint;
  transactions: StunTransactions;
}

interface ServerState {
  resolved: ResolvedServer;
  report: ServerReport;
  behaviourStarted: boolean;
}

/** Runs RFC 5780 behaviour discovery against the given servers and classifies the result. */
export async function detectNat(options: DetectOptions): Promise<DetectResult> {
  const run = new DetectRun(options);
  try {
    return await run.execute();
  } finally {
    await run.close();
  }
}

class DetectRun {
  private readonly clock: Clock;
  private readonly family: 4 | 6;
  private readonly rtt: RttEstimator;
  private readonly sockets: ProbeSocket[] = [];
  private readonly observations: ProbeObservation[] = [];
  private readonly pending = new Set<Promise<void>>();
  private readonly servers: ServerState[];
  private readonly deadline = new AbortController();
  private readonly startedAt: number;
  private seq = 0;
  /** Every transaction ID this run sent: a late duplicate answer to one of them is not a stray. */
  private readonly sentIds = new Set<string>();
  private planned = 0;
  private finished = 0;
  private filteringServer: ServerState | undefined;
  private hairpinStarted = false;
  /** The fastest answer so far; behaviour RTOs derive from it. */
  private fastestRttMs: number | undefined;
  /** Aborts discovery of servers that stay silent long after another server answered. */
  private readonly stragglers = new AbortController();
  private stragglerTimerArmed = false;
  private stragglerTimer: TimerHandle | undefined;

  constructor(private readonly options: DetectOptions) {
    if (options.servers.length === 0) throw new Error('detectNat needs at least one server');
    this.clock = options.clock ?? new SystemClock();
    this.family = options.servers[0]!.address.family;
    this.rtt = new RttEstimator({ initialRtoMs: options.discoveryRtoMs ?? 200, minRtoMs: options.minRtoMs ?? 10 });
    this.startedAt = this.clock.now();
    // Every in-flight probe listens on these two signals; dozens at once is expected.
    setMaxListeners(10_000, this.deadline.signal, this.stragglers.signal);
    this.servers = options.servers.map((resolved) => ({
      resolved,
      report: {
        label: resolved.label,
        primary: resolved.address,
        reachable: false,
        rfc5780: 'absent',
        problems: [],
        stray: { malformed: 0, oversized: 0, unmatched: 0 },
      },
      behaviourStarted: false,
    }));
  }

  async execute(): Promise<DetectResult> {
    const deadlineTimer = this.clock.setTimeout(() => this.deadline.abort(), this.options.timeoutMs ?? 5000);
    const onAbort = (): void => this.deadline.abort();
    this.options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      this.phase('discovery');
      const mappingSockets = await Promise.all(
        Array.from({ length: this.options.mappingSockets ?? 3 }, (_, i) => this.openSocket('mapping', i)),
      );
      // Discovery (RFC 5780 §4.2): every mapping socket asks every server's primary address.
      // The first answer from a server gives its OTHER-ADDRESS and the RTT, and starts the
      // behaviour tests for that server at once, without waiting for the others.
      for (const socket of mappingSockets) {
        for (const server of this.servers) {
          this.track(
            this.probe(socket, server, server.resolved.address, 'binding', this.discoveryRetransmit()).then((observation) =>
              this.onDiscoveryAnswer(server, observation, mappingSockets),
            ),
          );
        }
      }
      await this.drain();
    } finally {
      this.clock.clearTimeout(deadlineTimer);
      if (this.stragglerTimer) this.clock.clearTimeout(this.stragglerTimer);
      this.options.signal?.removeEventListener('abort', onAbort);
    }
    this.finishServerReports();
    const verdict = classify({
      family: this.family,
      observations: this.observations,
      servers: this.servers.map((s) => s.report),
      localAddresses: this.options.localAddresses ?? localInterfaceAddresses(),
      hairpinTested: this.options.hairpin ?? false,
    });
    if (this.deadline.signal.aborted && this.options.signal?.aborted !== true) {
      verdict.reasons.push(`The overall timeout (${this.options.timeoutMs ?? 5000} ms) ended some probes early.`);
    }
    this.phase('done');
    this.emit({ type: 'verdict', at: this.elapsed(), verdict });
    return {
      family: this.family,
      verdict,
      interpretation: interpret(verdict),
      servers: this.servers.map((s) => s.report),
      observations: [...this.observations].sort((a, b) => a.seq - b.seq),
      durationMs: this.elapsed(),
      packetsSent: this.sockets.reduce((sum, s) => sum + s.transactions.stats.sends, 0),
    };
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.transactions.close();
    await Promise.all(this.sockets.map((socket) => socket.endpoint.close()));
  }

  private discoveryRetransmit() {
    // Before any RTT is known: the RFC 8489 doubling schedule from a 200 ms RTO (sends at 0,
    // 200, 600 and 1400 ms, giving up at 3 s), cut short for servers slower than the others.
    return { maxAttempts: 4, finalWaitMultiplier: 8, signal: this.stragglers.signal };
  }

  /**
   * Behaviour probes start once an RTT is known. The RTO is twice the fastest round trip seen
   * (the first answer often carries start-up delay), floored at minRtoMs, and capped so that a
   * full negative — sends at 0, R, 3R, 7R, then a wait of 8R — still fits before the deadline.
   */
  private behaviourRetransmit() {
    const attempts = this.options.attempts ?? 4;
    const finalWaitMultiplier = 8;
    const minRto = this.options.minRtoMs ?? 10;
    const spanInRtos = 2 ** (attempts - 1) - 1 + finalWaitMultiplier;
    const remaining = (this.options.timeoutMs ?? 5000) - this.elapsed();
    const cap = Math.max(minRto, (remaining * 0.9) / spanInRtos);
    const fromRtt = this.fastestRttMs === undefined ? this.rtt.rtoMs : 2 * this.fastestRttMs;
    return { rtoMs: Math.min(cap, Math.max(minRto, fromRtt)), maxAttempts: attempts, finalWaitMultiplier };
  }

  private onDiscoveryAnswer(server: ServerState, observation: ProbeObservation, mappingSockets: ProbeSocket[]): void {
    if (observation.outcome.kind !== 'answered' || server.behaviourStarted) return;
    server.behaviourStarted = true;
    const { outcome } = observation;
    if (!this.stragglerTimerArmed) {
      // A server that has not answered long after the first one did is down or filtered; its
      // silence should not hold up the verdict. Its probes end incomplete, never as evidence.
      this.stragglerTimerArmed = true;
      const graceMs = Math.max(this.options.stragglerGraceMs ?? 500, 10 * outcome.rttMs);
      this.stragglerTimer = this.clock.setTimeout(() => this.stragglers.abort(), graceMs);
    }
    const report = server.report;
    report.reachable = true;
    report.rttMs = outcome.rttMs;
    this.validateDiscovery(report, observation);
    this.phase('behaviour');
    if (report.rfc5780 === 'valid' && report.alternate) {
      const primary = server.resolved.address;
      const alternate = report.alternate;
      // RFC 5780 §4.3 tests II and III, plus the primary IP on the alternate port, so every
      // socket has a same-IP/other-port pair (ADM vs APDM) and the server proves each source.
      const targets: TransportAddress[] = [
        { ...alternate, port: primary.port },
        alternate,
        { ...primary, port: alternate.port },
      ];
      for (const socket of mappingSockets) {
        for (const target of targets) this.track(this.probe(socket, server, target, 'binding', this.behaviourRetransmit()).then(() => undefined));
      }
      if (!this.filteringServer) {
        this.filteringServer = server;
        this.track(this.runFiltering(server));
      }
    }
    if ((this.options.hairpin ?? false) && !this.hairpinStarted) {
      this.hairpinStarted = true;
      this.track(this.runHairpin(server));
    }
  }

  /** RFC 5780 §4.4: fresh sockets that only ever talk to the primary address. */
  private async runFiltering(server: ServerState): Promise<void> {
    const perTest = this.options.filteringSocketsPerTest ?? 2;
    const tests: ProbeTest[] = ['change-ip-and-port', 'change-port'];
    const jobs: Promise<void>[] = [];
    let index = 0;
    for (const test of tests) {
      for (let i = 0; i < perTest; i++) {
        const socket = await this.openSocket('filtering', index++);
        // The control request on the same socket shows the path works, so that a missing
        // answer to the CHANGE-REQUEST can be believed.
        jobs.push(this.probe(socket, server, server.resolved.address, 'binding', this.behaviourRetransmit()).then(() => undefined));
        jobs.push(this.probe(socket, server, server.resolved.address, test, this.behaviourRetransmit()).then(() => undefined));
      }
    }
    await Promise.all(jobs);
  }

  /** RFC 5780 §4.5: a second socket sends to the first socket's mapped address. */
  private async runHairpin(server: ServerState): Promise<void> {
    const listener = await this.openSocket('hairpin', 0);
    const mapped = await this.probe(listener, server, server.resolved.address, 'binding', this.behaviourRetransmit());
    if (mapped.outcome.kind !== 'answered') return;
    const target = mapped.outcome.mapped;
    const sender = await this.openSocket('hairpin', 1);
    const request: StunMessage = { class: 'request', method: StunMethod.binding, transactionId: newTransactionId(), attributes: [] };
    const wanted = transactionKey(request.transactionId);
    const arrived = new AbortController();
    let arrivedFrom: TransportAddress | undefined;
    const stop = listener.transactions.onUnmatched((datagram, message) => {
      if (message && message.class === 'request' && transactionKey(message.transactionId) === wanted) {
        arrivedFrom = datagram.from;
        arrived.abort();
      }
    });
    try {
      await this.probe(sender, server, target, 'hairpin', { ...this.behaviourRetransmit(), signal: arrived.signal, request, arrivedFrom: () => arrivedFrom });
    } finally {
      stop();
    }
  }

  private async openSocket(section: ProbeSection, index: number): Promise<ProbeSocket> {
    const endpoint = await UdpEndpoint.bind({ family: this.family, address: this.options.bindAddress });
    const transactions = new StunTransactions(endpoint, { clock: this.clock, rtt: this.rtt });
    transactions.onUnmatched((datagram, message) => this.onStray(datagram, message));
    const socket = { section, index, endpoint, transactions };
    this.sockets.push(socket);
    return socket;
  }

  private async probe(
    socket: ProbeSocket,
    server: ServerState,
    target: TransportAddress,
    test: ProbeTest,
    retransmit: {
      rtoMs?: number;
      maxAttempts: number;
      finalWaitMultiplier: number;
      signal?: AbortSignal;
      request?: StunMessage;
      arrivedFrom?: () => TransportAddress | undefined;
    },
  ): Promise<ProbeObservation> {
    const seq = this.seq++;
    const request: StunMessage = retransmit.request ?? {
      class: 'request',
      method: StunMethod.binding,
      transactionId: newTransactionId(),
      attributes:
        test === 'change-ip-and-port'
          ? [attr('CHANGE-REQUEST', { changeIp: true, changePort: true })]
          : test === 'change-port'
            ? [attr('CHANGE-REQUEST', { changeIp: false, changePort: true })]
            : [],
    };
    this.sentIds.add(transactionKey(request.transactionId));
    this.planned++;
    this.emit({ type: 'probe-sent', at: this.elapsed(), seq, section: socket.section, socket: socket.index, server: server.report.label, target, test });
    const signal = retransmit.signal ? eitherSignal(retransmit.signal, this.deadline.signal) : this.deadline.signal;
    const startedAt = this.clock.now();
    let outcome: ProbeOutcome;
    try {
      const result = await socket.transactions.request(request, target, {
        rtoMs: retransmit.rtoMs,
        maxAttempts: retransmit.maxAttempts,
        finalWaitMultiplier: retransmit.finalWaitMultiplier,
        signal,
        encode: { fingerprint: true },
      });
      const { response } = result;
      if (response.class === 'errorResponse') {
        const error = getAttribute(response, 'ERROR-CODE');
        outcome = { kind: 'error', code: `stun-${error?.code ?? 'error'}`, message: `${formatAddress(target)} answered with error ${error?.code ?? '?'} ${error?.reason ?? ''}`.trim() };
      } else {
        const mapped = getAttribute(response, 'XOR-MAPPED-ADDRESS') ?? getAttribute(response, 'MAPPED-ADDRESS');
        if (!mapped) {
          outcome = { kind: 'error', code: 'no-mapped-address', message: `${formatAddress(target)} answered without a mapped address` };
        } else {
          outcome = {
            kind: 'answered',
            mapped,
            from: result.from,
            responseOrigin: getAttribute(response, 'RESPONSE-ORIGIN'),
            otherAddress: getAttribute(response, 'OTHER-ADDRESS'),
            rttMs: result.rttMs,
            attempts: result.attempts,
          };
        }
      }
    } catch (error) {
      const arrivedFrom = retransmit.arrivedFrom?.();
      if (error instanceof TransactionCancelledError && arrivedFrom) {
        // Hairpin: the request reached our other socket, which is the success condition.
        outcome = { kind: 'answered', mapped: arrivedFrom, from: arrivedFrom, rttMs: this.clock.now() - startedAt, attempts: 1 };
      } else if (error instanceof TransactionTimeoutError) {
        outcome = { kind: 'timeout', attempts: error.attempts, waitedMs: error.waitedMs, complete: true };
      } else if (error instanceof TransactionCancelledError) {
        outcome = { kind: 'timeout', attempts: 0, waitedMs: this.clock.now() - startedAt, complete: false };
      } else {
        const e = error as Error & { code?: string };
        outcome = { kind: 'error', code: e.code ?? 'probe-failed', message: e.message };
      }
    }
    const observation: ProbeObservation = {
      seq,
      section: socket.section,
      socket: socket.index,
      local: socket.endpoint.local,
      server: server.report.label,
      target,
      test,
      outcome,
    };
    this.observations.push(observation);
    this.finished++;
    if (outcome.kind === 'answered' && outcome.attempts === 1 && observation.test !== 'hairpin') {
      this.fastestRttMs = Math.min(this.fastestRttMs ?? Infinity, outcome.rttMs);
    }
    this.checkAnswerSource(server, observation);
    this.emit({ type: 'probe-result', at: this.elapsed(), observation });
    return observation;
  }

  /**
   * A datagram that answered no pending request. Retransmission makes late duplicates of real
   * answers normal (RFC 8489 §6.2.1), and the hairpin test's request arrives here too: those
   * carry one of our transaction IDs and are not strays. Anything else from a server's
   * address proves that UDP reaches it and comes back, so it must never read as "UDP blocked".
   */
  private onStray(datagram: ReceivedDatagram, message: DecodedStunMessage | undefined): void {
    if (message && this.sentIds.has(transactionKey(message.transactionId))) return;
    const server = this.servers.find((s) => {
      const alternate = s.report.alternate;
      return sameIp(datagram.from.address, s.resolved.address.address) || (alternate !== undefined && sameIp(datagram.from.address, alternate.address));
    });
    if (!server) return;
    const stray = server.report.stray;
    if (datagram.data.length > MAX_STUN_DATAGRAM) stray.oversized++;
    else if (!message) stray.malformed++;
    else stray.unmatched++;
    stray.first ??= describeDatagram(datagram.data);
  }

  /** RFC 5780 §4.2 and §9: a server is trusted for behaviour tests only if it behaves as it claims. */
  private validateDiscovery(report: ServerReport, observation: ProbeObservation): void {
    if (observation.outcome.kind !== 'answered') return;
    const { otherAddress } = observation.outcome;
    if (!otherAddress) {
      report.rfc5780 = 'absent';
      return;
    }
    report.alternate = otherAddress;
    const primary = report.primary;
    if (otherAddress.family !== primary.family) {
      report.problems.push(`OTHER-ADDRESS ${formatAddress(otherAddress)} is not in the same address family as ${formatAddress(primary)}.`);
    }
    if (sameIp(otherAddress.address, primary.address) || otherAddress.port === primary.port) {
      report.problems.push(
        `OTHER-ADDRESS ${formatAddress(otherAddress)} must differ from ${formatAddress(primary)} in both IP and port (RFC 5780 §7.4).`,
      );
    }
    report.rfc5780 = report.problems.length === 0 ? 'valid' : 'invalid';
  }

  /** Every answer must come from where it was asked, or from the address CHANGE-REQUEST named. */
  private checkAnswerSource(server: ServerState, observation: ProbeObservation): void {
    if (observation.outcome.kind !== 'answered' || observation.test === 'hairpin') return;
    const report = server.report;
    const { from, responseOrigin } = observation.outcome;
    let expected = observation.target;
    if (observation.test !== 'binding') {
      if (!report.alternate) return;
      expected = observation.test === 'change-ip-and-port' ? report.alternate : { ...report.primary, port: report.alternate.port };
    }
    const same = (a: TransportAddress, b: TransportAddress) => a.port === b.port && sameIp(a.address, b.address);
    if (!same(from, expected)) {
      this.distrust(report, `Answer to a ${observation.test} request came from ${formatAddress(from)}, expected ${formatAddress(expected)}.`);
    } else if (responseOrigin && !same(responseOrigin, from)) {
      this.distrust(
        report,
        `RESPONSE-ORIGIN ${formatAddress(responseOrigin)} differs from the real source ${formatAddress(from)}: the server is behind NAT and its OTHER-ADDRESS cannot be trusted.`,
      );
    }
  }

  private distrust(report: ServerReport, problem: string): void {
    if (!report.problems.includes(problem)) report.problems.push(problem);
    if (report.rfc5780 === 'valid') report.rfc5780 = 'invalid';
  }

  private finishServerReports(): void {
    for (const server of this.servers) {
      this.emit({ type: 'server-report', at: this.elapsed(), server: server.report });
    }
  }

  private track(promise: Promise<void>): void {
    const tracked = promise.catch(() => undefined).finally(() => this.pending.delete(tracked));
    this.pending.add(tracked);
  }

  private async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  private phase(phase: 'discovery' | 'behaviour' | 'done'): void {
    this.emit({ type: 'detect-phase', at: this.elapsed(), family: this.family, phase, planned: this.planned, finished: this.finished });
  }

  private emit(event: DetectEvent): void {
    this.options.onEvent?.(event);
  }

  private elapsed(): number {
    return this.clock.now() - this.startedAt;
  }
}

/**
 * Larger than any answer to a Binding request can be: such an answer is about 100 bytes, and
 * RFC 8489 §6.1 keeps STUN over UDP within the path MTU (1500 bytes on Ethernet), so a bigger
 * datagram is something else (or an answer that had to be fragmented, which is wrong too).
 */
export const MAX_STUN_DATAGRAM = 1500;

/** "37 bytes: 48 54 54 50 2f 31 2e 31 …" — enough to recognise HTTP, DNS, a SIP reply. */
function describeDatagram(data: Uint8Array): string {
  const head = [...data.subarray(0, 12)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  const printable = Buffer.from(data.subarray(0, 24)).toString('latin1').replace(/[^\x20-\x7e]/g, '.');
  return `${data.length} bytes: ${head}${data.length > 12 ? ' …' : ''} ("${printable}")`;
}

/** An AbortSignal that fires when either input does (AbortSignal.any needs Node 20.3). */
function eitherSignal(a: AbortSignal, b: AbortSignal): AbortSignal {
  if (a.aborted) return a;
  if (b.aborted) return b;
  const controller = new AbortController();
  const abort = (): void => {
    a.removeEventListener('abort', abort);
    b.removeEventListener('abort', abort);
    controller.abort();
  };
  a.addEventListener('abort', abort, { once: true });
  b.addEventListener('abort', abort, { once: true });
  return controller.signal;
}
