/**
 * Measures how long a UDP mapping survives silence (RFC 5780 §4.6). A socket makes a mapping
 * by asking the server for its mapped address, then goes quiet. After a wait, a *second*
 * socket sends the server a Binding request carrying RESPONSE-PORT (RFC 5780 §7.5) set to the
 * first socket's mapped port: the server answers to (our public IP, that port), so the answer
 * reaches the first socket only if its mapping still exists. The answer comes from the address
 * the first socket talked to, so even address-and-port-dependent filtering lets it in.
 *
 * Two cases, because NATs treat them differently (Linux conntrack: 30 s for a flow that has
 * seen one exchange, 120 s once traffic has gone both ways more than 2 s apart):
 * - one-way: one request and its answer, then silence;
 * - two-way: a second request and answer 2.5 s later, then silence.
 *
 * The pure planning (waits, bracket, keepalive) is `lifetime-plan.ts`.
 */
import { setMaxListeners } from 'node:events';
import { NatProbeError } from '../errors.js';
import { attr, encodeMessage, getAttribute, newTransactionId, sameIp, StunMethod, transactionKey, type StunMessage, type TransportAddress } from '../stun/index.js';
import { RttEstimator, StunTransactions, SystemClock, UdpEndpoint, type Clock, type TimerHandle } from '../transport/index.js';
import {
  bracketLifetime,
  CONFIRMING_LOSSES,
  keepaliveAdvice,
  lifetimeGrid,
  nextSequentialWait,
  type KeepaliveAdvice,
  type LifetimeBracket,
  type LifetimeGridOptions,
  type LifetimeTest,
} from './lifetime-plan.js';
import type { ResolvedServer } from './servers.js';

export type LifetimeCase = 'one-way' | 'two-way';

export interface LifetimeOptions {
  server: ResolvedServer;
  /** Longest wait tested. Default 300 000 ms (`--lifetime-max`, RFC 4787 REQ-5's 2 min plus room). */
  maxMs?: number;
  /** Which cases to measure. Default both. */
  cases?: readonly LifetimeCase[];
  /** 'parallel' (default): many mappings at once; 'sequential': doubling then bisecting, one at a time (the baseline). */
  search?: 'parallel' | 'sequential';
  /** Spacing of the parallel search's waits (see lifetimeGrid). */
  grid?: LifetimeGridOptions;
  /** The sequential search stops at this half-width. Default 2000 ms. */
  sequentialResolutionMs?: number;
  /** How long after the first exchange the two-way case exchanges again. Default 2500 ms (conntrack's "stream" needs > 2 s). */
  twoWayGapMs?: number;
  bindAddress?: string;
  clock?: Clock;
  signal?: AbortSignal;
  onEvent?: (event: LifetimeEvent) => void;
}

export interface LifetimeCaseResult {
  case: LifetimeCase;
  bracket: LifetimeBracket;
  tests: LifetimeTest[];
  /** Present when the lifetime has a lower bound. */
  keepalive?: KeepaliveAdvice;
}

export interface LifetimeResult {
  server: string;
  search: 'parallel' | 'sequential';
  maxMs: number;
  results: LifetimeCaseResult[];
  /** Mappings made and tested. */
  mappings: number;
  /** Datagrams sent: mapping requests and RESPONSE-PORT tests, retransmissions included. */
  packetsSent: number;
  durationMs: number;
  interrupted: boolean;
}

export type LifetimeEvent =
  | { type: 'lifetime-test'; at: number; case: LifetimeCase; waitMs: number; alive: boolean }
  | { type: 'lifetime-progress'; at: number; tested: number; planned: number; maxMs: number; bracket: Partial<Record<LifetimeCase, LifetimeBracket>> };

/** Sends per RESPONSE-PORT test, and the gaps: the answer to a live mapping comes in one RTT. */
const TEST_ATTEMPTS = 3;
const TEST_GAP_MS = 250;

