/**
 * The server's session logic, independent of HTTP: creating and resuming sessions, relaying
 * through the store and bus, grace periods, idle rooms and heartbeats.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { WebSocket } from 'ws';
import type { Clock, TimerHandle } from '../transport/clock.js';
import { verifyAuthToken } from './auth-token.js';
import { HeartbeatWheel } from './heartbeat-wheel.js';
import { PeerConnection } from './peer-connection.js';
import {
  CloseCode,
  CONTROL_SEQ,
  ROOM_CAPACITY,
  SERVER_FEATURES,
  SIGNALING_SUBPROTOCOL,
  type ConfigMessage,
  type IceServer,
  type JoinMessage,
  type SignalingErrorCode,
} from './protocol.js';
import type { ResolvedServerOptions } from './server-options.js';
import type { SignalingBus, SignalingStore } from './store.js';

export type SessionGrant =
  | { ok: true; peerId: string; resumeToken: string; peers: string[]; lastInSeq: number; resumed: boolean; epoch: string }
  | { ok: false; code: SignalingErrorCode; message: string; reason?: string };

/** Counters since the server started; `stats()` reports them. */
export interface SignalingCounters {
  framesReceived: number;
  joins: number;
  messagesRelayed: number;
  duplicatesDropped: number;
  rateLimited: number;
  sessionsEnded: number;
  roomsFreedIdle: number;
  internalErrors: number;
  resumes: number;
  /** Store operations that failed (Redis unreachable or state lost). */
  storeFailures: number;
}

export interface SignalingServerStats extends SignalingCounters {
  /** Open WebSocket connections on this instance. */
  connections: number;
  rooms: number;
  /** Peer sessions, connected or waiting out their resume grace period. */
  peers: number;
  /** Sessions on this instance waiting for a resume. */
  peersInGrace: number;
  /** `error` frames sent, by code. */
  errorsSent: Record<string, number>;
}

function sha256(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url');
}

export class SignalingHub {
  readonly subprotocol = SIGNALING_SUBPROTOCOL;
  readonly clock: Clock;
  readonly store: SignalingStore;
  readonly bus: SignalingBus;
  readonly counters: SignalingCounters = {
    framesReceived: 0,
    joins: 0,
    messagesRelayed: 0,
    duplicatesDropped: 0,
    rateLimited: 0,
    sessionsEnded: 0,
    roomsFreedIdle: 0,
    internalErrors: 0,
    resumes: 0,
    storeFailures: 0,
  };

  private readonly errorCounts: Record<string, number> = {};
  private readonly connections = new Set<PeerConnection>();
  private readonly graceTimers = new Map<string, TimerHandle>();
  private readonly wheel: HeartbeatWheel<PeerConnection>;
  private idleTimer: TimerHandle | undefined;
  private closed = false;
  private readonly unlisten: (() => void)[] = [];

  constructor(readonly options: ResolvedServerOptions) {
    this.clock = options.clock;
    this.store = options.store;
    this.bus = options.bus;
    this.wheel = new HeartbeatWheel(this.clock, options.heartbeatMs, (connection, now) => connection.heartbeat(now));
    this.wheel.start();
    this.armIdleSweep();
    // A shared store that lost its state: every session served here is gone. Say so, so that
    // clients reconnect, get `resume-failed` (reason state-lost) and start again cleanly.
    const unlistenLost = this.store.onStateLost?.((epoch) => {
      options.logger.warn({ epoch, connections: this.connections.size }, 'signaling state lost (new epoch): closing every connection with state-lost');
      for (const connection of [...this.connections]) {
        connection.fail('state-lost', `The server state was lost (Redis restarted or was flushed; new epoch ${epoch}); your session is gone. Join again.`, CloseCode.stateLost);
      }
    });
    if (unlistenLost !== undefined) this.unlisten.push(unlistenLost);
    // The bus may have missed deliveries (its connection came back): every connection re-reads its outbox.
    const unlistenResync = this.bus.onResync?.(() => {
      for (const connection of this.connections) connection.backfill();
    });
    if (unlistenResync !== undefined) this.unlisten.push(unlistenResync);
  }

