/**
 * Where room and session state lives, behind two small interfaces so that a shared backend
 * (Redis) can replace the in-memory one without touching the protocol or the connection logic.
 *
 * - SignalingStore: rooms, sessions, sequence numbers and each peer's unacknowledged outbox.
 *   Every method is atomic on its own and returns a Promise, because a shared store is remote.
 * - SignalingBus: delivers outbox entries (and "drop this connection" orders) to whichever
 *   server instance holds the peer's WebSocket. A peer with no live connection simply has no
 *   subscriber; its entries wait in the outbox until it resumes.
 *
 * Secrets (room tokens, resume tokens) reach the store only as SHA-256 hashes.
 *
 * Order: acceptStreamMessage and acknowledgeOutbound calls take effect in the order they are made,
 * even when a call is made before the previous one's promise settled, and their promises settle
 * in that order. (The memory store applies each call at once; the Redis store queues them into
 * its batches, in order, over one connection.) A connection relies on this to pipeline a burst.
 */

/** One outbox entry: a stream message for one peer, serialized without `seq` (see protocol.withSeq). */
export interface OutboundEntry {
  readonly seq: number;
  readonly body: string;
}

export interface PeerRecord {
  readonly peerId: string;
  readonly room: string;
  /** Highest client stream seq accepted from this peer (0 before the first). */
  readonly lastInSeq: number;
  readonly connected: boolean;
  /**
   * The connection that took the session last (join or resume), by its nonce; '' if not
   * recorded. With several instances, a grace period that runs out on one instance ends the
   * session only if that instance's connection was still the holder: the peer may have resumed,
   * and dropped again, elsewhere since.
   */
  readonly holder: string;
}

export interface StoreLimits {
  readonly maxRooms: number;
  readonly maxPeers: number;
  readonly roomCapacity: number;
}

export type AddPeerOutcome =
  | { ok: true; /** The other peers already in the room. */ peers: string[] }
  | { ok: false; code: 'room-full' | 'room-token-mismatch' | 'too-many-rooms' | 'too-many-peers' };

/** A client stream message as the store sees it: its seq, a piggybacked ack, and the body to relay. */
export interface InboundStreamMessage {
  readonly seq: number;
  /** The sender acknowledges its own outbox up to here. */
  readonly ack: number | undefined;
  /** What the other peers get (serialized without seq); undefined for messages not relayed (bye). */
  readonly body: string | undefined;
}

export type AcceptOutcome =
  /**
   * In order: recorded and, with a body, queued for every other peer. `queued` lists the new
   * outbox entries to publish; `overflowed` the peers whose outbox was full (not queued).
   */
  | { kind: 'accepted'; partners: number; queued: { peerId: string; entry: OutboundEntry }[]; overflowed: string[] }
  /** Already seen (seq ≤ last accepted): ignore it. */
  | { kind: 'duplicate' }
  /** A seq was skipped: refuse it and ask for `expected`. */
  | { kind: 'gap'; expected: number }
  | { kind: 'unknown-peer' };

export type EnqueueOutcome = { kind: 'queued'; entry: OutboundEntry } | { kind: 'overflow' } | { kind: 'unknown-peer' };

export interface RemovedPeer {
  readonly room: string;
  /** Peers still in the room after the removal. */
  readonly remaining: string[];
  /** True when the room became empty and was deleted. */
  readonly roomFreed: boolean;
}

export interface StoreCounts {
  readonly rooms: number;
  readonly peers: number;
}

/**
 * A store operation could not run: the shared backend is unreachable. The connection that asked
 * is told `store-unavailable`; nothing it sent was acknowledged, so it re-sends after a resume.
 */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
}

/** The store's state is gone (a new epoch began): every session it held is lost. */
export class StateLostError extends Error {
  override readonly name = 'StateLostError';
}

export interface SignalingStore {
  /**
   * The current epoch: a new random value each time the state starts empty (a fresh in-memory
   * store, a Redis that restarted without persistence). Resume tokens carry it, so a resume into
   * another epoch is refused with a precise reason instead of looking like an expired session.
   */
  epoch(): string;
  /**
   * True when the store hands every queued outbox entry to the bus itself, in the same atomic
   * step as the write (Redis: append and PUBLISH in one script), so a crash between the two cannot
   * strand a message. The hub then does not publish `deliver` events.
   */
  readonly publishesOnWrite?: boolean;
  /** Calls `listener` when the store finds its state lost (a new epoch). Returns an unsubscribe function. */
  onStateLost?(listener: (epoch: string) => void): () => void;
  /**
   * Adds a new peer to `room`, creating the room on first join. Refuses when the room is full,
   * the room token differs, or the server-wide room/peer limits are reached.
   */
  addPeer(
    input: { room: string; peerId: string; resumeTokenHash: string; roomTokenHash: string | undefined; now: number; holder?: string },
    limits: StoreLimits,
  ): Promise<AddPeerOutcome>;
  getPeer(peerId: string): Promise<PeerRecord | undefined>;
  findPeerByResumeToken(resumeTokenHash: string): Promise<PeerRecord | undefined>;
  /**
   * connected: `holder` takes the session (resume). Not connected: the session is marked
   * disconnected only if `holder` still holds it (or none was recorded). False when the peer no
   * longer exists.
   */
  setConnected(peerId: string, connected: boolean, holder?: string): Promise<boolean>;
  /** Removes the peer with its outbox, and the room if it became empty. Undefined if already gone. */
  removePeer(peerId: string): Promise<RemovedPeer | undefined>;
  roomPeers(room: string): Promise<string[]>;

  /**
   * Handles one client stream message from `peerId` in one atomic step (one round trip for a
   * remote store): forgets the sender's outbox up to `ack`, accepts `seq` if it is exactly the
   * next one, marks the room active at `now`, and queues `body` for the other peers, each
   * refused past `maxPending` unacknowledged entries.
   */
  acceptStreamMessage(peerId: string, message: InboundStreamMessage, now: number, maxPending: number): Promise<AcceptOutcome>;
  /** Numbers `body` with the peer's next server seq and keeps it until acknowledged; overflow past `maxPending`. */
  enqueueOutbound(peerId: string, body: string, maxPending: number): Promise<EnqueueOutcome>;
  /** Forgets outbox entries with seq ≤ `ack`. */
  acknowledgeOutbound(peerId: string, ack: number): Promise<void>;
  /** Outbox entries with seq > `afterSeq`, in order: what a resuming peer missed. */
  pendingOutbound(peerId: string, afterSeq: number): Promise<OutboundEntry[]>;

  /** Rooms with no accepted message or join since `before`. */
  idleRooms(before: number): Promise<string[]>;
  counts(): Promise<StoreCounts>;
}

export type BusEvent =
  | { kind: 'deliver'; entry: OutboundEntry }
  /** Close the peer's connection, first telling it `code`/`message` (room idle, session resumed elsewhere…). */
  /** `by`: the connection that caused the drop (a resume), which ignores it if it arrives late. */
  | { kind: 'drop'; code: string; message: string; closeCode: number; by?: string };

export interface SignalingBus {
  publish(peerId: string, event: BusEvent): void;
  /**
   * Routes the peer's events to `handler` until the returned function is called. One subscriber
   * per peer. A remote bus resolves once the subscription is active, so that nothing published
   * afterwards can be missed.
   */
  subscribe(peerId: string, handler: (event: BusEvent) => void): (() => void) | Promise<() => void>;
  /**
   * Calls `listener` after the bus may have missed events (its connection dropped and came back):
   * each live connection then re-reads its outbox. Returns an unsubscribe function.
   */
  onResync?(listener: () => void): () => void;
}
