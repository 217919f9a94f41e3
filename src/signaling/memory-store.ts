/**
 * The default store and bus: plain Maps in this process. Every method runs to completion
 * synchronously inside its Promise, which makes each one atomic, as the interface requires.
 */
import { randomBytes } from 'node:crypto';
import type {
  AcceptOutcome,
  AddPeerOutcome,
  BusEvent,
  EnqueueOutcome,
  InboundStreamMessage,
  OutboundEntry,
  PeerRecord,
  RemovedPeer,
  SignalingBus,
  SignalingStore,
  StoreCounts,
  StoreLimits,
} from './store.js';

interface Room {
  readonly peers: string[];
  readonly tokenHash: string | undefined;
  lastActiveAt: number;
}

interface Session {
  readonly peerId: string;
  readonly room: string;
  readonly resumeTokenHash: string;
  lastInSeq: number;
  nextOutSeq: number;
  connected: boolean;
  holder: string;
  /** Unacknowledged stream messages for this peer, in seq order. */
  outbox: OutboundEntry[];
}

export class MemorySignalingStore implements SignalingStore {
  private readonly rooms = new Map<string, Room>();
  private readonly sessions = new Map<string, Session>();
  private readonly byResumeToken = new Map<string, string>();
  /** A process's memory starts empty: each store is its own epoch. */
  private readonly currentEpoch = randomBytes(6).toString('base64url');

  epoch(): string {
    return this.currentEpoch;
  }

  async addPeer(
    input: { room: string; peerId: string; resumeTokenHash: string; roomTokenHash: string | undefined; now: number; holder?: string },
    limits: StoreLimits,
  ): Promise<AddPeerOutcome> {
    let room = this.rooms.get(input.room);
    if (room === undefined) {
      if (this.rooms.size >= limits.maxRooms) return { ok: false, code: 'too-many-rooms' };
    } else {
      if (room.tokenHash !== input.roomTokenHash) return { ok: false, code: 'room-token-mismatch' };
      if (room.peers.length >= limits.roomCapacity) return { ok: false, code: 'room-full' };
    }
    if (this.sessions.size >= limits.maxPeers) return { ok: false, code: 'too-many-peers' };
    if (room === undefined) {
      room = { peers: [], tokenHash: input.roomTokenHash, lastActiveAt: input.now };
      this.rooms.set(input.room, room);
    }
    const others = [...room.peers];
    room.peers.push(input.peerId);
    room.lastActiveAt = input.now;
    this.sessions.set(input.peerId, {
      peerId: input.peerId,
      room: input.room,
      resumeTokenHash: input.resumeTokenHash,
      lastInSeq: 0,
      nextOutSeq: 1,
      connected: true,
      holder: input.holder ?? '',
      outbox: [],
    });
    this.byResumeToken.set(input.resumeTokenHash, input.peerId);
    return { ok: true, peers: others };
  }

  async getPeer(peerId: string): Promise<PeerRecord | undefined> {
    return this.record(this.sessions.get(peerId));
  }

  async findPeerByResumeToken(resumeTokenHash: string): Promise<PeerRecord | undefined> {
    const peerId = this.byResumeToken.get(resumeTokenHash);
    return peerId === undefined ? undefined : this.record(this.sessions.get(peerId));
  }

  async setConnected(peerId: string, connected: boolean, holder = ''): Promise<boolean> {
    const session = this.sessions.get(peerId);
    if (session === undefined) return false;
    if (connected) {
      session.connected = true;
      session.holder = holder;
    } else if (session.holder === '' || session.holder === holder) {
      session.connected = false;
    }
    return true;
  }

  async removePeer(peerId: string): Promise<RemovedPeer | undefined> {
    const session = this.sessions.get(peerId);
    if (session === undefined) return undefined;
    this.sessions.delete(peerId);
    this.byResumeToken.delete(session.resumeTokenHash);
    const room = this.rooms.get(session.room);
    if (room === undefined) return { room: session.room, remaining: [], roomFreed: true };
    const index = room.peers.indexOf(peerId);
    if (index >= 0) room.peers.splice(index, 1);
    const roomFreed = room.peers.length === 0;
    if (roomFreed) this.rooms.delete(session.room);
    return { room: session.room, remaining: [...room.peers], roomFreed };
  }