  /** Runs a store operation nobody awaits; a failure is counted, never an unhandled rejection. */
  background(work: Promise<unknown>): void {
    work.catch((error: unknown) => {
      this.counters.storeFailures++;
      this.options.logger.warn({ error: error instanceof Error ? error.message : String(error) }, 'background store operation failed');
    });
  }

  /** Takes over a freshly upgraded WebSocket. */
  accept(ws: WebSocket): void {
    const connection = new PeerConnection(ws, this);
    if (this.closed) {
      connection.shutdown();
      return;
    }
    if (ws.protocol !== SIGNALING_SUBPROTOCOL) {
      connection.refuseProtocol(ws.protocol);
      return;
    }
    this.connections.add(connection);
    this.wheel.add(connection);
  }

  forget(connection: PeerConnection): void {
    this.connections.delete(connection);
    this.wheel.remove(connection);
  }

  /** `by`: the joining connection's nonce, recorded as the session's holder. */
  async createSession(join: JoinMessage, by = ''): Promise<SessionGrant> {
    if (this.closed) return { ok: false, code: 'server-shutdown', message: 'The signaling server is shutting down.' };
    if (this.options.authSecret !== undefined) {
      const check = verifyAuthToken(this.options.authSecret, join.auth, join.room, Math.floor(this.clock.now() / 1000));
      if (!check.ok) return { ok: false, code: 'unauthorized', message: check.message };
    }
    const peerId = `p-${randomBytes(9).toString('base64url')}`;
    const epoch = this.store.epoch();
    // The epoch rides in the token, so a resume after the state was lost can say so precisely.
    const resumeToken = `${epoch}.${randomBytes(24).toString('base64url')}`;
    const outcome = await this.store.addPeer(
      {
        room: join.room,
        peerId,
        resumeTokenHash: sha256(resumeToken),
        roomTokenHash: join.token === undefined ? undefined : sha256(join.token),
        now: this.clock.now(),
        holder: by,
      },
      { maxRooms: this.options.maxRooms, maxPeers: this.options.maxPeers, roomCapacity: ROOM_CAPACITY },
    );
    if (!outcome.ok) return { ok: false, code: outcome.code, message: this.describeRefusal(outcome.code, join.room) };
    this.options.logger.debug({ peerId, room: join.room, peers: outcome.peers.length }, 'session started');
    return { ok: true, peerId, resumeToken, peers: outcome.peers, lastInSeq: 0, resumed: false, epoch };
  }

  /** `by` names the resuming connection, so a late `superseded` drop does not hit it. */
  async resumeSession(join: JoinMessage, by: string): Promise<SessionGrant> {
    const resume = join.resume ?? '';
    const dot = resume.indexOf('.');
    const tokenEpoch = dot > 0 ? resume.slice(0, dot) : undefined;
    const epoch = this.store.epoch();
    if (tokenEpoch !== epoch) {
      return {
        ok: false,
        code: 'resume-failed',
        reason: 'state-lost',
        message: `The server state this session belonged to is gone (epoch ${tokenEpoch ?? 'unknown'}, now ${epoch}: the server or its Redis restarted without it). Join again without resume.`,
      };
    }
    const lost: SessionGrant = {
      ok: false,
      code: 'resume-failed',
      reason: 'unknown-session',
      message: `No session for this resume token in room "${join.room}": its grace period of ${this.options.resumeGraceMs} ms ran out, or it ended. Join again without resume.`,
    };
    const record = await this.store.findPeerByResumeToken(sha256(resume));
    if (record === undefined || record.room !== join.room) return lost;
    const peerId = record.peerId;
    this.cancelGrace(peerId);
    // If the old connection is still open (its death not yet noticed), it yields to this one.
    this.bus.publish(peerId, { kind: 'drop', code: 'superseded', message: 'Another connection resumed this session.', closeCode: CloseCode.superseded, by });
    if (!(await this.store.setConnected(peerId, true, by))) return lost;
    const current = await this.store.getPeer(peerId);
    if (current === undefined) return lost;
    if (join.ack !== undefined) await this.store.acknowledgeOutbound(peerId, join.ack);
    const peers = (await this.store.roomPeers(join.room)).filter((id) => id !== peerId);
    this.counters.resumes++;
    this.options.logger.debug({ peerId, room: join.room }, 'session resumed');
    return { ok: true, peerId, resumeToken: resume, peers, lastInSeq: current.lastInSeq, resumed: true, epoch };
  }

