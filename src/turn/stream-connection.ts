import { connect, type Socket } from 'node:net';
import {
  decodeMessage,
  encodeMessage,
  formatTransportAddress,
  transactionKey,
  type DecodedStunMessage,
  type EncodeOptions,
  type StunMessage,
  type TransportAddress,
} from '../stun/index.js';
import { systemClock, TransactionCancelledError, TransactionTimeoutError, type Clock, type TimerHandle } from '../transport/index.js';
import type { IncomingListener, RequestBounds, RequestOutcome, TurnConnection } from './connection.js';
import { TurnUnreachableError } from './errors.js';
import { StreamFramer } from './stream-framer.js';

/** Where a stream connector connects: the server's resolved address, from an optional local address. */
export interface StreamTarget {
  readonly server: TransportAddress;
  readonly localAddress?: string;
  readonly localPort?: number;
}

/**
 * How a stream to the TURN server is made: a TCP connection (net.connect), or TLS over TCP
 * (tls.connect, tls.ts). Everything after the stream is ready (framing, requests, ChannelData,
 * loss) is the same for both and lives in StreamTurnConnection.
 */
export interface StreamConnector {
  readonly transport: 'tcp' | 'tls';
  /** The stream's name in messages: "TCP" or "TLS". */
  readonly name: string;
  /** Starts connecting. The stream carries STUN once `ready` fires ('secureConnect' after a TLS handshake). */
  connect(target: StreamTarget): { socket: Socket; ready: 'connect' | 'secureConnect' };
  /**
   * The typed error for a failure before `ready`: `error` from the socket, or none when
   * `timeoutMs` passed first. `tcpConnected` tells whether the TCP handshake had completed.
   */
  failure(server: string, error: NodeJS.ErrnoException | undefined, timeoutMs: number, tcpConnected: boolean): Error;
}

/** A failure to set up the TCP connection itself: the server is unreachable, whatever runs above TCP. */
export function tcpConnectFailure(server: string, error: NodeJS.ErrnoException | undefined, timeoutMs: number): Error {
  if (error === undefined) return new TurnUnreachableError(server, `no TCP handshake within ${timeoutMs} ms`);
  const detail = error.code === 'ECONNREFUSED' ? 'the TCP connection was refused (nothing listens on that port)' : `cannot connect over TCP (${error.message})`;
  return new TurnUnreachableError(server, detail, error);
}

/** TURN over TCP (RFC 8656 §3.1): a plain net.connect. */
export const tcpConnector: StreamConnector = {
  transport: 'tcp',
  name: 'TCP',
  connect: (target) => ({ socket: connect(netConnectOptions(target)), ready: 'connect' }),
  failure: (server, error, timeoutMs) => tcpConnectFailure(server, error, timeoutMs),
};

/** net.connect's options for a target, shared by the TCP and TLS connectors. */
export function netConnectOptions(target: StreamTarget): { host: string; port: number; family: 4 | 6; localAddress?: string; localPort?: number } {
  return {
    host: target.server.address,
    port: target.server.port,
    family: target.server.family,
    ...(target.localAddress ? { localAddress: target.localAddress } : {}),
    ...(target.localPort ? { localPort: target.localPort } : {}),
  };
}

export interface StreamConnectionOptions {
  server: TransportAddress;
  /** TCP (default) or TLS (tlsConnector in tls.ts). */
  connector?: StreamConnector;
  bindAddress?: string;
  bindPort?: number;
  /** The server's name in messages, e.g. its URL. Default its address. */
  label?: string;
  clock?: Clock;
  /** Bound on the TCP handshake, and for TLS the TLS handshake after it, in ms. */
  connectTimeoutMs: number;
  signal?: AbortSignal;
}

interface Pending {
  resolve(outcome: RequestOutcome): void;
  reject(error: Error): void;
  sentAt: number;
}

/**
 * TURN over a stream, TCP or TLS (RFC 8656 §3.1, for networks that block UDP, or pass only TLS).
 * The stream is reliable, so a request is sent once and never retransmitted (RFC 8489 §6.2.2);
 * it is bounded by its deadline only. Messages are cut out of the stream by StreamFramer
 * (§12.5). How the stream is made is the connector's business; the rest is shared.
 */
export class StreamTurnConnection implements TurnConnection {
  readonly transport: 'tcp' | 'tls';
  readonly padsChannelData = true;
  readonly heardFromServer = true; // the handshake completed
  private readonly pending = new Map<string, Pending>();
  private readonly incoming = new Set<IncomingListener>();
  private readonly lost = new Set<(error: Error) => void>();
  private readonly framer = new StreamFramer();
  private closed = false;
  private readonly name: string;

  private constructor(
    private readonly socket: Socket,
    connector: StreamConnector,
    readonly local: TransportAddress,
    readonly remote: TransportAddress,
    private readonly clock: Clock,
    label: string,
  ) {
    this.transport = connector.transport;
    this.name = connector.name;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', (error) => this.fail(new TurnUnreachableError(label, `the ${connector.name} connection failed (${error.message})`, error)));
    socket.on('close', () => this.fail(new TurnUnreachableError(label, `the server closed the ${connector.name} connection`)));
  }

