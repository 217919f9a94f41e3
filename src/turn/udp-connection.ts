import { isLoopbackAddress, sameIp, type EncodeOptions, type StunMessage, type TransportAddress } from '../stun/index.js';
import { RttEstimator, StunTransactions, UdpEndpoint, type Clock } from '../transport/index.js';
import type { IncomingListener, RequestBounds, RequestOutcome, TurnConnection } from './connection.js';
import { TurnUnreachableError } from './errors.js';

/** ICMP errors about the server, as a connected UDP socket reports them (see UdpEndpoint.connect). */
const UNREACHABLE_CODES: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'ICMP port unreachable (nothing listens on that UDP port)',
  EHOSTUNREACH: 'ICMP host unreachable',
  ENETUNREACH: 'ICMP network unreachable',
};

export interface UdpConnectionOptions {
  server: TransportAddress;
  /** The server as the user named it, for messages. Default "address:port". */
  label?: string;
  bindAddress?: string;
  bindPort?: number;
  clock?: Clock;
}

/**
 * TURN over UDP: a UdpEndpoint with StunTransactions for the requests (retransmitted per
 * RFC 8489 §6.2.1, RTO learned from the measured RTT). Everything else the server sends, and
 * nothing from any other source (RFC 8656 §5: only the server's address is part of the
 * 5-tuple), goes to the incoming listeners.
 *
 * The socket is connected to the server, so an ICMP port or host unreachable about it ends the
 * requests in flight at once with `turn-unreachable`, instead of their retransmissions running
 * out the whole timeout (an unconnected UDP socket never hears of ICMP errors).
 */
export class UdpTurnConnection implements TurnConnection {
  readonly transport = 'udp' as const;
  readonly padsChannelData = false;
  private readonly incoming = new Set<IncomingListener>();
  private answered = false;
  /** Aborted by the first ICMP error about the server; every request listens to it. */
  private readonly icmp = new AbortController();
  private unreachable: NodeJS.ErrnoException | undefined;

  private constructor(
    private readonly endpoint: UdpEndpoint,
    private readonly transactions: StunTransactions,
    readonly remote: TransportAddress,
    private readonly label: string,
  ) {
    endpoint.onSocketError((error) => {
      if (error.code === undefined || UNREACHABLE_CODES[error.code] === undefined || this.unreachable !== undefined) return;
      this.unreachable = error;
      this.icmp.abort(error);
    });
    // Any datagram from the server, answer or not, shows it is reachable.
    endpoint.onDatagram((datagram) => {
      if (isFrom(datagram.from, remote)) this.answered = true;
    });
    transactions.onUnmatched((datagram, message) => {
      if (!isFrom(datagram.from, remote)) return;
      for (const listener of this.incoming) listener(datagram.data, message);
    });
  }

  static async open(options: UdpConnectionOptions): Promise<UdpTurnConnection> {
    const endpoint = await UdpEndpoint.bind({ address: options.bindAddress ?? defaultBindAddress(options.server), port: options.bindPort ?? 0, family: options.server.family });
    // A first RTO of 100 ms rather than 500 ms: a diagnosis should not wait half a second to
    // learn that the first datagram was lost; later RTOs come from measured RTTs (rtt.ts).
    const transactions = new StunTransactions(endpoint, { clock: options.clock, rtt: new RttEstimator({ initialRtoMs: 100 }) });
    try {
      await endpoint.connect(options.server);
    } catch (error) {
      await endpoint.close();
      throw error;
    }
    return new UdpTurnConnection(endpoint, transactions, options.server, options.label ?? `${options.server.address}:${options.server.port}`);
  }

  get local(): TransportAddress {
    return this.endpoint.local;
  }

  get heardFromServer(): boolean {
    return this.answered;
  }

  async request(message: StunMessage, encode: EncodeOptions, bounds: RequestBounds): Promise<RequestOutcome> {
    this.throwIfUnreachable();
    const signal = bounds.signal === undefined ? this.icmp.signal : AbortSignal.any([bounds.signal, this.icmp.signal]);
    try {
      const result = await this.transactions.request(message, this.remote, { encode, deadlineMs: bounds.deadlineMs, signal });
      return { response: result.response, rttMs: result.rttMs, attempts: result.attempts };
    } catch (error) {
      // A send refused because of an earlier ICMP error (the kernel reports it on the next send) counts too.
      const code = (error as { cause?: NodeJS.ErrnoException }).cause?.code;
      if (this.unreachable === undefined && code !== undefined && UNREACHABLE_CODES[code] !== undefined) this.unreachable = (error as { cause: NodeJS.ErrnoException }).cause;
      this.throwIfUnreachable();
      throw error;
    }
  }

  async send(bytes: Uint8Array): Promise<void> {
    this.throwIfUnreachable();
    await this.endpoint.send(bytes, this.remote);
  }

  private throwIfUnreachable(): void {
    const error = this.unreachable;
    if (error !== undefined) throw new TurnUnreachableError(this.label, UNREACHABLE_CODES[error.code!]!, error);
  }

  onIncoming(listener: IncomingListener): () => void {
    this.incoming.add(listener);
    return () => this.incoming.delete(listener);
  }

  onLost(): () => void {
    // A UDP "connection" is never lost by itself; the allocation times out instead.
    return () => undefined;
  }

  async close(): Promise<void> {
    this.incoming.clear();
    this.transactions.close();
    await this.endpoint.close();
  }
}

/** Loopback servers are reached from loopback (so `local` is a real address); others from every interface. */
export function defaultBindAddress(server: TransportAddress): string {
  if (server.family === 4) return isLoopbackAddress(server.address) ? '127.0.0.1' : '0.0.0.0';
  // An IPv4-mapped 127.x is loopback too, but reached through '::', not from '::1'.
  return server.address === '::1' ? '::1' : '::';
}

/** Node writes addresses in one canonical form, so string equality decides on the hot path; sameIp only when it differs. */
function isFrom(from: TransportAddress, remote: TransportAddress): boolean {
  return from.port === remote.port && (from.address === remote.address || sameIp(from.address, remote.address));
}
