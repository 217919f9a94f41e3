import type { StunDecodeReason } from '../stun/index.js';
import type { IgnoredReason } from './events.js';
import type { SocketRole } from './roles.js';

export interface SocketStats {
  /** Datagrams received on this socket. */
  received: number;
  /** Responses sent from this socket. */
  sent: number;
}

/** Counters since the server started. `stats()` returns a copy. */
export interface StunServerStats {
  /** Every datagram received, on any socket. */
  received: number;
  /** Binding requests processed (valid, not rate-limited). */
  requests: number;
  /** Of those, requests from RFC 3489 clients (no magic cookie). */
  legacyRequests: number;
  /** Responses handed to the kernel, by outcome, and error responses by ERROR-CODE. */
  responses: { success: number; error: number; byErrorCode: Record<number, number> };
  /** Datagrams that are not valid STUN, by the decoder's reason. */
  malformed: Partial<Record<StunDecodeReason, number>>;
  /** Valid STUN messages a Binding server does not answer (RFC 8489 §6.3). */
  ignored: Record<IgnoredReason, number>;
  /** Datagrams dropped by the per-source token bucket. */
  rateLimited: number;
  /** Responses that left optional attributes out to stay within the amplification budget. */
  trimmedResponses: number;
  /** Responses the kernel refused to send. */
  sendFailures: number;
  /** Unexpected exceptions while handling a datagram (a bug; the server kept running). */
  internalErrors: number;
  /** Per-socket traffic; only the sockets the server has. */
  bySocket: Partial<Record<SocketRole, SocketStats>>;
}

export function emptyStats(roles: readonly SocketRole[]): StunServerStats {
  return {
    received: 0,
    requests: 0,
    legacyRequests: 0,
    responses: { success: 0, error: 0, byErrorCode: {} },
    malformed: {},
    ignored: { indication: 0, response: 0, 'unsupported-method': 0 },
    rateLimited: 0,
    trimmedResponses: 0,
    sendFailures: 0,
    internalErrors: 0,
    bySocket: Object.fromEntries(roles.map((role) => [role, { received: 0, sent: 0 }])),
  };
}

export function copyStats(stats: StunServerStats): StunServerStats {
  return structuredClone(stats);
}

/** Sum of `malformed`, for quick checks. */
export function malformedTotal(stats: StunServerStats): number {
  return Object.values(stats.malformed).reduce((sum, count) => sum + (count ?? 0), 0);
}
