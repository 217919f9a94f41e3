import type { StunDecodeReason, TransportAddress } from '../stun/index.js';
import type { SocketRole } from './roles.js';

/** Why a well-formed STUN message got no answer (RFC 8489 §6.3: silently discarded). */
export type IgnoredReason = 'indication' | 'response' | 'unsupported-method';

interface EventBase {
  /** clock.now() when it happened. */
  at: number;
}

/** A request was answered (success or error response). */
export interface ServedEvent extends EventBase {
  type: 'served';
  from: TransportAddress;
  receivedOn: SocketRole;
  sentFrom: SocketRole;
  to: { address: string; port: number };
  outcome: 'success' | 'error';
  /** ERROR-CODE of an error response. */
  errorCode?: number;
  /** The request had no magic cookie: an RFC 3489 client, answered in RFC 3489 form. */
  legacy: boolean;
  requestBytes: number;
  responseBytes: number;
  /** Optional attributes left out so the response stays within the amplification budget. */
  trimmed: string[];
}

/** A datagram that is not a valid STUN message was dropped. */
export interface MalformedEvent extends EventBase {
  type: 'malformed';
  from: TransportAddress;
  receivedOn: SocketRole;
  reason: StunDecodeReason;
  detail: string;
}

/** A valid STUN message that a Binding server does not answer. */
export interface IgnoredEvent extends EventBase {
  type: 'ignored';
  from: TransportAddress;
  receivedOn: SocketRole;
  reason: IgnoredReason;
}

/** A datagram was dropped because its source IP exceeded its token bucket. */
export interface RateLimitedEvent extends EventBase {
  type: 'rate-limited';
  from: TransportAddress;
  receivedOn: SocketRole;
}

/** The kernel refused to send a response. */
export interface SendFailedEvent extends EventBase {
  type: 'send-failed';
  sentFrom: SocketRole;
  to: { address: string; port: number };
  message: string;
}

export type StunServerEvent = ServedEvent | MalformedEvent | IgnoredEvent | RateLimitedEvent | SendFailedEvent;
