/**
 * One WebSocket on the server: checks, decodes and dispatches its frames, and writes what the
 * bus delivers for its peer. Frames are handled one at a time, in arrival order (the store is
 * asynchronous, and sequence checks must see the previous frame's effect). Once joined, stream
 * and ack frames are pipelined: each goes to the store without waiting for the previous one's
 * answer, since the store applies one peer's calls in call order (SignalingStore), and their
 * answers are handled in that same order. So a burst read in one go costs one Redis batch, not
 * one round trip per frame.
 */
import { randomBytes } from 'node:crypto';
import type { RawData, WebSocket } from 'ws';
import {
  CloseCode,
  CONTROL_SEQ,
  decodeClientFrame,
  isClientStreamMessage,
  PROTOCOL_VERSION,
  withSeq,
  type ClientStreamMessage,
  type JoinMessage,
  type SignalingErrorCode,
} from './protocol.js';
import type { SignalingHub } from './signaling-hub.js';
import { SerialQueue } from './serial-queue.js';
import { StateLostError, StoreUnavailableError, type AcceptOutcome, type BusEvent, type OutboundEntry } from './store.js';
import { TokenBucket } from './token-bucket.js';
import { WriteBatcher } from './write-batching.js';

type ConnectionState = 'awaiting-join' | 'joined' | 'closed';

interface ErrorExtras {
  path?: (string | number)[];
  rejectedSeq?: number;
  expectedSeq?: number;
  retryAfterMs?: number;
  reason?: string;
  fatal?: boolean;
}

/**
 * What the other peer gets: the validated message with `from` added, and `seq` and `ack` (which
 * belong to this hop) left out. Setting them to undefined drops them from JSON without a copy;
 * the message is not used afterwards.
 */
function relayBody(from: string, message: ClientStreamMessage): string {
  const relayed = message as unknown as { seq?: number; ack?: number; from?: string };
  relayed.seq = undefined;
  relayed.ack = undefined;
  relayed.from = from;
  return JSON.stringify(relayed);
}

export class PeerConnection {
  state: ConnectionState = 'awaiting-join';
  peerId: string | undefined;
  /** Set by any frame or pong; cleared by each heartbeat visit. */
  alive = true;
  readonly openedAt: number;
  /** Names this connection in the `superseded` drop its own resume publishes. */
  readonly nonce = randomBytes(6).toString('base64url');

  private readonly bucket: TokenBucket;
  private readonly batcher: WriteBatcher;
  private readonly queue: SerialQueue;
  /** Mirror of the store's last accepted client seq for this peer. */
  private lastInSeq = 0;
  /**
   * The last client seq sent to the store in order (accepted, or still on its way): what a
   * rate-limited frame is compared with to tell whether it was the one expected next.
   */
  private submittedSeq = 0;
  /** A `bye` went to the store: later frames are ignored. */
  private leaving = false;
  /** Accepted client stream messages not yet acknowledged to the client. */
  private unackedIn = 0;
  /** After a rate-limit or gap error, later out-of-order frames are dropped silently until the expected one comes. */
  private awaitingRetransmit = false;
  /**
   * The seq the client was asked to re-send from. Only its acceptance ends the wait: with frames
   * pipelined, an earlier frame's acceptance can arrive after the refusal, and must not end it.
   */
  private retransmitFrom = 0;
  /** One `rate-limited` error per burst of refused control frames. */
  private throttleReported = false;
  /** Highest server stream seq written to this socket: replay and live delivery never repeat one. */
  private lastSentSeq = 0;
  /** While a resume replays the outbox, live deliveries wait here so that order holds. */
  private heldDuringReplay: OutboundEntry[] | undefined;
  private unsubscribe: (() => void) | undefined;
  private disconnectReason = 'connection-lost';
  /** Set once the store failed under this connection: later frames are ignored until it closes. */
  private failed = false;

