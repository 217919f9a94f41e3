import {
  decodeMessage,
  encodeMessage,
  looksLikeStun,
  transactionKey,
  type DecodedStunMessage,
  type EncodeOptions,
  type StunMessage,
  type TransportAddress,
} from '../stun/index.js';
import { systemClock, type Clock, type TimerHandle } from './clock.js';
import { TransactionCancelledError, TransactionTimeoutError } from './errors.js';
import { RttEstimator } from './rtt.js';
import { formatAddress, type ReceivedDatagram, type UdpEndpoint } from './udp-endpoint.js';

/** RFC 8489 §6.2.1 retransmission parameters; every one can be overridden per request. */
export interface RetransmitOptions {
  /** First retransmission timeout. Default: the RTT estimator's current RTO. */
  rtoMs?: number;
  /** Rc: how many times the request is sent in all. Default 7 (RFC 8489 §6.2.1). */
  maxAttempts?: number;
  /** Rm: after the last send, wait Rm × RTO for an answer. Default 16 (RFC 8489 §6.2.1). */
  finalWaitMultiplier?: number;
  /** A hard cap on the whole transaction, in ms, whatever the schedule says. Default none. */
  deadlineMs?: number;
  /** Cancels the transaction (rejects with TransactionCancelledError). */
  signal?: AbortSignal;
}

export interface TransactionResult {
  response: DecodedStunMessage;
  /** Where the answer came from (RFC 5780 tests compare this with RESPONSE-ORIGIN). */
  from: TransportAddress;
  /** Time from the first send to the answer. */
  rttMs: number;
  attempts: number;
}

/** Called for datagrams that answer no pending transaction: peers' requests, indications, ChannelData, junk. */
export type UnmatchedListener = (datagram: ReceivedDatagram, message: DecodedStunMessage | undefined) => void;

export interface StunTransactionsOptions {
  clock?: Clock;
  /** Shared RTT estimator; pass one to let several sockets learn from each other. */
  rtt?: RttEstimator;
  defaults?: RetransmitOptions;
}

export interface TransactionStats {
  requests: number;
  sends: number;
  retransmissions: number;
  responses: number;
  timeouts: number;
  malformed: number;
}

interface Pending {
  resolve(result: TransactionResult): void;
  reject(error: Error): void;
  firstSentAt: number;
  attempts: number;
  timer: TimerHandle | undefined;
}

/**
 * STUN client transactions over one UdpEndpoint (RFC 8489 §6.2.1): sends, retransmits with
 * doubling intervals, and matches answers to requests by transaction ID, so many concurrent
 * requests can share a socket.
 */
export class StunTransactions {
  private readonly pending = new Map<string, Pending>();
  private readonly unmatched = new Set<UnmatchedListener>();
  private readonly clock: Clock;
  readonly rtt: RttEstimator;
  private readonly defaults: RetransmitOptions;
  private readonly detach: () => void;
  readonly stats: TransactionStats = { requests: 0, sends: 0, retransmissions: 0, responses: 0, timeouts: 0, malformed: 0 };

  constructor(
    readonly endpoint: UdpEndpoint,
    options: StunTransactionsOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.rtt = options.rtt ?? new RttEstimator();
    this.defaults = options.defaults ?? {};
    this.detach = endpoint.onDatagram((datagram) => this.receive(datagram));
  }

  onUnmatched(listener: UnmatchedListener): () => void {
    this.unmatched.add(listener);
    return () => this.unmatched.delete(listener);
  }

  get inFlight(): number {
    return this.pending.size;
  }

  request(
    message: StunMessage,
    to: { address: string; port: number },
    options: RetransmitOptions & { encode?: EncodeOptions } = {},
  ): Promise<TransactionResult> {
    const key = transactionKey(message.transactionId);
    if (this.pending.has(key)) return Promise.reject(new Error(`transaction ${key} is already in flight`));
    const wire = encodeMessage(message, options.encode);
    const rto = options.rtoMs ?? this.defaults.rtoMs ?? this.rtt.rtoMs;
    const maxAttempts = Math.max(1, options.maxAttempts ?? this.defaults.maxAttempts ?? 7);
    const finalWait = rto * (options.finalWaitMultiplier ?? this.defaults.finalWaitMultiplier ?? 16);
    const deadlineMs = options.deadlineMs ?? this.defaults.deadlineMs;
    const signal = options.signal ?? this.defaults.signal;
    this.stats.requests++;

    return new Promise<TransactionResult>((resolve, reject) => {
      const entry: Pending = { resolve, reject, firstSentAt: this.clock.now(), attempts: 0, timer: undefined };
      let deadlineTimer: TimerHandle | undefined;
      const finish = (): void => {
        this.pending.delete(key);
        if (entry.timer) this.clock.clearTimeout(entry.timer);
        if (deadlineTimer) this.clock.clearTimeout(deadlineTimer);
        signal?.removeEventListener('abort', onAbort);
      };
      const onAbort = (): void => {
        finish();
        reject(new TransactionCancelledError('aborted by the caller'));
      };
      const giveUp = (): void => {
        finish();
        this.stats.timeouts++;
        reject(new TransactionTimeoutError(formatAddress(to), entry.attempts, this.clock.now() - entry.firstSentAt));
      };
      entry.resolve = (result) => {
        finish();
        resolve(result);
      };
      entry.reject = (error) => {
        finish();
        reject(error);
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.set(key, entry);
      if (deadlineMs !== undefined) deadlineTimer = this.clock.setTimeout(giveUp, deadlineMs);

      // Sends at 0, RTO, 3·RTO, 7·RTO, … then waits Rm·RTO after the last (RFC 8489 §6.2.1).
      const send = (interval: number): void => {
        if (!this.pending.has(key)) return;
        entry.attempts++;
        this.stats.sends++;
        if (entry.attempts > 1) this.stats.retransmissions++;
        this.endpoint.send(wire, to).catch((error: Error) => entry.reject(error));
        entry.timer =
          entry.attempts < maxAttempts
            ? this.clock.setTimeout(() => send(interval * 2), interval)
            : this.clock.setTimeout(giveUp, finalWait);
      };
      send(rto);
    });
  }

  /** Rejects every pending transaction and stops listening. Does not close the endpoint. */
  close(): void {
    this.detach();
    for (const entry of [...this.pending.values()]) entry.reject(new TransactionCancelledError('the socket was closed'));
    this.pending.clear();
    this.unmatched.clear();
  }

  private receive(datagram: ReceivedDatagram): void {
    if (!looksLikeStun(datagram.data)) {
      this.emitUnmatched(datagram, undefined);
      return;
    }
    let message: DecodedStunMessage;
    try {
      message = decodeMessage(datagram.data);
    } catch {
      this.stats.malformed++;
      this.emitUnmatched(datagram, undefined);
      return;
    }
    const isResponse = message.class === 'successResponse' || message.class === 'errorResponse';
    const entry = isResponse ? this.pending.get(transactionKey(message.transactionId)) : undefined;
    if (!entry) {
      this.emitUnmatched(datagram, message);
      return;
    }
    const rttMs = this.clock.now() - entry.firstSentAt;
    // Karn's rule: an answer to a retransmitted request cannot be matched to one send.
    if (entry.attempts === 1) this.rtt.sample(rttMs);
    this.stats.responses++;
    entry.resolve({ response: message, from: datagram.from, rttMs, attempts: entry.attempts });
  }

  private emitUnmatched(datagram: ReceivedDatagram, message: DecodedStunMessage | undefined): void {
    for (const listener of this.unmatched) listener(datagram, message);
  }
}
