import DgramAsPromised, { type SocketAsPromised } from 'dgram-as-promised';
import type { RemoteInfo } from 'node:dgram';
import { lookup as dnsLookup, type LookupOneOptions } from 'node:dns';
import { isIP } from 'node:net';
import type { TransportAddress } from '../stun/index.js';
import { SocketError } from './errors.js';

export interface ReceivedDatagram {
  data: Buffer;
  from: TransportAddress;
}

export type DatagramListener = (datagram: ReceivedDatagram) => void;

/** A datagram handed over with sendDetached() that the kernel refused. */
export type SendFailureListener = (error: SocketError, to: { address: string; port: number }) => void;

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string, family: number) => void;

/**
 * node:dgram resolves every destination through dns.lookup, which answers even an IP literal
 * on the next tick: one deferred callback per datagram. Literals (what nat-probe always sends
 * to) are answered at once here; names still go to dns.lookup.
 */
function lookupLiteralsAtOnce(hostname: string, options: number | LookupOneOptions, callback: LookupCallback): void {
  // A server answers the same few sources over and over: remember the last literal, since
  // isIP() runs a regular expression.
  if (hostname === lastLiteral?.hostname) {
    callback(null, hostname, lastLiteral.family);
    return;
  }
  const family = isIP(hostname);
  if (family === 0) {
    dnsLookup(hostname, options as LookupOneOptions, callback);
    return;
  }
  lastLiteral = { hostname, family };
  callback(null, hostname, family);
}

let lastLiteral: { hostname: string; family: number } | undefined;

export interface BindOptions {
  /** Local address. Default '0.0.0.0' (or '::' for family 6). */
  address?: string;
  /** Local port. Default 0 (the kernel picks). */
  port?: number;
  family?: 4 | 6;
}

function sendFailed(error: unknown, to: { address: string; port: number }): SocketError {
  return new SocketError('socket-send-failed', `Cannot send to ${to.address}:${to.port}: ${(error as Error).message}.`, error);
}

/**
 * One UDP socket: the only place nat-probe touches node:dgram. Binding, sending and closing go
 * through dgram-as-promised; datagrams are read from the socket's own 'message' event, because
 * dgram-as-promised's recv() drops datagrams that arrive while no recv() is pending. The one
 * exception is sendDetached(), a server's fire-and-forget path straight to the dgram socket.
 */
