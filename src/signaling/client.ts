/**
 * SignalingClient: one peer's end of the signaling protocol (PROTOCOL.md). It joins a room,
 * numbers and keeps every message until the server acknowledges it, and after a dropped
 * connection reconnects with its resume token and re-sends what the server did not get, so
 * nothing is lost or repeated across reconnects.
 *
 *   const client = new SignalingClient({ url, room: 'demo' });
 *   const { peerId, peers } = await client.connect();
 *   client.send({ type: 'candidate', candidate: 'candidate:1 1 udp 2130706431 10.0.0.1 5000 typ host' });
 *   for await (const message of client) { ... }   // peer-joined, candidates, peer-left, ...
 *   await client.close();                          // sends bye
 */
import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import { NatProbeError } from '../errors.js';
import { systemClock, type Clock, type RandomSource, type TimerHandle } from '../transport/clock.js';
import { backoffDelayMs, DEFAULT_RECONNECT, type ReconnectOptions } from './backoff.js';
import {
  InvalidSignalingMessageError,
  MessageTooLargeError,
  RoomFullError,
  SessionLostError,
  SignalingClosedError,
  SignalingProtocolError,
  SignalingRejectedError,
  SignalingTimeoutError,
  SignalingUnreachableError,
} from './errors.js';
import {
  ACK_SPLICE_BYTES,
  CONTROL_SEQ,
  DEFAULT_MAX_PAYLOAD_BYTES,
  decodeServerFrame,
  PeerPayload,
  SIGNALING_SUBPROTOCOL,
  type ConfigMessage,
  type ErrorMessage,
  type JoinedMessage,
  type ServerStreamMessage,
} from './protocol.js';

export interface SignalingClientOptions {
  /** Server URL, e.g. `ws://127.0.0.1:8080/`. */
  url: string;
  /**
   * Further instances of the same service (sharing one Redis), tried in turn after `url` when an
   * attempt fails: a client whose instance dies resumes its session on the next one.
   */
  fallbackUrls?: readonly string[];
  /**
   * When a resume is refused (`resume-failed`: the session expired, or the server state was
   * lost), join the room again as a new session and emit `reset`, instead of closing with
   * SessionLostError. Messages not yet acknowledged belong to the lost session and are dropped.
   * Default false.
   */
  restartOnSessionLost?: boolean;
  room: string;
  /** Optional room secret; both peers must give the same one. */
  token?: string;
  /** Operator token for servers that require one (`serve --auth-secret`), sent on each new join. */
  authToken?: string;
  /** Timers for timeouts, backoff and delayed acks. Default the system clock. */
  clock?: Clock;
  /** Jitter source for reconnect backoff. Default Math.random. */
  random?: RandomSource;
  /** Bound on one attempt: TCP, WebSocket handshake and the `joined` reply. Default 5 000 ms. */
  connectTimeoutMs?: number;
  /** Reconnect attempts and backoff. Defaults: 5 attempts, 250 ms doubling up to 5 000 ms. */
  reconnect?: ReconnectOptions;
  /**
   * Acknowledge after this many received messages… Default 32. Acks only let the server forget
   * delivered messages, so they can be lazy; each one costs a frame (and a syscall) on both ends.
   */
  ackEvery?: number;
  /**
   * …or this long after the first unacknowledged one, unless an outgoing message carried the ack
   * first (acks ride on stream messages for free). Default 5 000 ms.
   */
  ackDelayMs?: number;
  /** How long close() waits for the server to confirm `bye`. Default 2 000 ms. */
  closeTimeoutMs?: number;
  /** Unacknowledged messages kept for re-sending; send() throws past it. Default 4 096. */
  maxUnacknowledged?: number;
}

/** What the other side and the server send this peer: presence and relayed payloads. */
export type IncomingSignalingMessage = ServerStreamMessage;
export type IncomingMessageType = IncomingSignalingMessage['type'];

