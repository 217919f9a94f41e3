export { startStunServer, type StunServer, type StunServerAddresses } from './server.js';
export {
  resolveServerOptions,
  DEFAULT_STUN_PORT,
  DEFAULT_RATE_PER_SECOND,
  DEFAULT_BURST,
  DEFAULT_MAX_SOURCES,
  DEFAULT_MAX_RESPONSE_PADDING,
  type StunServerOptions,
  type RateLimitOptions,
} from './options.js';
export type { StunServerEvent, ServedEvent, MalformedEvent, IgnoredEvent, RateLimitedEvent, SendFailedEvent, IgnoredReason } from './events.js';
export { malformedTotal, type StunServerStats, type SocketStats } from './stats.js';
export { SOCKET_ROLES, ROLE_LABELS, responseSocket, otherSocket, type SocketRole } from './roles.js';
export { answerRequest, type Decision, type ServerView } from './binding-response.js';
export { SourceRateLimiter, type TokenBucketSettings } from './rate-limiter.js';
export { StunServerError } from './errors.js';
