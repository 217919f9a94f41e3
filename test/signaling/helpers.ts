/**
 * Test helpers: a raw protocol peer (plain ws, no SignalingClient logic) to poke the server
 * with exact frames, a TCP proxy that can cut connections, and bounded waits.
 */
import { createServer, Socket, type Server } from 'node:net';
import WebSocket from 'ws';
import { SIGNALING_SUBPROTOCOL } from '../../src/signaling/protocol.js';

/** Any server frame, loosely typed: tests assert on the fields. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Frame = Record<string, any>;

/** Resolves with `promise`, or rejects after `boundMs` of real time saying what was awaited. */
export function within<T>(promise: Promise<T>, boundMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${boundMs} ms waiting for ${what}`)), boundMs);
    }),
  ]).finally(() => clearTimeout(timer));
}

const DEFAULT_BOUND_MS = 5_000;

function parseFrame(text: string): Frame {
  try {
    return JSON.parse(text) as Frame;
  } catch {
    return { type: '(not json)', text };
  }
}

export class RawPeer {
  readonly closed: Promise<{ code: number; reason: string }>;
  private readonly queue: Frame[] = [];
  private readonly waiters: { match: (frame: Frame) => boolean; resolve: (frame: Frame) => void }[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => this.onFrame(parseFrame(data.toString())));
    this.closed = new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    ws.on('error', () => undefined);
  }

  static async open(url: string, options: { protocol?: string | null; autoPong?: boolean } = {}): Promise<RawPeer> {
    const protocol = options.protocol === undefined ? SIGNALING_SUBPROTOCOL : options.protocol;
    const ws = new WebSocket(url, protocol === null ? [] : [protocol], { autoPong: options.autoPong ?? true });
    const peer = new RawPeer(ws);
    await within(new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject)), DEFAULT_BOUND_MS, 'WebSocket open');
    return peer;
  }

  send(frame: Frame | string): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Joins and returns the `joined` frame (the `config` that follows is consumed too). */
  async join(room: string, extra: Frame = {}): Promise<Frame> {
    this.send({ type: 'join', seq: 0, room, ...extra });
    const joined = await this.next((frame) => frame.type === 'joined' || frame.type === 'error');
    if (joined.type === 'joined') await this.next((frame) => frame.type === 'config');
    return joined;
  }

  /** The first not-yet-consumed frame matching `match` (default: any), waiting for it up to boundMs. */
  next(match: (frame: Frame) => boolean = () => true, boundMs = DEFAULT_BOUND_MS): Promise<Frame> {
    const index = this.queue.findIndex(match);
    if (index >= 0) return Promise.resolve(this.queue.splice(index, 1)[0]!);
    const waiting = new Promise<Frame>((resolve) => this.waiters.push({ match, resolve }));
    return within(waiting, boundMs, `a matching frame (unconsumed: ${JSON.stringify(this.queue)})`);
  }

  nextOfType(type: string, boundMs = DEFAULT_BOUND_MS): Promise<Frame> {
    return this.next((frame) => frame.type === type, boundMs);
  }

  /** Frames received and not consumed by next(). */
  get pending(): readonly Frame[] {
    return this.queue;
  }

  /**
   * A WebSocket ping round trip. Frames on one connection are handled in order, so when the
   * pong is back the server has processed everything this peer sent before the ping.
   */
  async roundTrip(): Promise<void> {
    const pong = new Promise<void>((resolve) => this.ws.once('pong', () => resolve()));
    this.ws.ping();
    await within(pong, DEFAULT_BOUND_MS, 'pong');
  }

  close(): void {
    if (this.ws.readyState !== WebSocket.CLOSED) this.ws.terminate();
  }

  private onFrame(frame: Frame): void {
    const index = this.waiters.findIndex((waiter) => waiter.match(frame));
    if (index >= 0) {
      this.waiters.splice(index, 1)[0]!.resolve(frame);
      return;
    }
    this.queue.push(frame);
  }
}

/**
 * A TCP relay on 127.0.0.1 in front of a server, whose connections a test can cut at will. With
 * `delayMs` it holds every chunk that long in each direction, in order: a slow network (or a slow
 * Redis) for fault tests.
 */
export class CuttableProxy {
  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly sockets: Set<Socket>,
  ) {}

  static async start(targetPort: number, options: { delayMs?: number } = {}): Promise<CuttableProxy> {
    const delayMs = options.delayMs ?? 0;
    const sockets = new Set<Socket>();
    const server = createServer((inbound) => {
      const outbound = new Socket();
      outbound.connect(targetPort, '127.0.0.1');
      for (const socket of [inbound, outbound]) {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        socket.on('error', () => undefined);
      }
      if (delayMs === 0) {
        inbound.pipe(outbound).pipe(inbound);
        inbound.on('close', () => outbound.destroy());
        outbound.on('close', () => inbound.destroy());
        return;
      }
      // Equal delays keep the order: timers of one duration fire in the order they were set.
      const relay = (from: Socket, to: Socket): void => {
        from.on('data', (chunk) => setTimeout(() => to.destroyed || to.write(chunk), delayMs));
        from.on('close', () => setTimeout(() => to.destroy(), delayMs));
      };
      relay(inbound, outbound);
      relay(outbound, inbound);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new CuttableProxy(server, (server.address() as { port: number }).port, sockets);
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}/`;
  }

  /** Destroys every relayed connection, as a network outage would. */
  cutAll(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  async close(): Promise<void> {
    this.cutAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export function candidate(n: number): string {
  return `candidate:${n} 1 udp 2130706431 10.0.0.${n % 250} ${5000 + n} typ host`;
}