  constructor(
    private readonly ws: WebSocket,
    private readonly hub: SignalingHub,
  ) {
    this.openedAt = hub.clock.now();
    this.bucket = new TokenBucket(hub.options.rateLimit, hub.clock);
    this.batcher = new WriteBatcher(ws);
    this.queue = new SerialQueue((error) => this.onTaskError(error));
    ws.on('message', (data, isBinary) => this.onFrame(data, isBinary));
    ws.on('pong', () => {
      this.alive = true;
    });
    ws.on('close', () => this.onClosed());
    // ws emits 'close' after 'error'; handling it there is enough.
    ws.on('error', () => undefined);
  }

  /** Heartbeat visit: ping a live connection; close one that did not answer the last ping. */
  heartbeat(now: number): void {
    if (this.state === 'closed') return;
    if (this.state === 'awaiting-join' && now - this.openedAt >= this.hub.options.joinTimeoutMs) {
      this.dropConnection('join-timeout', `No join within ${this.hub.options.joinTimeoutMs} ms; send join first.`, CloseCode.joinTimeout);
      return;
    }
    if (!this.alive) {
      this.disconnectReason = 'heartbeat-timeout';
      this.ws.terminate();
      this.onClosed();
      return;
    }
    this.alive = false;
    this.ws.ping();
    if (this.unackedIn > 0) this.sendAck();
  }

  /** Server shutdown: tell the client, then close. */
  shutdown(): void {
    if (this.state === 'closed') return;
    this.sendError('server-shutdown', 'The signaling server is shutting down; reconnect later.', { fatal: true });
    this.ws.close(CloseCode.goingAway, 'server shutdown');
  }

  /** Refuses a connection that did not negotiate the protocol's subprotocol. */
  refuseProtocol(offered: string): void {
    this.state = 'closed';
    this.sendError(
      'unsupported-protocol',
      `This server speaks WebSocket subprotocol "${this.hub.subprotocol}" only (offered: "${offered}"); upgrade nat-probe on both ends.`,
      { fatal: true },
    );
    this.ws.close(CloseCode.protocolError, 'unsupported protocol');
  }

  /**
   * The store failed under this connection: tell the client and close. A joined session keeps
   * its grace period (the close is an ordinary disconnect), so the client resumes, here or on
   * another instance, and re-sends what was not acknowledged.
   */
  fail(code: 'store-unavailable' | 'state-lost', message: string, closeCode: number): void {
    if (this.state === 'closed' || this.failed) return;
    this.failed = true;
    this.sendError(code, message, { fatal: true });
    this.ws.close(closeCode, code);
  }

  private onTaskError(error: unknown): void {
    if (error instanceof StoreUnavailableError || error instanceof StateLostError) {
      this.hub.counters.storeFailures++;
      this.hub.options.logger.warn({ peerId: this.peerId, error: error.message }, 'store failed under a connection; closing it so the client resumes');
      if (error instanceof StateLostError) this.fail('state-lost', `The server state was lost (${error.message}); join again.`, CloseCode.stateLost);
      else this.fail('store-unavailable', `The signaling store is unavailable (${error.message}); reconnect and resume in a moment.`, CloseCode.storeUnavailable);
      return;
    }
    this.hub.counters.internalErrors++;
    this.hub.options.logger.error({ peerId: this.peerId, error: error instanceof Error ? error.stack : String(error) }, 'internal error handling a frame');
    this.sendError('internal-error', `The server failed to handle a frame (${error instanceof Error ? error.message : String(error)}).`);
  }

  /**
   * Re-reads this peer's outbox and writes what this socket has not had, in order: after the bus
   * may have lost deliveries (a seq skipped, or its connection came back). Idempotent.
   */
  backfill(): void {
    if (this.state !== 'joined' || this.peerId === undefined || this.heldDuringReplay !== undefined) return;
    const peerId = this.peerId;
    this.heldDuringReplay = [];
    this.hub.store.pendingOutbound(peerId, this.lastSentSeq).then(
      (missed) => this.endReplay(missed),
      () => {
        this.hub.counters.storeFailures++;
        this.endReplay([]);
      },
    );
  }

