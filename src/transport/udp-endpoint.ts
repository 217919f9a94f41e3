import DgramAsPromised, { type SocketAsPromised } from 'dgram-as-promised';
import type { RemoteInfo } from 'node:dgram';
import type { TransportAddress } from '../stun/index.js';
import { SocketError } from './errors.js';

export interface ReceivedDatagram {
  data: Buffer;
  from: TransportAddress;
}

export type DatagramListener = (datagram: ReceivedDatagram) => void;

export interface BindOptions {
  /** Local address. Default '0.0.0.0' (or '::' for family 6). */
  address?: string;
  /** Local port. Default 0 (the kernel picks). */
  port?: number;
  family?: 4 | 6;
}

/**
 * One UDP socket: the only place nat-probe touches node:dgram. Binding, sending and closing go
 * through dgram-as-promised; datagrams are read from the socket's own 'message' event, because
 * dgram-as-promised's recv() drops datagrams that arrive while no recv() is pending.
 */
export class UdpEndpoint {
  private readonly listeners = new Set<DatagramListener>();
  private closed = false;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly socket: SocketAsPromised,
    readonly local: TransportAddress,
  ) {
    socket.socket.on('message', (data: Buffer, rinfo: RemoteInfo) => this.dispatch(data, rinfo));
    // A UDP socket's 'error' after bind is an ICMP-less send failure or a close race; it must
    // never crash the process. Sends report their own failures.
    socket.socket.on('error', () => undefined);
  }

  static async bind(options: BindOptions = {}): Promise<UdpEndpoint> {
    const family = options.family ?? (options.address?.includes(':') ? 6 : 4);
    const address = options.address ?? (family === 6 ? '::' : '0.0.0.0');
    const socket = DgramAsPromised.createSocket({ type: family === 6 ? 'udp6' : 'udp4', ipv6Only: family === 6 });
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
    try {
      await this.socket.send(data, to.port, to.address);
    } catch (error) {
      throw new SocketError('socket-send-failed', `Cannot send to ${to.address}:${to.port}: ${(error as Error).message}.`, error);
    }
  }

  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closed = true;
    this.listeners.clear();
    this.closing = this.socket.close().catch(() => undefined);
    return this.closing;
  }

  private dispatch(data: Buffer, rinfo: RemoteInfo): void {
    const from: TransportAddress = { family: rinfo.family === 'IPv6' ? 6 : 4, address: rinfo.address, port: rinfo.port };
    for (const listener of this.listeners) listener({ data, from });
  }
}

/** Kept as the transport's name for the shared formatter. */
export { formatTransportAddress as formatAddress } from '../stun/index.js';