  /** Tells the peers already in the room that `peerId` arrived. */
  async announceJoin(peerId: string, others: readonly string[]): Promise<void> {
    const body = JSON.stringify({ type: 'peer-joined', peerId });
    for (const other of others) await this.deliver(other, body);
  }

  /** Queues a stream message for `peerId` and hands it to the bus; drops a peer that stopped acknowledging. */
  async deliver(peerId: string, body: string): Promise<void> {
    const outcome = await this.store.enqueueOutbound(peerId, body, this.options.maxPendingMessages);
    if (outcome.kind === 'queued') {
      if (this.store.publishesOnWrite !== true) this.bus.publish(peerId, { kind: 'deliver', entry: outcome.entry });
    } else if (outcome.kind === 'overflow') {
      await this.dropUnacknowledging([peerId]);
    }
  }

  /** Ends the sessions of peers whose outbox overflowed: they stopped acknowledging. */
  async dropUnacknowledging(peerIds: readonly string[]): Promise<void> {
    for (const peerId of peerIds) {
      await this.evict(
        peerId,
        'too-many-pending',
        `${this.options.maxPendingMessages} messages were not acknowledged, so the session was dropped; acknowledge with ack messages.`,
        CloseCode.tooManyPending,
      );
    }
  }

  /** A joined connection (`holder`, its nonce) went away without `bye`: keep the session for the grace period. */
  onPeerDisconnected(peerId: string, reason: string, holder = ''): void {
    if (this.closed) return;
    if (this.options.resumeGraceMs <= 0) {
      this.background(this.endSession(peerId, reason));
      return;
    }
    this.background(this.store.setConnected(peerId, false, holder));
    this.cancelGrace(peerId);
    this.graceTimers.set(
      peerId,
      this.clock.setTimeout(() => {
        this.graceTimers.delete(peerId);
        this.background(this.endAbandonedSession(peerId, reason, holder));
      }, this.options.resumeGraceMs),
    );
  }

  /**
   * The grace period ran out on this instance. With a shared store the peer may have resumed on
   * another instance meanwhile (its grace timer is here, not there): then it is connected, or
   * another connection holds it (whose own grace period decides), and it stays.
   */
  private async endAbandonedSession(peerId: string, reason: string, holder: string): Promise<void> {
    const record = await this.store.getPeer(peerId);
    if (record === undefined || record.connected) return;
    if (record.holder !== '' && record.holder !== holder) return;
    await this.endSession(peerId, reason);
  }

  /** Removes the session; the other peer gets `peer-left` with `reason`. */
  async endSession(peerId: string, reason: string): Promise<void> {
    this.cancelGrace(peerId);
    const removed = await this.store.removePeer(peerId);
    if (removed === undefined) return;
    this.counters.sessionsEnded++;
    this.options.logger.debug({ peerId, room: removed.room, reason }, 'session ended');
    const body = JSON.stringify({ type: 'peer-left', peerId, reason });
    for (const other of removed.remaining) await this.deliver(other, body);
  }

  /** The `config` sent after `peerId`'s join: the limits, and the static plus per-peer ICE servers. */
  configMessage(peerId: string): ConfigMessage {
    const o = this.options;
    const iceServers = [...(o.iceServers ?? []), ...this.iceServersFor(peerId)];
    return {
      type: 'config',
      seq: CONTROL_SEQ,
      heartbeatMs: o.heartbeatMs,
      resumeGraceMs: o.resumeGraceMs,
      maxPayloadBytes: o.maxPayloadBytes,
      rateLimit: { ...o.rateLimit },
      features: [...SERVER_FEATURES],
      ...(o.iceServers === undefined && o.iceServersFor === undefined ? {} : { iceServers }),
    };
  }

