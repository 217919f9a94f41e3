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

export interface TcpConnectionOptions {
  server: TransportAddress;
  bindAddress?: string;
  bindPort?: number;
  clock?: Clock;
  /** Bound on the TCP handshake, in ms. */
  connectTimeoutMs: number;
  signal?: AbortSignal;
}

interface Pending {
  resolve(outcome: RequestOutcome): void;
  reject(error: Error): void;
  sentAt: number;
}

/**
 * TURN over TCP (RFC 8656 §3.1, for networks that block UDP). The stream is reliable, so a
 * request is sent once and never retransmitted (RFC 8489 §6.2.2); it is bounded by its
 * deadline only. Messages are cut out of the stream by StreamFramer (§12.5).
 */
export class TcpTurnConnection implements TurnConnection {
  readonly transport = 'tcp' as const;
  readonly padsChannelData = true;
  readonly heardFromServer = true; // the handshake completed
  private readonly pending = new Map<string, Pending>();
  private readonly incoming = new Set<IncomingListener>();
  private readonly lost = new Set<(error: Error) => void>();
  private readonly framer = new StreamFramer();
  private closed = false;

  private constructor(
    private readonly socket: Socket,
    readonly local: TransportAddress,
    readonly remote: TransportAddress,
    private readonly clock: Clock,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', (error) => this.fail(new TurnUnreachableError(formatTransportAddress(remote), `the TCP connection failed (${error.message})`, error)));
    socket.on('close', () => this.fail(new TurnUnreachableError(formatTransportAddress(remote), 'the server closed the TCP connection')));
  }

  static open(options: TcpConnectionOptions): Promise<TcpTurnConnection> {
    const clock = options.clock ?? systemClock;
    const server = options.server;
    const label = formatTransportAddress(server);
    return new Promise<TcpTurnConnection>((resolve, reject) => {
      const socket = connect({ host: server.address, port: server.port, family: server.family, ...(options.bindAddress ? { localAddress: options.bindAddress } : {}), ...(options.bindPort ? { localPort: options.bindPort } : {}) });
      let timer: TimerHandle | undefined;
      const settle = (): void => {
        if (timer) clock.clearTimeout(timer);
        socket.off('connect', onConnect);
        socket.off('error', onError);
        options.signal?.removeEventListener('abort', onAbort);
      };
      const onConnect = (): void => {
        settle();
        const local: TransportAddress = { family: server.family, address: socket.localAddress ?? '', port: socket.localPort ?? 0 };
        resolve(new TcpTurnConnection(socket, local, server, clock));
      };
      const onError = (error: NodeJS.ErrnoException): void => {
        settle();
        socket.destroy();
        const detail = error.code === 'ECONNREFUSED' ? 'the TCP connection was refused (nothing listens on that port)' : `cannot connect over TCP (${error.message})`;
        reject(new TurnUnreachableError(label, detail, error));
      };
      const onAbort = (): void => {
        settle();
        socket.destroy();
        reject(new TransactionCancelledError('aborted by the caller'));
      };
      timer = clock.setTimeout(() => {
        settle();
        socket.destroy();
        reject(new TurnUnreachableError(label, `no TCP handshake within ${options.connectTimeoutMs} ms`));
      }, options.connectTimeoutMs);
      socket.once('connect', onConnect);
      socket.once('error', onError);
      if (options.signal?.aborted) onAbort();
      else options.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  request(message: StunMessage, encode: EncodeOptions, bounds: RequestBounds): Promise<RequestOutcome> {
    if (this.closed) return Promise.reject(new TransactionCancelledError('the TCP connection is closed'));
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
    if (this.closed) return Promise.reject(new TransactionCancelledError('the TCP connection is closed'));
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
    this.rejectAll(new TransactionCancelledError('the TCP connection was closed'));
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