  async roomPeers(room: string): Promise<string[]> {
    return [...(this.rooms.get(room)?.peers ?? [])];
  }

  async acceptStreamMessage(peerId: string, message: InboundStreamMessage, now: number, maxPending: number): Promise<AcceptOutcome> {
    const session = this.sessions.get(peerId);
    if (session === undefined) return { kind: 'unknown-peer' };
    if (message.ack !== undefined) acknowledge(session.outbox, message.ack);
    if (message.seq <= session.lastInSeq) return { kind: 'duplicate' };
    if (message.seq !== session.lastInSeq + 1) return { kind: 'gap', expected: session.lastInSeq + 1 };
    session.lastInSeq = message.seq;
    const room = this.rooms.get(session.room);
    const outcome = { kind: 'accepted' as const, partners: 0, queued: [] as { peerId: string; entry: OutboundEntry }[], overflowed: [] as string[] };
    if (room === undefined) return outcome;
    room.lastActiveAt = now;
    for (const partnerId of room.peers) {
      if (partnerId === peerId) continue;
      outcome.partners++;
      const partner = this.sessions.get(partnerId);
      if (partner === undefined || message.body === undefined) continue;
      if (partner.outbox.length >= maxPending) outcome.overflowed.push(partnerId);
      else outcome.queued.push({ peerId: partnerId, entry: push(partner, message.body) });
    }
    return outcome;
  }

  async enqueueOutbound(peerId: string, body: string, maxPending: number): Promise<EnqueueOutcome> {
    const session = this.sessions.get(peerId);
    if (session === undefined) return { kind: 'unknown-peer' };
    if (session.outbox.length >= maxPending) return { kind: 'overflow' };
    return { kind: 'queued', entry: push(session, body) };
  }

  async acknowledgeOutbound(peerId: string, ack: number): Promise<void> {
    const outbox = this.sessions.get(peerId)?.outbox;
    if (outbox !== undefined) acknowledge(outbox, ack);
  }

  async pendingOutbound(peerId: string, afterSeq: number): Promise<OutboundEntry[]> {
    return (this.sessions.get(peerId)?.outbox ?? []).filter((entry) => entry.seq > afterSeq);
  }

  async idleRooms(before: number): Promise<string[]> {
    const idle: string[] = [];
    for (const [name, room] of this.rooms) if (room.lastActiveAt < before) idle.push(name);
    return idle;
  }

  async counts(): Promise<StoreCounts> {
    return { rooms: this.rooms.size, peers: this.sessions.size };
  }

  private record(session: Session | undefined): PeerRecord | undefined {
    if (session === undefined) return undefined;
    return { peerId: session.peerId, room: session.room, lastInSeq: session.lastInSeq, connected: session.connected, holder: session.holder };
  }
}

function push(session: Session, body: string): OutboundEntry {
  const entry: OutboundEntry = { seq: session.nextOutSeq++, body };
  session.outbox.push(entry);
  return entry;
}

/** Drops entries with seq ≤ ack from the front of an outbox (entries are in seq order). */
function acknowledge(outbox: OutboundEntry[], ack: number): void {
  let drop = 0;
  while (drop < outbox.length && outbox[drop]!.seq <= ack) drop++;
  if (drop > 0) outbox.splice(0, drop);
}

export class MemorySignalingBus implements SignalingBus {
  private readonly handlers = new Map<string, (event: BusEvent) => void>();

  publish(peerId: string, event: BusEvent): void {
    this.handlers.get(peerId)?.(event);
  }

  subscribe(peerId: string, handler: (event: BusEvent) => void): () => void {
    this.handlers.set(peerId, handler);
    return () => {
      if (this.handlers.get(peerId) === handler) this.handlers.delete(peerId);
    };
  }
}