export async function measureLifetime(options: LifetimeOptions): Promise<LifetimeResult> {
  const run = new LifetimeRun(options);
  try {
    return await run.execute();
  } finally {
    await run.close();
  }
}

interface Mapping {
  endpoint: UdpEndpoint;
  transactions: StunTransactions;
  mapped: TransportAddress;
  /** When its last answer arrived: silence starts here. */
  quietSince: number;
}

class LifetimeRun {
  private readonly clock: Clock;
  private readonly startedAt: number;
  private readonly maxMs: number;
  private readonly rtt = new RttEstimator({ initialRtoMs: 200, minRtoMs: 50 });
  private readonly endpoints = new Set<UdpEndpoint>();
  private tester: UdpEndpoint | undefined;
  private mappings = 0;
  private packets = 0;
  private tested = 0;
  private planned = 0;
  private readonly brackets: Partial<Record<LifetimeCase, LifetimeBracket>> = {};
  private readonly stop = new AbortController();

  constructor(private readonly options: LifetimeOptions) {
    this.clock = options.clock ?? new SystemClock();
    this.startedAt = this.clock.now();
    this.maxMs = options.maxMs ?? 300_000;
    options.signal?.addEventListener('abort', () => this.stop.abort(), { once: true });
    // Every waiting and in-flight test listens on it: dozens at once is expected.
    setMaxListeners(10_000, this.stop.signal);
  }

  async execute(): Promise<LifetimeResult> {
    this.tester = await this.open();
    await this.calibrate();
    const cases = this.options.cases ?? ['one-way', 'two-way'];
    const search = this.options.search ?? 'parallel';
    const results = await Promise.all(cases.map((c) => (search === 'parallel' ? this.parallel(c) : this.sequential(c))));
    return {
      server: this.options.server.label,
      search,
      maxMs: this.maxMs,
      results: results.map((r) => {
        const lower = r.bracket.status === 'measured' || r.bracket.status === 'above-max' ? r.bracket.lowerMs : undefined;
        return { ...r, ...(lower !== undefined ? { keepalive: keepaliveAdvice(lower) } : {}) };
      }),
      mappings: this.mappings,
      packetsSent: this.packets,
      durationMs: Math.round(this.clock.now() - this.startedAt),
      interrupted: this.stop.signal.aborted,
    };
  }

  async close(): Promise<void> {
    await Promise.all([...this.endpoints].map((e) => e.close()));
  }

  /**
   * A RESPONSE-PORT answer must reach a fresh mapping at once; otherwise the server ignores
   * RESPONSE-PORT (or answers from elsewhere) and every later test would read as "expired".
   */
  private async calibrate(): Promise<void> {
    const mapping = await this.makeMapping();
    const alive = await this.test(mapping);
    if (!alive) {
      throw new NatProbeError(
        'lifetime-no-response-port',
        `${this.options.server.label} did not deliver an answer to RESPONSE-PORT ${mapping.mapped.port} (RFC 5780 §7.5), so mapping lifetime cannot be measured with it. Use a server that honours RESPONSE-PORT (nat-probe serve, coturn).`,
      );
    }
  }

  /** Many mappings at once, each tested after its own wait; ends soon after the first loss. */
  private async parallel(kind: LifetimeCase): Promise<{ case: LifetimeCase; bracket: LifetimeBracket; tests: LifetimeTest[] }> {
    const waits = lifetimeGrid(this.maxMs, this.options.grid);
    this.planned += waits.length;
    const made = await Promise.all(waits.map(() => this.makeMapping().catch(() => undefined)));
    if (kind === 'two-way') await this.exchangeAgain(made);
    const tests: LifetimeTest[] = [];
    // One loss could be a lost answer or a stalled receiver; the search stops once a second,
    // longer wait confirms it (bracketLifetime drops a loss that a longer survival contradicts).
    const losses: number[] = [];
    const cancel = new AbortController();
    setMaxListeners(10_000, cancel.signal);
    await Promise.all(
      waits.map(async (wait, i) => {
        const mapping = made[i];
        if (!mapping) return;
        const due = mapping.quietSince + wait;
        if (!(await this.until(due, cancel.signal))) return;
        const result = await this.testAfter(mapping);
        if (result === undefined) return;
        tests.push(result);
        this.report(kind, result, tests);
        if (!result.alive) losses.push(wait);
        // Mappings were made together and waits are ≥ 2 s apart, so only longer, now useless,
        // waits are still pending when the confirming loss comes in.
        if (losses.length >= CONFIRMING_LOSSES) cancel.abort();
      }),
    );
    return { case: kind, bracket: bracketLifetime(tests), tests };
  }