export interface JoinInfo {
  readonly room: string;
  readonly peerId: string;
  /** The other peer, if it joined first. */
  readonly peers: readonly string[];
  /** True when this join took back an earlier session after a reconnect. */
  readonly resumed: boolean;
  /** From sending `join` to receiving `joined`: one round trip to the signaling server. */
  readonly rttMs?: number;
}

export type SignalingClientState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closing' | 'closed';

export interface SignalingClientEvents {
  /** Every incoming stream message, once each, in order. */
  message: [IncomingSignalingMessage];
  /** Each successful join, including resumes after a reconnect. */
  joined: [JoinInfo];
  /** The server's settings (limits, ICE servers), sent after each join. */
  config: [ConfigMessage];
  /** The connection dropped; another attempt follows after `delayMs`, to `url`. */
  reconnecting: [{ attempt: number; delayMs: number; cause: unknown; url: string }];
  /**
   * The old session could not be resumed and a new one began (restartOnSessionLost): sequence
   * numbers restart at 1 in both directions and unacknowledged messages were dropped.
   * `reason` is the server's (`state-lost`, `unknown-session`).
   */
  reset: [{ reason: string; dropped: number; message: string }];
  /** A non-fatal problem (e.g. the server rejected one message). */
  warning: [NatProbeError];
  /** The client stopped for good; `error` is set when it did not stop by close(). */
  close: [{ error: NatProbeError | undefined }];
}

interface OutboxEntry {
  readonly seq: number;
  readonly frame: string;
}

interface Handshake {
  readonly ws: WebSocket;
  resolve(message: JoinedMessage): void;
  reject(error: unknown): void;
}

interface Subscriber {
  push(message: IncomingSignalingMessage): void;
  end(error: NatProbeError | undefined): void;
}

/** Fatal server errors after which the session may live on: reconnect and resume (maybe elsewhere). */
const RECONNECT_CODES = new Set(['server-shutdown', 'store-unavailable', 'state-lost']);

/** Server error codes that end a connection attempt for good (retrying cannot help). */
const FATAL_JOIN_CODES = new Set(['unauthorized', 'room-full', 'room-token-mismatch', 'too-many-rooms', 'too-many-peers', 'resume-failed', 'schema-violation', 'unsupported-protocol']);

export class SignalingClient extends EventEmitter<SignalingClientEvents> {
  private readonly clock: Clock;
  private readonly random: RandomSource;
  private readonly reconnectOptions: Required<ReconnectOptions>;
  private readonly connectTimeoutMs: number;
  private readonly ackEvery: number;
  private readonly ackDelayMs: number;
  private readonly closeTimeoutMs: number;
  private readonly maxUnacknowledged: number;
  private readonly urls: readonly string[];
  /** Index in `urls` of the instance tried last. */
  private urlIndex = 0;

  private currentState: SignalingClientState = 'idle';
  private ws: WebSocket | undefined;
  private handshake: Handshake | undefined;
  private id: string | undefined;
  private resumeToken: string | undefined;
  private serverConfig: ConfigMessage | undefined;
  private maxPayloadBytes = DEFAULT_MAX_PAYLOAD_BYTES;

  private nextSeq = 1;
  /** Sent but unacknowledged messages, in seq order: re-sent after a reconnect. */
  private outbox: OutboxEntry[] = [];
  /** Highest seq written to the current socket. */
  private sentUpTo = 0;
  /** Set while waiting out a rate limit: nothing is written until the retransmit. */
  private paused = false;
  private retransmitTimer: TimerHandle | undefined;

  private lastInSeq = 0;
  private unackedIn = 0;
  private ackTimer: TimerHandle | undefined;

  /** An error the server announced as fatal, applied when its close arrives. */
  private pendingFatal: NatProbeError | undefined;
  private sleepTimer: { handle: TimerHandle; wake: () => void } | undefined;
  private closing: Promise<void> | undefined;
  private closeError: NatProbeError | undefined;
  private readonly subscribers = new Set<Subscriber>();

