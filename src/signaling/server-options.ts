import { systemClock, type Clock } from '../transport/clock.js';
import { MemorySignalingBus, MemorySignalingStore } from './memory-store.js';
import { DEFAULT_MAX_PAYLOAD_BYTES, type IceServer } from './protocol.js';
import type { SignalingBus, SignalingStore } from './store.js';
import { DEFAULT_RATE_LIMIT, type RateLimitOptions } from './token-bucket.js';

/**
 * Where the server reports what happens (joins, ends, store trouble). The shape of pino's
 * `logger.info(fields, message)`, so the CLI passes a pino logger; the signaling layer does not
 * depend on it. Fields never carry tokens or secrets.
 */
export interface SignalingLogger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

const silentLogger: SignalingLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** Settings of the signaling server. Every field is optional; defaults are listed beside each. */
export interface SignalingServerOptions {
  /** Address to listen on (startSignalingServer only). Default '127.0.0.1'; use '0.0.0.0' to serve other machines. */
  host?: string;
  /** Port to listen on (startSignalingServer only). Default 0: the OS picks a free port. */
  port?: number;
  /** Serve WebSocket upgrades only on this URL path. Default: every path. */
  path?: string;
  /** Each connection is pinged once per interval; a peer silent for two intervals is dead. Default 15 000 ms. */
  heartbeatMs?: number;
  /** How long a dropped peer's session waits for a resume before the other peer gets `peer-left`. Default 30 000 ms. */
  resumeGraceMs?: number;
  /** A room with no join and no message for this long is freed and its peers disconnected. Default 600 000 ms. */
  roomIdleMs?: number;
  /** A connection that has not joined a room within this time is closed. Default 10 000 ms. */
  joinTimeoutMs?: number;
  /** Largest frame accepted; larger ones get `message-too-large` and the connection is closed. Default 65 536 bytes. */
  maxPayloadBytes?: number;
  /** Per-connection token bucket. Default 50 frames/s with bursts of 100. */
  rateLimit?: RateLimitOptions;
  /** Rooms the server holds at once; the next new room gets `too-many-rooms`. Default 10 000. */
  maxRooms?: number;
  /** Peer sessions (connected or in their resume grace) at once; the next gets `too-many-peers`. Default 20 000. */
  maxPeers?: number;
  /** Unacknowledged messages kept per peer; past this the peer's session is dropped (`too-many-pending`). Default 1 024. */
  maxPendingMessages?: number;
  /** Bytes queued on one socket before the peer counts as too slow and is disconnected. Default 4 MiB. */
  maxBufferedBytes?: number;
  /** The server acknowledges a peer's stream messages after this many (and at each heartbeat). Default 32. */
  ackEvery?: number;
  /** STUN/TURN servers announced to peers in the `config` message. Default none. */
  iceServers?: IceServer[];
  /**
   * Per-peer ICE servers, appended to `iceServers` in each peer's `config`: how ephemeral TURN
   * credentials are handed out (TURN REST API, one username per peer and expiry). Called once per
   * join with the peer's id. The signaling layer knows nothing of TURN (DESIGN.md): the CLI
   * injects this. A throw is logged as no extra servers, never a failed join. Default none.
   */
  iceServersFor?: (peerId: string) => IceServer[];
  /**
   * Operator secret: every new join must carry a token signed with it (auth-token.ts) or is
   * refused with `unauthorized`. Resumes need only their resume token. Default none: open.
   */
  authSecret?: string;
  /** Structured log sink. Default silent. */
  logger?: SignalingLogger;
  /** Time source for heartbeats, grace periods, idle rooms and rate limits. Default the system clock. */
  clock?: Clock;
  /** Room/session state. Default a new MemorySignalingStore. */
  store?: SignalingStore;
  /** Delivery between server instances. Default a new MemorySignalingBus. */
  bus?: SignalingBus;
}

export type ResolvedServerOptions = Required<Omit<SignalingServerOptions, 'path' | 'iceServers' | 'iceServersFor' | 'rateLimit' | 'authSecret'>> & {
  path: string | undefined;
  authSecret: string | undefined;
  iceServers: IceServer[] | undefined;
  iceServersFor: ((peerId: string) => IceServer[]) | undefined;
  rateLimit: Required<RateLimitOptions>;
};

export const SIGNALING_SERVER_DEFAULTS = {
  host: '127.0.0.1',
  port: 0,
  heartbeatMs: 15_000,
  resumeGraceMs: 30_000,
  roomIdleMs: 600_000,
  joinTimeoutMs: 10_000,
  maxPayloadBytes: DEFAULT_MAX_PAYLOAD_BYTES,
  maxRooms: 10_000,
  maxPeers: 20_000,
  maxPendingMessages: 1_024,
  maxBufferedBytes: 4 * 1024 * 1024,
  ackEvery: 32,
} as const;

export function resolveServerOptions(options: SignalingServerOptions): ResolvedServerOptions {
  const d = SIGNALING_SERVER_DEFAULTS;
  return {
    host: options.host ?? d.host,
    port: options.port ?? d.port,
    path: options.path,
    heartbeatMs: options.heartbeatMs ?? d.heartbeatMs,
    resumeGraceMs: options.resumeGraceMs ?? d.resumeGraceMs,
    roomIdleMs: options.roomIdleMs ?? d.roomIdleMs,
    joinTimeoutMs: options.joinTimeoutMs ?? d.joinTimeoutMs,
    maxPayloadBytes: options.maxPayloadBytes ?? d.maxPayloadBytes,
    rateLimit: {
      messagesPerSecond: options.rateLimit?.messagesPerSecond ?? DEFAULT_RATE_LIMIT.messagesPerSecond,
      burst: options.rateLimit?.burst ?? DEFAULT_RATE_LIMIT.burst,
    },
    maxRooms: options.maxRooms ?? d.maxRooms,
    maxPeers: options.maxPeers ?? d.maxPeers,
    maxPendingMessages: options.maxPendingMessages ?? d.maxPendingMessages,
    maxBufferedBytes: options.maxBufferedBytes ?? d.maxBufferedBytes,
    ackEvery: options.ackEvery ?? d.ackEvery,
    iceServers: options.iceServers,
    iceServersFor: options.iceServersFor,
    authSecret: options.authSecret,
    logger: options.logger ?? silentLogger,
    clock: options.clock ?? systemClock,
    store: options.store ?? new MemorySignalingStore(),
    bus: options.bus ?? new MemorySignalingBus(),
  };
}