  /** The baseline: one mapping at a time, doubling the wait until a loss, then bisecting. */
  private async sequential(kind: LifetimeCase): Promise<{ case: LifetimeCase; bracket: LifetimeBracket; tests: LifetimeTest[] }> {
    const tests: LifetimeTest[] = [];
    const plan = { firstMs: this.options.grid?.firstMs ?? 2000, maxMs: this.maxMs, resolutionMs: this.options.sequentialResolutionMs ?? 2000 };
    for (let wait = nextSequentialWait(tests, plan); wait !== undefined && !this.stop.signal.aborted; wait = nextSequentialWait(tests, plan)) {
      this.planned++;
      const mapping = await this.makeMapping().catch(() => undefined);
      if (!mapping) break;
      if (kind === 'two-way') await this.exchangeAgain([mapping]);
      if (!(await this.until(mapping.quietSince + wait))) break;
      const result = await this.testAfter(mapping);
      if (result === undefined) break;
      tests.push(result);
      this.report(kind, result, tests);
    }
    return { case: kind, bracket: bracketLifetime(tests), tests };
  }

  private report(kind: LifetimeCase, result: LifetimeTest, tests: LifetimeTest[]): void {
    this.tested++;
    this.brackets[kind] = bracketLifetime(tests);
    this.emit({ type: 'lifetime-test', at: this.elapsed(), case: kind, waitMs: result.waitMs, alive: result.alive });
    this.emit({ type: 'lifetime-progress', at: this.elapsed(), tested: this.tested, planned: this.planned, maxMs: this.maxMs, bracket: { ...this.brackets } });
  }

  /** Opens a socket, asks the server once (retransmitting) and keeps the answer's mapped address. */
  private async makeMapping(): Promise<Mapping> {
    const endpoint = await this.open();
    const transactions = new StunTransactions(endpoint, { clock: this.clock, rtt: this.rtt });
    const before = transactions.stats.sends;
    try {
      const result = await transactions.request(this.binding([]), this.options.server.address, { maxAttempts: 5, finalWaitMultiplier: 4, signal: this.stop.signal });
      const mapped = getAttribute(result.response, 'XOR-MAPPED-ADDRESS') ?? getAttribute(result.response, 'MAPPED-ADDRESS');
      if (!mapped) throw new NatProbeError('lifetime-no-mapped-address', `${this.options.server.label} answered without a mapped address.`);
      this.mappings++;
      return { endpoint, transactions, mapped, quietSince: this.clock.now() };
    } finally {
      this.packets += transactions.stats.sends - before;
    }
  }

  /** The two-way case: a second exchange on every mapping after the gap, from which silence is counted. */
  private async exchangeAgain(made: (Mapping | undefined)[]): Promise<void> {
    const live = made.filter((m): m is Mapping => m !== undefined);
    if (live.length === 0) return;
    if (!(await this.until(Math.max(...live.map((m) => m.quietSince)) + (this.options.twoWayGapMs ?? 2500)))) return;
    await Promise.all(
      live.map(async (m) => {
        const before = m.transactions.stats.sends;
        try {
          await m.transactions.request(this.binding([]), this.options.server.address, { maxAttempts: 5, finalWaitMultiplier: 4, signal: this.stop.signal });
          m.quietSince = this.clock.now();
        } catch {
          // Left with the first exchange as its last; a failed mapping is tested like the others.
        } finally {
          this.packets += m.transactions.stats.sends - before;
        }
      }),
    );
  }