  constructor(private readonly options: SignalingClientOptions) {
    super();
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.reconnectOptions = {
      maxAttempts: options.reconnect?.maxAttempts ?? DEFAULT_RECONNECT.maxAttempts,
      initialDelayMs: options.reconnect?.initialDelayMs ?? DEFAULT_RECONNECT.initialDelayMs,
      maxDelayMs: options.reconnect?.maxDelayMs ?? DEFAULT_RECONNECT.maxDelayMs,
      factor: options.reconnect?.factor ?? DEFAULT_RECONNECT.factor,
    };
    this.connectTimeoutMs = options.connectTimeoutMs ?? 5_000;
    this.ackEvery = options.ackEvery ?? 32;
    this.ackDelayMs = options.ackDelayMs ?? 5_000;
    this.closeTimeoutMs = options.closeTimeoutMs ?? 2_000;
    this.maxUnacknowledged = options.maxUnacknowledged ?? 4_096;
    this.urls = [options.url, ...(options.fallbackUrls ?? [])];
  }

  /** The instance this client is (or was last) connected to. */
  get url(): string {
    return this.urls[this.urlIndex]!;
  }

  get state(): SignalingClientState {
    return this.currentState;
  }

  /** This peer's id, once joined. */
  get peerId(): string | undefined {
    return this.id;
  }

  /** The server's config message from the latest join. */
  get config(): ConfigMessage | undefined {
    return this.serverConfig;
  }

  /** Messages not yet acknowledged by the server. */
  get unacknowledged(): number {
    return this.outbox.length;
  }

  /**
   * Connects and joins the room. Rejects with RoomFullError, SignalingRejectedError (other
   * refusals) or, once every attempt failed, SignalingUnreachableError; the client is then closed.
   */
  async connect(): Promise<JoinInfo> {
    if (this.currentState !== 'idle') throw new SignalingClosedError(`connect() was already called (state ${this.currentState})`);
    this.currentState = 'connecting';
    try {
      return await this.establish(false);
    } catch (error) {
      const failure = toNatProbeError(error);
      this.finish(failure);
      throw failure;
    }
  }