  static open(options: StreamConnectionOptions): Promise<StreamTurnConnection> {
    const clock = options.clock ?? systemClock;
    const connector = options.connector ?? tcpConnector;
    const server = options.server;
    const label = options.label ?? formatTransportAddress(server);
    return new Promise<StreamTurnConnection>((resolve, reject) => {
      const { socket, ready } = connector.connect({ server, localAddress: options.bindAddress, localPort: options.bindPort });
      let tcpConnected = false;
      let timer: TimerHandle | undefined;
      const onTcpConnect = (): void => {
        tcpConnected = true;
      };
      const settle = (): void => {
        if (timer) clock.clearTimeout(timer);
        socket.off('connect', onTcpConnect);
        socket.off(ready, onReady);
        socket.off('error', onError);
        options.signal?.removeEventListener('abort', onAbort);
      };
      const onReady = (): void => {
        settle();
        const local: TransportAddress = { family: server.family, address: socket.localAddress ?? '', port: socket.localPort ?? 0 };
        resolve(new StreamTurnConnection(socket, connector, local, server, clock, label));
      };
      const onError = (error: NodeJS.ErrnoException): void => {
        settle();
        socket.destroy();
        reject(connector.failure(label, error, options.connectTimeoutMs, tcpConnected));
      };
      const onAbort = (): void => {
        settle();
        socket.destroy();
        reject(new TransactionCancelledError('aborted by the caller'));
      };
      timer = clock.setTimeout(() => {
        settle();
        socket.destroy();
        reject(connector.failure(label, undefined, options.connectTimeoutMs, tcpConnected));
      }, options.connectTimeoutMs);
      // Registered before `ready`, so for TCP (ready is 'connect' too) it runs first.
      socket.once('connect', onTcpConnect);
      socket.once(ready, onReady);
      socket.once('error', onError);
      if (options.signal?.aborted) onAbort();
      else options.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  request(message: StunMessage, encode: EncodeOptions, bounds: RequestBounds): Promise<RequestOutcome> {
    if (this.closed) return Promise.reject(new TransactionCancelledError(`the ${this.name} connection is closed`));
    const key = transactionKey(message.transactionId);
    const wire = encodeMessage(message, encode);
    return new Promise<RequestOutcome>((resolve, reject) => {
      const sentAt = this.clock.now();
      const finish = (): void => {
        this.pending.delete(key);
        this.clock.clearTimeout(timer);
        bounds.signal?.removeEventListener('abort', onAbort);
      };
      const onAbort = (): void => {
        finish();
        reject(new TransactionCancelledError('aborted by the caller'));
      };
      const timer = this.clock.setTimeout(() => {
        finish();
        reject(new TransactionTimeoutError(formatTransportAddress(this.remote), 1, this.clock.now() - sentAt));
      }, bounds.deadlineMs);
      this.pending.set(key, {
        sentAt,
        resolve: (outcome) => {
          finish();
          resolve(outcome);
        },
        reject: (error) => {
          finish();
          reject(error);
        },
      });
      if (bounds.signal?.aborted) return onAbort();
      bounds.signal?.addEventListener('abort', onAbort, { once: true });
      this.socket.write(wire);
    });
  }

  send(bytes: Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(new TransactionCancelledError(`the ${this.name} connection is closed`));
    // write() queues in user space when the kernel buffer is full; resolve on queueing, like a datagram.
    this.socket.write(bytes);
    return Promise.resolve();
  }

  onIncoming(listener: IncomingListener): () => void {
    this.incoming.add(listener);
    return () => this.incoming.delete(listener);
  }

  onLost(listener: (error: Error) => void): () => void {
    this.lost.add(listener);
    return () => this.lost.delete(listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.rejectAll(new TransactionCancelledError(`the ${this.name} connection was closed`));
    this.incoming.clear();
    this.lost.clear();
    await new Promise<void>((resolve) => {
      if (this.socket.destroyed) return resolve();
      this.socket.once('close', () => resolve());
      this.socket.end();
      // end() waits for the peer's FIN; destroy after a short bound so close() cannot hang.
      const timer = setTimeout(() => this.socket.destroy(), 500);
      timer.unref();
    });
  }

  private receive(chunk: Buffer): void {
    let frames: Buffer[];
    try {
      frames = this.framer.push(chunk);
    } catch (error) {
      this.socket.destroy();
      this.fail(error as Error);
      return;
    }
    for (const frame of frames) {
      if ((frame[0]! & 0xc0) !== 0) {
        for (const listener of this.incoming) listener(frame, undefined);
        continue;
      }
      let message: DecodedStunMessage;
      try {
        message = decodeMessage(frame);
      } catch {
        continue; // a malformed message inside a well-framed stream: skip it, like a bad datagram
      }
      if (message.class === 'successResponse' || message.class === 'errorResponse') {
        const entry = this.pending.get(transactionKey(message.transactionId));
        if (entry) {
          entry.resolve({ response: message, rttMs: this.clock.now() - entry.sentAt, attempts: 1 });
          continue;
        }
      }
      for (const listener of this.incoming) listener(frame, message);
    }
  }

  private fail(error: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.rejectAll(error);
    for (const listener of this.lost) listener(error);
    this.lost.clear();
  }

  private rejectAll(error: Error): void {
    for (const entry of [...this.pending.values()]) entry.reject(error);
    this.pending.clear();
  }
}