  /** Tests one mapping now; the wait is measured to the send that got through (or the first send). */
  private async testAfter(mapping: Mapping): Promise<LifetimeTest | undefined> {
    const firstSendAt = this.clock.now();
    const aliveAt = await this.test(mapping);
    if (this.stop.signal.aborted) return undefined;
    return aliveAt === false ? { waitMs: Math.round(firstSendAt - mapping.quietSince), alive: false } : { waitMs: Math.round(aliveAt - mapping.quietSince), alive: true };
  }

  /**
   * Sends up to TEST_ATTEMPTS Binding requests from the tester, each with its own transaction ID
   * and RESPONSE-PORT = the mapping's public port, and resolves with the send time of the one
   * whose answer reached the mapping's socket, or false.
   */
  private test(mapping: Mapping): Promise<number | false> {
    const tester = this.tester!;
    const sentAt = new Map<string, number>();
    return new Promise((resolve) => {
      const timers: TimerHandle[] = [];
      const done = (value: number | false): void => {
        for (const t of timers) this.clock.clearTimeout(t);
        unsubscribe();
        this.stop.signal.removeEventListener('abort', onAbort);
        resolve(value);
      };
      const onAbort = (): void => done(false);
      const unsubscribe = mapping.transactions.onUnmatched((datagram, message) => {
        if (!message || message.class !== 'successResponse') return;
        const at = sentAt.get(transactionKey(message.transactionId));
        const server = this.options.server.address;
        if (at !== undefined && sameIp(datagram.from.address, server.address) && datagram.from.port === server.port) done(at);
      });
      this.stop.signal.addEventListener('abort', onAbort, { once: true });
      const send = (attempt: number): void => {
        const request = this.binding([attr('RESPONSE-PORT', mapping.mapped.port)]);
        sentAt.set(transactionKey(request.transactionId), this.clock.now());
        this.packets++;
        tester.send(encodeMessage(request, { fingerprint: true }), this.options.server.address).catch(() => undefined);
        const gap = Math.max(TEST_GAP_MS, 3 * (this.rtt.smoothedRttMs ?? 100));
        timers.push(attempt < TEST_ATTEMPTS ? this.clock.setTimeout(() => send(attempt + 1), gap) : this.clock.setTimeout(() => done(false), 2 * gap));
      };
      send(1);
    });
  }

  private binding(attributes: StunMessage['attributes']): StunMessage {
    return { class: 'request', method: StunMethod.binding, transactionId: newTransactionId(), attributes };
  }

  private async open(): Promise<UdpEndpoint> {
    const endpoint = await UdpEndpoint.bind({ family: this.options.server.address.family, address: this.options.bindAddress });
    this.endpoints.add(endpoint);
    return endpoint;
  }

  /** Resolves true at `due` (clock time), false if the run is stopped (or `cancel` fires) first. */
  private until(due: number, cancel?: AbortSignal): Promise<boolean> {
    if (this.stop.signal.aborted || cancel?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const finish = (value: boolean): void => {
        this.clock.clearTimeout(timer);
        this.stop.signal.removeEventListener('abort', onStop);
        cancel?.removeEventListener('abort', onStop);
        resolve(value);
      };
      const onStop = (): void => finish(false);
      const timer = this.clock.setTimeout(() => finish(true), Math.max(0, due - this.clock.now()));
      this.stop.signal.addEventListener('abort', onStop, { once: true });
      cancel?.addEventListener('abort', onStop, { once: true });
    });
  }

  private emit(event: LifetimeEvent): void {
    this.options.onEvent?.(event);
  }

  private elapsed(): number {
    return this.clock.now() - this.startedAt;
  }
}