export class UdpEndpoint {
  private readonly listeners = new Set<DatagramListener>();
  private readonly sendFailureListeners = new Set<SendFailureListener>();
  /** Queued by sendDetached(), in order (two arrays, so each stays of one element type). */
  private readonly outboxData: Uint8Array[] = [];
  private readonly outboxTo: Array<{ address: string; port: number }> = [];
  private flushScheduled = false;
  private closed = false;
  /** Set by connect(): the only peer this socket sends to and hears from. */
  private connectedTo: { address: string; port: number } | undefined;
  private readonly socketErrorListeners = new Set<(error: NodeJS.ErrnoException) => void>();
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly socket: SocketAsPromised,
    readonly local: TransportAddress,
  ) {
    socket.socket.on('message', (data: Buffer, rinfo: RemoteInfo) => this.dispatch(data, rinfo));
    // A UDP socket's 'error' after bind is an ICMP-less send failure or a close race; it must
    // never crash the process. Sends report their own failures.
    socket.socket.on('error', (error: NodeJS.ErrnoException) => {
      for (const listener of this.socketErrorListeners) listener(error);
    });
  }

  /**
   * Connects the socket to one peer (connect(2) on UDP): the kernel then delivers only that
   * peer's datagrams, and, unlike on an unconnected socket, reports ICMP errors about it
   * (port or host unreachable) as ECONNREFUSED / EHOSTUNREACH on the next receive or send
   * (Linux udp_err: an unconnected socket without IP_RECVERR never sees them). Node surfaces the
   * receive side as the socket's 'error' event: see onSocketError(). After this, send() accepts
   * only this peer as its destination.
   */
  async connect(to: { address: string; port: number }): Promise<void> {
    if (this.closed) throw new SocketError('socket-closed', 'Cannot connect: the UDP socket is closed.');
    await new Promise<void>((resolve, reject) => {
      const failed = (error: Error): void => reject(sendFailed(error, to));
      this.socket.socket.once('error', failed);
      this.socket.socket.connect(to.port, to.address, () => {
        this.socket.socket.off('error', failed);
        resolve();
      });
    });
    this.connectedTo = { address: to.address, port: to.port };
  }

  /**
   * Errors the socket reports outside a send: on a connected socket, the ICMP errors about its
   * peer (code ECONNREFUSED for port unreachable, EHOSTUNREACH / ENETUNREACH). Returns the
   * unsubscribe function.
   */
  onSocketError(listener: (error: NodeJS.ErrnoException) => void): () => void {
    this.socketErrorListeners.add(listener);
    return () => this.socketErrorListeners.delete(listener);
  }

  static async bind(options: BindOptions = {}): Promise<UdpEndpoint> {
    const family = options.family ?? (options.address?.includes(':') ? 6 : 4);
    const address = options.address ?? (family === 6 ? '::' : '0.0.0.0');
    const socket = DgramAsPromised.createSocket({ type: family === 6 ? 'udp6' : 'udp4', ipv6Only: family === 6, lookup: lookupLiteralsAtOnce });
    try {
      const bound = await socket.bind({ address, port: options.port ?? 0, exclusive: true });
      return new UdpEndpoint(socket, { family, address: bound.address, port: bound.port });
    } catch (error) {
      socket.destroy();
      throw new SocketError(
        'socket-bind-failed',
        `Cannot bind UDP ${address}:${options.port ?? 0}: ${(error as Error).message}. ` +
          'Pick another port, or check that the address belongs to this host.',
        error,
      );
    }
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Subscribes to every datagram; returns the unsubscribe function. */
  onDatagram(listener: DatagramListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async send(data: Uint8Array, to: { address: string; port: number }): Promise<void> {
    if (this.closed) throw new SocketError('socket-closed', 'Cannot send: the UDP socket is closed.');
    if (this.connectedTo !== undefined) return this.sendConnected(data, to);
    try {
      await this.socket.send(data, to.port, to.address);
    } catch (error) {
      throw sendFailed(error, to);
    }
  }

  /** A connected socket takes no destination (node:dgram throws ERR_SOCKET_DGRAM_IS_CONNECTED if given one). */
  private sendConnected(data: Uint8Array, to: { address: string; port: number }): Promise<void> {
    const peer = this.connectedTo!;
    if (to.port !== peer.port || to.address !== peer.address) {
      return Promise.reject(new SocketError('socket-send-failed', `Cannot send to ${to.address}:${to.port}: the socket is connected to ${peer.address}:${peer.port} only.`));
    }
    return new Promise((resolve, reject) => {
      try {
        this.socket.socket.send(data, (error) => (error ? reject(sendFailed(error, to)) : resolve()));
      } catch (error) {
        reject(sendFailed(error, to));
      }
    });
  }

  /**
   * Subscribes to failures of sendDetached(); returns the unsubscribe function. The listener
   * is called at most once per failed datagram, never synchronously from sendDetached().
   */
  onSendFailure(listener: SendFailureListener): () => void {
    this.sendFailureListeners.add(listener);
    return () => this.sendFailureListeners.delete(listener);
  }

  /**
   * Sends a datagram without a promise: for a server answering every datagram it receives,
   * where a promise, its callback and its microtask per datagram cost more than the JavaScript
   * that builds the answer. Failures (closed socket, refused send) go to the onSendFailure
   * listeners instead of a rejection. `data` must not change after this call.
   *
   * Datagrams are queued and handed to the kernel together once the event loop has delivered
   * every datagram that was waiting (setImmediate runs after the poll phase): answers leave in
   * bursts, so the peer wakes once per burst rather than once per answer, and node:dgram's
   * per-send completion callbacks run in one batch. Order is kept; close() sends what is queued.
   */
  sendDetached(data: Uint8Array, to: { address: string; port: number }): void {
    if (this.closed) {
      this.reportSendFailure(new SocketError('socket-closed', 'Cannot send: the UDP socket is closed.'), to);
      return;
    }
    this.outboxData.push(data);
    this.outboxTo.push(to);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flushOutbox);
    }
  }

  private readonly flushOutbox = (): void => {
    this.flushScheduled = false;
    const data = this.outboxData;
    const to = this.outboxTo;
    for (let i = 0; i < data.length; i++) {
      const destination = to[i]!;
      try {
        // One shared callback (no closure per datagram); node:dgram gives it the failed
        // destination on its error as `address` and `port`.
        this.socket.socket.send(data[i]!, destination.port, destination.address, this.afterDetachedSend);
      } catch (error) {
        // Invalid arguments throw synchronously (e.g. a port out of range), as does a closed socket.
        this.reportSendFailure(sendFailed(error, destination), destination);
      }
    }
    data.length = 0;
    to.length = 0;
  };

  private readonly afterDetachedSend = (error: Error | null): void => {
    if (error === null || error === undefined) return;
    const failed = error as NodeJS.ErrnoException & { address?: string; port?: number };
    const to = { address: failed.address ?? '', port: failed.port ?? 0 };
    this.notifySendFailure(sendFailed(error, to), to);
  };

  private reportSendFailure(error: SocketError, to: { address: string; port: number }): void {
    // Same contract as a refused send: never synchronously from sendDetached().
    process.nextTick(() => this.notifySendFailure(error, to));
  }

  private notifySendFailure(error: SocketError, to: { address: string; port: number }): void {
    for (const listener of this.sendFailureListeners) listener(error, to);
  }

  close(): Promise<void> {
    if (this.closing) return this.closing;
    // Datagrams accepted by sendDetached() before close() still go out.
    if (this.outboxData.length > 0) this.flushOutbox();
    this.closed = true;
    this.listeners.clear();
    this.socketErrorListeners.clear();
    this.closing = this.socket.close().catch(() => undefined);
    return this.closing;
  }

  private dispatch(data: Buffer, rinfo: RemoteInfo): void {
    const from: TransportAddress = { family: rinfo.family === 'IPv6' ? 6 : 4, address: rinfo.address, port: rinfo.port };
    const datagram = { data, from };
    for (const listener of this.listeners) listener(datagram);
  }
}

/** Kept as the transport's name for the shared formatter. */
export { formatTransportAddress as formatAddress } from '../stun/index.js';
