/** Public surface of the signaling module (DESIGN.md: signaling/ imports only ws and zod). */
export { startSignalingServer, attachSignalingServer, type SignalingServer, type AttachedSignalingServer } from './server.js';
export { SIGNALING_SERVER_DEFAULTS, type SignalingServerOptions } from './server-options.js';
export type { SignalingServerStats } from './signaling-hub.js';
export {
  SignalingClient,
  type SignalingClientOptions,
  type SignalingClientEvents,
  type SignalingClientState,
  type IncomingSignalingMessage,
  type JoinInfo,
} from './client.js';
export { DEFAULT_RECONNECT, type ReconnectOptions } from './backoff.js';
export { DEFAULT_RATE_LIMIT, type RateLimitOptions } from './token-bucket.js';
export { MemorySignalingStore, MemorySignalingBus } from './memory-store.js';
export type { SignalingStore, SignalingBus, BusEvent, OutboundEntry, PeerRecord } from './store.js';
export { StoreUnavailableError, StateLostError } from './store.js';
export { mintAuthToken, verifyAuthToken, AUTH_TOKEN_VERSION, type AuthTokenPayload } from './auth-token.js';
// The Redis store (./redis-store.js) is not re-exported: it loads the Redis client, which every
// importer of this index (each `peer` process) would then pay for. `serve --redis` imports it directly.
export * from './errors.js';
export {
  SIGNALING_SUBPROTOCOL,
  PROTOCOL_VERSION,
  SIGNALING_ERROR_CODES,
  CloseCode,
  PeerPayload,
  ClientMessage,
  ServerMessage,
  decodeClientFrame,
  decodeServerFrame,
  type SignalingErrorCode,
  type IceServer,
  type ConfigMessage,
} from './protocol.js';