  /** Writes replayed entries, then what the bus delivered meanwhile; writeEntry drops repeats. */
  private endReplay(missed: OutboundEntry[]): void {
    const held = this.heldDuringReplay ?? [];
    this.heldDuringReplay = undefined;
    for (const entry of missed) this.writeEntry(entry, true);
    for (const entry of held) this.writeEntry(entry);
  }

  private onFrame(data: RawData, isBinary: boolean): void {
    this.alive = true;
    if (this.state === 'closed' || this.failed) return;
    this.hub.counters.framesReceived++;
    const bytes = Array.isArray(data) ? data.reduce((sum, part) => sum + part.length, 0) : data.byteLength;
    const limit = this.hub.options.maxPayloadBytes;
    if (bytes > limit) {
      // ws's own maxPayload (a multiple of this limit) guards memory; this check gives the clear error.
      this.sendError('message-too-large', `A frame of ${bytes} bytes exceeds the limit of ${limit} bytes; send smaller messages.`, { fatal: true });
      this.ws.close(CloseCode.messageTooBig, 'message too large');
      return;
    }
    this.queue.run(() => this.handleFrame(data, isBinary));
  }

  /** Returns a promise only when it waits on the store; the queue holds later frames until then. */
  private handleFrame(data: RawData, isBinary: boolean): void | Promise<void> {
    if (this.state === 'closed' || this.failed || this.leaving) return;
    if (isBinary) {
      this.sendError('binary-not-supported', 'Send JSON as text frames, not binary frames.');
      return;
    }
    const text = Buffer.isBuffer(data) ? data.toString('utf8') : Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data).toString('utf8');
    if (!this.bucket.tryTake()) {
      this.onThrottled(text);
      return;
    }
    this.throttleReported = false;
    const decoded = decodeClientFrame(text);
    if (!decoded.ok) {
      this.sendError(decoded.code, decoded.message, decoded.path === undefined ? {} : { path: decoded.path });
      return;
    }
    const message = decoded.message;
    if (message.type === 'join') return this.onJoin(message);
    if (this.state !== 'joined' || this.peerId === undefined) {
      this.sendError('not-joined', `Send join before ${message.type}.`);
      return;
    }
    if (message.type === 'ack') {
      this.pipelined(this.hub.store.acknowledgeOutbound(this.peerId, message.ack));
      return;
    }
    if (isClientStreamMessage(message)) {
      if (message.seq === this.submittedSeq + 1) this.submittedSeq = message.seq;
      if (message.type === 'bye') this.leaving = true;
      this.pipelined(this.onStreamMessage(this.peerId, message));
    }
  }

  /** Store work the queue does not wait for (see the class comment); its failure is handled as a task's. */
  private pipelined(work: Promise<void>): void {
    work.catch((error: unknown) => this.onTaskError(error));
  }

  private onThrottled(text: string): void {
    this.hub.counters.rateLimited++;
    const retryAfterMs = this.bucket.msUntilNextToken();
    const decoded = decodeClientFrame(text);
    if (decoded.ok && this.state === 'joined' && isClientStreamMessage(decoded.message)) {
      // Only the frame the server expects next is worth an error: the client re-sends from it.
      // Later ones would be gaps anyway, so they are dropped without a word.
      if (decoded.message.seq === this.submittedSeq + 1) {
        this.awaitingRetransmit = true;
        this.retransmitFrom = decoded.message.seq;
        this.sendError('rate-limited', `Too many messages; re-send from seq ${decoded.message.seq} in ${retryAfterMs} ms.`, {
          rejectedSeq: decoded.message.seq,
          retryAfterMs,
        });
      }
      return;
    }
    if (decoded.ok && decoded.message.type === 'ack') return; // acks are cumulative; the next one covers it
    if (this.throttleReported) return;
    this.throttleReported = true;
    this.sendError('rate-limited', `Too many messages; wait ${retryAfterMs} ms.`, { retryAfterMs });
  }

  private async onJoin(message: JoinMessage): Promise<void> {
    if (this.state === 'joined') {
      this.sendError('already-joined', `This connection already joined as ${this.peerId}; open another connection to join another room.`);
      return;
    }
    let joined;
    try {
      joined = message.resume === undefined ? await this.hub.createSession(message, this.nonce) : await this.hub.resumeSession(message, this.nonce);
    } catch (error) {
      if (!(error instanceof StoreUnavailableError || error instanceof StateLostError)) throw error;
      // Not joined, nothing to keep: say so and stay open; the client tries again after a backoff.
      this.hub.counters.storeFailures++;
      this.sendError('store-unavailable', `The signaling store is unavailable, so no room can be joined now (${error.message}); try again shortly.`);
      return;
    }
    if (!joined.ok) {
      this.sendError(joined.code, joined.message, joined.reason === undefined ? {} : { reason: joined.reason });
      return;
    }
    if (this.state === 'closed') {
      // The socket died while the store was working: treat it as an ordinary disconnect.
      this.hub.onPeerDisconnected(joined.peerId, 'connection-lost', this.nonce);
      return;
    }
    this.state = 'joined';
    this.peerId = joined.peerId;
    this.lastInSeq = joined.lastInSeq;
    this.submittedSeq = joined.lastInSeq;
    this.lastSentSeq = joined.resumed ? (message.ack ?? 0) : 0;
    this.heldDuringReplay = [];
    try {
      this.unsubscribe = await this.hub.bus.subscribe(joined.peerId, (event) => this.onBusEvent(event));
    } catch (error) {
      // The session exists but cannot hear its deliveries: close (onClosed starts its grace
      // period, as for any disconnect); the client resumes.
      this.onTaskError(error);
      return;
    }
    if ((this.state as ConnectionState) === 'closed') {
      // Closed while subscribing: onClosed already started the grace period; drop the late subscription.
      this.detach();
      return;
    }
    this.hub.counters.joins++;
    this.sendControl({
      type: 'joined',
      seq: CONTROL_SEQ,
      v: PROTOCOL_VERSION,
      room: message.room,
      peerId: joined.peerId,
      resumeToken: joined.resumeToken,
      peers: joined.peers,
      ack: joined.lastInSeq,
      resumed: joined.resumed,
      epoch: joined.epoch,
    });
    this.sendControl(this.hub.configMessage(joined.peerId));
    // Re-send what the peer missed while away (on a fresh join: anything queued before the
    // subscription above), then what the bus delivered meanwhile.
    let missed: OutboundEntry[] = [];
    try {
      missed = await this.hub.store.pendingOutbound(joined.peerId, this.lastSentSeq);
    } finally {
      this.endReplay(missed);
    }
    if (!joined.resumed) await this.hub.announceJoin(joined.peerId, joined.peers);
  }

  private onStreamMessage(peerId: string, message: ClientStreamMessage): Promise<void> {
    const { seq, type } = message;
    const inbound = { seq, ack: message.ack, body: type === 'bye' ? undefined : relayBody(peerId, message) };
    return this.hub.store
      .acceptStreamMessage(peerId, inbound, this.hub.clock.now(), this.hub.options.maxPendingMessages)
      .then((outcome) => this.afterStreamMessage(peerId, seq, type, outcome));
  }

  private afterStreamMessage(peerId: string, seq: number, type: ClientStreamMessage['type'], outcome: AcceptOutcome): void | Promise<void> {
    // A refused bye (a gap, say) did not end the session: the client re-sends, and is heard.
    if (type === 'bye' && outcome.kind !== 'accepted') this.leaving = false;
    switch (outcome.kind) {
      case 'duplicate':
        this.hub.counters.duplicatesDropped++;
        return;
      case 'gap':
        this.submittedSeq = this.lastInSeq;
        if (!this.awaitingRetransmit) {
          this.awaitingRetransmit = true;
          this.retransmitFrom = outcome.expected;
          this.sendError('sequence-gap', `Expected seq ${outcome.expected} but got ${seq}; re-send from ${outcome.expected}.`, {
            expectedSeq: outcome.expected,
          });
        }
        return;
      case 'unknown-peer':
        return; // the session was just dropped; the bus is closing this connection
      case 'accepted':
        break;
    }
    this.lastInSeq = seq;
    if (seq >= this.retransmitFrom) this.awaitingRetransmit = false;
    if (++this.unackedIn >= this.hub.options.ackEvery) this.sendAck();
    if (type === 'bye') {
      this.leave(peerId);
      return;
    }
    if (outcome.partners === 0) {
      this.sendError('no-peer', `No other peer is in the room, so ${type} (seq ${seq}) was dropped; wait for peer-joined.`);
      return;
    }
    this.hub.counters.messagesRelayed++;
    if (this.hub.store.publishesOnWrite !== true) {
      for (const { peerId: partner, entry } of outcome.queued) this.hub.bus.publish(partner, { kind: 'deliver', entry });
    }
    if (outcome.overflowed.length > 0) return this.hub.dropUnacknowledging(outcome.overflowed);
  }

  /** `bye`: the session ends now, with no grace period. */
  private leave(peerId: string): void {
    this.sendAck();
    this.detach();
    this.state = 'closed';
    this.hub.background(this.hub.endSession(peerId, 'bye'));
    this.ws.close(CloseCode.normal, 'bye');
  }

  private onBusEvent(event: BusEvent): void {
    if (event.kind === 'deliver') {
      if (this.heldDuringReplay !== undefined) this.heldDuringReplay.push(event.entry);
      else this.writeEntry(event.entry);
      return;
    }
    // The session ended elsewhere (resumed on another connection, room idle, too many pending).
    if (event.by === this.nonce) return; // our own resume's order to the connection we replace
    this.dropConnection(event.code as SignalingErrorCode, event.message, event.closeCode);
  }

  private writeEntry(entry: OutboundEntry, replayed = false): void {
    if (entry.seq <= this.lastSentSeq) return;
    if (!replayed && entry.seq > this.lastSentSeq + 1) {
      // A live delivery skipped ahead: the bus lost some (Pub/Sub is at-most-once). The outbox
      // has them; fetch them first, and this one after.
      this.backfill();
      this.heldDuringReplay?.push(entry);
      return;
    }
    this.lastSentSeq = entry.seq;
    // Piggyback the acknowledgement this peer is owed, instead of a separate ack frame later.
    const ack = this.unackedIn > 0 ? this.lastInSeq : undefined;
    this.unackedIn = 0;
    this.sendText(withSeq(entry.seq, entry.body, ack));
  }

  /** Closes this connection without a grace period: its session is gone or lives on elsewhere. */
  private dropConnection(code: SignalingErrorCode, message: string, closeCode: number): void {
    if (this.state === 'closed') return;
    this.detach();
    this.state = 'closed';
    this.sendError(code, message, { fatal: true });
    this.ws.close(closeCode, code);
  }

  private onClosed(): void {
    const wasJoined = this.state === 'joined';
    this.state = 'closed';
    this.detach();
    this.hub.forget(this);
    if (wasJoined && this.peerId !== undefined) this.hub.onPeerDisconnected(this.peerId, this.disconnectReason, this.nonce);
  }

  private detach(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  private sendAck(): void {
    this.unackedIn = 0;
    this.sendControl({ type: 'ack', seq: CONTROL_SEQ, ack: this.lastInSeq });
  }

  private sendError(code: SignalingErrorCode, message: string, extras: ErrorExtras = {}): void {
    this.hub.countError(code);
    this.sendControl({ type: 'error', seq: CONTROL_SEQ, code, message, ...extras });
  }

  private sendControl(message: object): void {
    this.sendText(JSON.stringify(message));
  }

  private sendText(text: string): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    if (this.ws.bufferedAmount > this.hub.options.maxBufferedBytes) {
      // The client reads slower than we write: cut it loose rather than buffer without bound.
      // Its session keeps its outbox and can resume.
      this.disconnectReason = 'connection-lost';
      this.ws.terminate();
      this.onClosed();
      return;
    }
    this.batcher.hold();
    this.ws.send(text);
  }
}