  /**
   * Sends a message to the other peer and returns its seq. It is kept until acknowledged and
   * re-sent after a reconnect. Throws InvalidSignalingMessageError or MessageTooLargeError
   * without sending anything.
   */
  send(payload: PeerPayload): number {
    if (this.currentState === 'closing' || this.currentState === 'closed') throw new SignalingClosedError('send() after close');
    const parsed = PeerPayload.safeParse(payload);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new InvalidSignalingMessageError(`${issue.path.join('.') || 'message'}: ${issue.message}`);
    }
    const seq = this.nextSeq;
    const frame = JSON.stringify({ ...parsed.data, seq });
    const bytes = Buffer.byteLength(frame);
    const limit = this.maxPayloadBytes - ACK_SPLICE_BYTES; // room for a piggybacked ack
    if (bytes > limit) throw new MessageTooLargeError(bytes, limit);
    if (this.outbox.length >= this.maxUnacknowledged) {
      throw new NatProbeError('signaling-backlog', `${this.outbox.length} messages wait for the server's acknowledgement; slow down or check the connection.`);
    }
    this.nextSeq++;
    this.outbox.push({ seq, frame });
    this.flushOutbox();
    return seq;
  }

  /** Async iteration over incoming messages from now on; ends at close() and throws a fatal error. */
  messages(): AsyncIterableIterator<IncomingSignalingMessage> {
    const queue: IncomingSignalingMessage[] = [];
    let waiter: { resolve: (result: IteratorResult<IncomingSignalingMessage>) => void; reject: (error: unknown) => void } | undefined;
    let ended = false;
    let failure: NatProbeError | undefined;
    const subscriber: Subscriber = {
      push(message) {
        if (waiter !== undefined) {
          waiter.resolve({ value: message, done: false });
          waiter = undefined;
        } else {
          queue.push(message);
        }
      },
      end(error) {
        ended = true;
        failure = error;
        if (waiter === undefined) return;
        if (error !== undefined) waiter.reject(error);
        else waiter.resolve({ value: undefined, done: true });
        waiter = undefined;
      },
    };
    if (this.currentState === 'closed') subscriber.end(this.closeError);
    else this.subscribers.add(subscriber);
    const iterator: AsyncIterableIterator<IncomingSignalingMessage> = {
      next: () => {
        if (queue.length > 0) return Promise.resolve({ value: queue.shift()!, done: false });
        if (ended) {
          if (failure !== undefined) {
            const error = failure;
            failure = undefined;
            return Promise.reject(error);
          }
          return Promise.resolve({ value: undefined, done: true });
        }
        return new Promise((resolve, reject) => {
          waiter = { resolve, reject };
        });
      },
      return: () => {
        this.subscribers.delete(subscriber);
        ended = true;
        return Promise.resolve({ value: undefined, done: true });
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<IncomingSignalingMessage> {
    return this.messages();
  }

  /**
   * Resolves with the next incoming message of `type` (matching `where`) that arrives after
   * this call. Rejects with SignalingTimeoutError after `timeoutMs`, or when the client closes.
   */
  waitFor<T extends IncomingMessageType>(
    type: T,
    options: { timeoutMs?: number; where?: (message: Extract<IncomingSignalingMessage, { type: T }>) => boolean } = {},
  ): Promise<Extract<IncomingSignalingMessage, { type: T }>> {
    const timeoutMs = options.timeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      if (this.currentState === 'closed') {
        reject(this.closeError ?? new SignalingClosedError());
        return;
      }
      const onMessage = (message: IncomingSignalingMessage): void => {
        if (message.type !== type) return;
        const typed = message as Extract<IncomingSignalingMessage, { type: T }>;
        if (options.where !== undefined && !options.where(typed)) return;
        cleanup();
        resolve(typed);
      };
      const onClose = ({ error }: { error: NatProbeError | undefined }): void => {
        cleanup();
        reject(error ?? new SignalingClosedError(`closed while waiting for ${type}`));
      };
      const timer = this.clock.setTimeout(() => {
        cleanup();
        reject(new SignalingTimeoutError(`a ${type} message`, timeoutMs));
      }, timeoutMs);
      const cleanup = (): void => {
        this.clock.clearTimeout(timer);
        this.off('message', onMessage);
        this.off('close', onClose);
      };
      this.on('message', onMessage);
      this.on('close', onClose);
    });
  }

  /** Leaves the room (`bye`, so the other peer hears `peer-left` at once) and closes. Idempotent. */
  close(): Promise<void> {
    if (this.currentState === 'closed') return Promise.resolve();
    this.closing ??= this.closeGracefully();
    return this.closing;
  }

  // -------------------------------------------------------------------------------------------
  // Connecting and reconnecting

  /** Runs connection attempts with backoff until one joins, a refusal is final, or attempts run out. */
  private async establish(resume: boolean): Promise<JoinInfo> {
    const { maxAttempts } = this.reconnectOptions;
    let lastError: unknown;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      if (resume || attempt > 1) {
        // After a failure, and after a dropped connection, try the next instance: the one we
        // had may be dead, and any instance sharing the store can resume the session.
        if (this.urls.length > 1 && (attempt > 1 || lastError === undefined)) this.urlIndex = (this.urlIndex + 1) % this.urls.length;
        const delayMs = backoffDelayMs(attempt, this.reconnectOptions, this.random);
        this.emit('reconnecting', { attempt, delayMs, cause: lastError, url: this.url });
        await this.sleep(delayMs);
      }
      if (this.isStopping()) throw new SignalingClosedError('closed while connecting');
      try {
        return await this.attempt(resume);
      } catch (error) {
        if (this.isStopping()) throw new SignalingClosedError('closed while connecting');
        if (resume && error instanceof SessionLostError && this.options.restartOnSessionLost === true) {
          this.startOver(error);
          resume = false;
          attempt--; // a refused resume is an answer, not a failed attempt: join afresh at once
          lastError = undefined;
          continue;
        }
        if (error instanceof NatProbeError && FATAL_JOIN_CODES.has(error.code)) throw error;
        lastError = error;
      }
    }
    throw new SignalingUnreachableError(this.urls.join(', '), maxAttempts, { cause: lastError });
  }

  /** The session is gone for good: forget its numbering and its unacknowledged messages. */
  private startOver(error: SessionLostError): void {
    const dropped = this.outbox.length;
    this.outbox = [];
    this.nextSeq = 1;
    this.sentUpTo = 0;
    this.lastInSeq = 0;
    this.unackedIn = 0;
    this.resumeToken = undefined;
    this.id = undefined;
    this.emit('reset', { reason: error.reason ?? 'unknown-session', dropped, message: error.message });
  }

  /** One attempt: open a WebSocket, send join (or resume), wait for joined. */
  private attempt(resume: boolean): Promise<JoinInfo> {
    return new Promise<JoinInfo>((resolve, reject) => {
      const url = this.url;
      const ws = new WebSocket(url, SIGNALING_SUBPROTOCOL, { handshakeTimeout: this.connectTimeoutMs, perMessageDeflate: false });
      const timer = this.clock.setTimeout(() => {
        settle(() => reject(new SignalingTimeoutError(`the signaling server at ${url} to answer`, this.connectTimeoutMs)));
      }, this.connectTimeoutMs);
      let settled = false;
      let joinSentAt: number | undefined;
      const settle = (then: () => void): void => {
        if (settled) return;
        settled = true;
        this.clock.clearTimeout(timer);
        if (this.handshake?.ws === ws) this.handshake = undefined;
        then();
      };
      this.handshake = {
        ws,
        // Synchronously, so that frames right behind `joined` (config, replayed messages) find
        // the client open.
        resolve: (joined) =>
          settle(() => {
            this.ws = ws;
            resolve(this.onJoined(joined, joinSentAt === undefined ? undefined : this.clock.now() - joinSentAt));
          }),
        reject: (error) =>
          settle(() => {
            ws.terminate();
            reject(error);
          }),
      };
      ws.on('open', () => {
        const join: Record<string, unknown> = { type: 'join', seq: CONTROL_SEQ, room: this.options.room };
        if (this.options.token !== undefined) join.token = this.options.token;
        if (this.options.authToken !== undefined && !(resume && this.resumeToken !== undefined)) join.auth = this.options.authToken;
        if (resume && this.resumeToken !== undefined) {
          join.resume = this.resumeToken;
          join.ack = this.lastInSeq;
        }
        ws.send(JSON.stringify(join));
        joinSentAt = this.clock.now();
      });
      ws.on('message', (data, isBinary) => this.onFrame(ws, data, isBinary));
      ws.on('error', (error) => this.handshake?.ws === ws && this.handshake.reject(error));
      ws.on('close', (code, reason) => {
        if (this.handshake?.ws === ws) {
          this.handshake.reject(this.pendingFatal ?? new Error(`connection closed during join (code ${code}${reason.length > 0 ? `, ${reason.toString()}` : ''})`));
          this.pendingFatal = undefined;
          return;
        }
        this.onSocketClosed(ws);
      });
    });
  }

  private onJoined(joined: JoinedMessage, rttMs: number | undefined): JoinInfo {
    this.id = joined.peerId;
    this.resumeToken = joined.resumeToken;
    // The server holds our messages up to `ack`; re-send the rest, in order.
    this.trimOutbox(joined.ack);
    this.sentUpTo = joined.ack;
    this.paused = false;
    this.currentState = 'open';
    const info: JoinInfo = { room: joined.room, peerId: joined.peerId, peers: joined.peers, resumed: joined.resumed, ...(rttMs !== undefined ? { rttMs } : {}) };
    this.emit('joined', info);
    this.flushOutbox();
    return info;
  }

  private onSocketClosed(ws: WebSocket): void {
    if (ws !== this.ws) return;
    this.ws = undefined;
    if (this.currentState === 'closing' || this.currentState === 'closed') return;
    const fatal = this.pendingFatal;
    this.pendingFatal = undefined;
    if (fatal !== undefined && !RECONNECT_CODES.has(fatal.code)) {
      this.finish(fatal);
      return;
    }
    this.currentState = 'reconnecting';
    this.establish(true).catch((error: unknown) => {
      if (this.currentState !== 'closed' && this.currentState !== 'closing') this.finish(toNatProbeError(error));
    });
  }

  // -------------------------------------------------------------------------------------------
  // Incoming frames

  private onFrame(ws: WebSocket, data: WebSocket.RawData, isBinary: boolean): void {
    if (isBinary) return;
    const decoded = decodeServerFrame(data.toString());
    if (!decoded.ok) {
      this.emit('warning', new SignalingProtocolError(decoded.message));
      return;
    }
    const message = decoded.message;
    const inHandshake = this.handshake?.ws === ws;
    if (!inHandshake && ws !== this.ws) return;
    switch (message.type) {
      case 'joined':
        if (inHandshake) this.handshake!.resolve(message);
        return;
      case 'error':
        this.onServerError(message, inHandshake);
        return;
      case 'config':
        this.serverConfig = message;
        this.maxPayloadBytes = message.maxPayloadBytes;
        this.emit('config', message);
        return;
      case 'ack':
        this.trimOutbox(message.ack);
        return;
      default:
        this.onStreamMessage(message);
    }
  }

  private onStreamMessage(message: IncomingSignalingMessage): void {
    if (message.ack !== undefined) this.trimOutbox(message.ack);
    if (message.seq <= this.lastInSeq) return; // a re-send of something already delivered
    if (message.seq !== this.lastInSeq + 1) {
      this.emit('warning', new SignalingProtocolError(`stream seq jumped from ${this.lastInSeq} to ${message.seq}`));
    }
    this.lastInSeq = message.seq;
    this.scheduleAck();
    this.emit('message', message);
    for (const subscriber of this.subscribers) subscriber.push(message);
  }

  private onServerError(message: ErrorMessage, inHandshake: boolean): void {
    const error = serverError(message, this.options.room);
    if (message.code === 'rate-limited' && message.rejectedSeq !== undefined) {
      // Go back to the refused message and re-send from it once the bucket has refilled.
      this.rewindTo(message.rejectedSeq, message.retryAfterMs ?? 1_000);
      return;
    }
    if (message.code === 'sequence-gap' && message.expectedSeq !== undefined) {
      this.rewindTo(message.expectedSeq, 0);
      return;
    }
    if (inHandshake) {
      this.handshake!.reject(error);
      return;
    }
    if (message.fatal === true) {
      this.pendingFatal = error; // the server's close follows
      return;
    }
    this.emit('warning', error);
  }

  // -------------------------------------------------------------------------------------------
  // Outgoing frames

  private flushOutbox(): void {
    const ws = this.ws;
    const writable = this.currentState === 'open' || this.currentState === 'closing'; // closing: bye and what precedes it
    if (!writable || this.paused || ws === undefined || ws.readyState !== WebSocket.OPEN) return;
    for (const entry of this.outbox) {
      if (entry.seq <= this.sentUpTo) continue;
      ws.send(this.unackedIn > 0 ? this.piggybackAck(entry.frame) : entry.frame);
      this.sentUpTo = entry.seq;
    }
  }

  /** Adds the acknowledgement the server is owed to an outgoing frame, replacing a separate ack. */
  private piggybackAck(frame: string): string {
    if (this.ackTimer !== undefined) this.clock.clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    this.unackedIn = 0;
    return `{"ack":${this.lastInSeq},${frame.slice(1)}`;
  }

  private rewindTo(seq: number, afterMs: number): void {
    this.sentUpTo = Math.min(this.sentUpTo, seq - 1);
    this.paused = true;
    if (this.retransmitTimer !== undefined) this.clock.clearTimeout(this.retransmitTimer);
    this.retransmitTimer = this.clock.setTimeout(() => {
      this.retransmitTimer = undefined;
      this.paused = false;
      this.flushOutbox();
    }, afterMs);
  }

  private trimOutbox(ack: number): void {
    let drop = 0;
    while (drop < this.outbox.length && this.outbox[drop]!.seq <= ack) drop++;
    if (drop > 0) this.outbox.splice(0, drop);
  }

  private scheduleAck(): void {
    if (++this.unackedIn >= this.ackEvery) {
      this.sendAck();
      return;
    }
    this.ackTimer ??= this.clock.setTimeout(() => {
      this.ackTimer = undefined;
      this.sendAck();
    }, this.ackDelayMs);
  }

  private sendAck(): void {
    if (this.ackTimer !== undefined) this.clock.clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    this.unackedIn = 0;
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ type: 'ack', seq: CONTROL_SEQ, ack: this.lastInSeq }));
  }

  // -------------------------------------------------------------------------------------------
  // Closing

  private async closeGracefully(): Promise<void> {
    const ws = this.ws;
    const canSayBye = this.currentState === 'open' && ws !== undefined && ws.readyState === WebSocket.OPEN;
    this.currentState = 'closing';
    this.sleepTimer?.wake();
    this.handshake?.reject(new SignalingClosedError('closed while connecting'));
    if (canSayBye) {
      // Write whatever the server has not seen, then bye; the server closes the socket after bye.
      // If the server rate-limits it, onServerError rewinds and flushOutbox re-sends it.
      const seq = this.nextSeq++;
      this.outbox.push({ seq, frame: JSON.stringify({ type: 'bye', seq }) });
      this.flushOutbox();
      await this.waitForSocketClose(ws, this.closeTimeoutMs);
    }
    this.finish(undefined);
  }

  private waitForSocketClose(ws: WebSocket, boundMs: number): Promise<void> {
    if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = this.clock.setTimeout(resolve, boundMs);
      ws.once('close', () => {
        this.clock.clearTimeout(timer);
        resolve();
      });
    });
  }

  private finish(error: NatProbeError | undefined): void {
    if (this.currentState === 'closed') return;
    this.currentState = 'closed';
    this.closeError = error;
    for (const timer of [this.ackTimer, this.retransmitTimer]) if (timer !== undefined) this.clock.clearTimeout(timer);
    this.ackTimer = undefined;
    this.retransmitTimer = undefined;
    this.sleepTimer?.wake();
    this.handshake?.reject(error ?? new SignalingClosedError());
    this.ws?.terminate();
    this.ws = undefined;
    for (const subscriber of this.subscribers) subscriber.end(error);
    this.subscribers.clear();
    this.emit('close', { error });
  }

  private isStopping(): boolean {
    return this.currentState === 'closing' || this.currentState === 'closed';
  }

  /** A backoff wait that close() can cut short. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        if (this.sleepTimer?.wake === wake) {
          this.clock.clearTimeout(this.sleepTimer.handle);
          this.sleepTimer = undefined;
        }
        resolve();
      };
      this.sleepTimer = { handle: this.clock.setTimeout(wake, ms), wake };
    });
  }
}

function serverError(message: ErrorMessage, room: string): NatProbeError {
  switch (message.code) {
    case 'room-full':
      return new RoomFullError(room, message.message);
    case 'resume-failed':
      return new SessionLostError(message.message, message.reason);
    default:
      return new SignalingRejectedError(message.code, message.message);
  }
}

function toNatProbeError(error: unknown): NatProbeError {
  if (error instanceof NatProbeError) return error;
  return new SignalingClosedError(error instanceof Error ? error.message : String(error));
}