  private iceServersFor(peerId: string): IceServer[] {
    if (this.options.iceServersFor === undefined) return [];
    try {
      return this.options.iceServersFor(peerId);
    } catch {
      // A broken credential source must not stop peers from joining: they go on without TURN.
      this.countError('ice-servers-failed');
      return [];
    }
  }

  countError(code: string): void {
    this.errorCounts[code] = (this.errorCounts[code] ?? 0) + 1;
  }

  async stats(): Promise<SignalingServerStats> {
    const counts = await this.store.counts();
    return {
      ...this.counters,
      connections: this.connections.size,
      rooms: counts.rooms,
      peers: counts.peers,
      peersInGrace: this.graceTimers.size,
      errorsSent: { ...this.errorCounts },
    };
  }

  /** Stops timers and asks every connection to close; the caller waits for the sockets. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const unlisten of this.unlisten) unlisten();
    this.wheel.stop();
    if (this.idleTimer !== undefined) this.clock.clearTimeout(this.idleTimer);
    for (const timer of this.graceTimers.values()) this.clock.clearTimeout(timer);
    this.graceTimers.clear();
    for (const connection of [...this.connections]) connection.shutdown();
  }

  /** Ends a session at once: closes its connection (wherever it is) and tells the other peer. */
  private async evict(peerId: string, code: SignalingErrorCode, message: string, closeCode: number): Promise<void> {
    this.bus.publish(peerId, { kind: 'drop', code, message, closeCode });
    await this.endSession(peerId, code);
  }

  private cancelGrace(peerId: string): void {
    const timer = this.graceTimers.get(peerId);
    if (timer === undefined) return;
    this.clock.clearTimeout(timer);
    this.graceTimers.delete(peerId);
  }

  private armIdleSweep(): void {
    // Checking four times per idle period frees a room at most 25 % after it went idle.
    const every = Math.max(10, Math.min(this.options.roomIdleMs / 4, 60_000));
    this.idleTimer = this.clock.setTimeout(() => {
      this.armIdleSweep(); // re-armed at once, so a fake clock advanced far runs every sweep
      this.background(this.sweepIdleRooms());
    }, every);
  }

  /** Frees idle rooms. Safe to overlap with itself: removing an already removed peer does nothing. */
  private async sweepIdleRooms(): Promise<void> {
    const idle = await this.store.idleRooms(this.clock.now() - this.options.roomIdleMs);
    for (const room of idle) {
      const message = `Room "${room}" had no activity for ${this.options.roomIdleMs} ms and was freed; join again to continue.`;
      let freed = false;
      for (const peerId of await this.store.roomPeers(room)) {
        this.cancelGrace(peerId);
        // Removed first, then told: a peer that hears room-idle finds the store already final.
        const removed = await this.store.removePeer(peerId);
        this.bus.publish(peerId, { kind: 'drop', code: 'room-idle', message, closeCode: CloseCode.roomIdle });
        if (removed === undefined) continue;
        this.counters.sessionsEnded++;
        freed ||= removed.roomFreed;
      }
      if (freed) this.counters.roomsFreedIdle++;
    }
  }

  private describeRefusal(code: 'room-full' | 'room-token-mismatch' | 'too-many-rooms' | 'too-many-peers', room: string): string {
    switch (code) {
      case 'room-full':
        return `Room "${room}" already has ${ROOM_CAPACITY} peers; use another room name.`;
      case 'room-token-mismatch':
        return `Room "${room}" was created with a different token; use the same token on both peers.`;
      case 'too-many-rooms':
        return `The server holds its maximum of ${this.options.maxRooms} rooms; try again later or raise maxRooms.`;
      case 'too-many-peers':
        return `The server holds its maximum of ${this.options.maxPeers} peers; try again later or raise maxPeers.`;
    }
  }
}
