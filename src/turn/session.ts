import {
  getAttribute,
  newTransactionId,
  StunMethod,
  verifyMessageIntegrity,
  verifyMessageIntegritySha256,
  type DecodedStunMessage,
  type StunAttribute,
  type StunMethodName,
} from '../stun/index.js';
import { TransactionCancelledError, TransactionTimeoutError, type Clock } from '../transport/index.js';
import { authAttributes, authFromChallenge, integrityFor, type LongTermAuth } from './auth.js';
import type { TurnConnection } from './connection.js';
import type { TurnCredentials } from './credentials.js';
import { TurnAuthError, TurnErrorResponse, TurnProtocolError, TurnTimeoutError, TurnUnreachableError } from './errors.js';
import type { TurnClientEvent } from './events.js';

/** RFC 8489 §9.2.5: retry after 438 Stale Nonce; bounded so a server that always says 438 cannot loop us. */
export const MAX_STALE_NONCE_RETRIES = 2;

export interface SessionResult {
  response: DecodedStunMessage;
  rttMs: number;
}

/**
 * Authenticated requests on one connection (RFC 8656 §6.2 with RFC 8489 §9.2): the first
 * 401 gives realm and nonce, later requests carry them with MESSAGE-INTEGRITY, and 438
 * refreshes the nonce. Error responses become typed errors with actionable messages.
 */
export class TurnSession {
  private auth: LongTermAuth | undefined;
  private readonly startedAt: number;

  constructor(
    readonly connection: TurnConnection,
    private readonly credentials: TurnCredentials,
    readonly clock: Clock,
    /** The URL-ish name used in messages ("turn:127.0.0.1:3478?transport=udp"). */
    readonly label: string,
    private readonly emit: (event: TurnClientEvent) => void,
    /** Where `at` counts from; default now. allocate() passes its own start, so retries keep one time line. */
    startedAt?: number,
  ) {
    this.startedAt = startedAt ?? clock.now();
  }

  get realm(): string | undefined {
    return this.auth?.realm;
  }

  get algorithm(): 'md5' | 'sha256' | undefined {
    return this.auth?.algorithm;
  }

  /** ms since the session started, for events. */
  elapsed(): number {
    return this.clock.now() - this.startedAt;
  }

  event(event: TurnClientEvent): void {
    this.emit(event);
  }

  async request(
    method: StunMethodName,
    attributes: StunAttribute[],
    bounds: { deadlineMs: number; signal?: AbortSignal },
  ): Promise<SessionResult> {
    const started = this.clock.now();
    let staleRetries = 0;
    let challenged = false;
    for (;;) {
      const remaining = bounds.deadlineMs - (this.clock.now() - started);
      if (remaining <= 0) throw new TurnTimeoutError(this.label, method, bounds.deadlineMs);
      const auth = this.auth;
      const message = {
        class: 'request' as const,
        method: StunMethod[method],
        transactionId: newTransactionId(),
        attributes: auth ? [...attributes, ...authAttributes(auth)] : attributes,
      };
      let outcome;
      try {
        outcome = await this.connection.request(message, auth ? integrityFor(auth) : {}, { deadlineMs: remaining, signal: bounds.signal });
      } catch (error) {
        throw this.transportFailure(error, method);
      }
      const response = outcome.response;
      if (response.class === 'successResponse') {
        if (auth) this.checkIntegrity(response, auth, method);
        return { response, rttMs: outcome.rttMs };
      }
      const failure = errorCodeOf(response);
      // RFC 8489 §9.2.5: 401 to a request without credentials is the challenge; answer it once.
      if (failure.code === 401 && auth === undefined && !challenged) {
        const learned = authFromChallenge(response, this.credentials);
        if (!learned) throw new TurnProtocolError(this.label, '401 without REALM and NONCE (RFC 8489 §9.2.4)');
        this.auth = learned;
        challenged = true;
        this.emit({ type: 'turn-challenge', at: this.elapsed(), realm: learned.realm, algorithm: learned.algorithm, rttMs: outcome.rttMs });
        continue;
      }
      // RFC 8489 §9.2.5: 438 Stale Nonce: take the new nonce and send again.
      if (failure.code === 438 && staleRetries < MAX_STALE_NONCE_RETRIES) {
        const nonce = getAttribute(response, 'NONCE');
        if (nonce !== undefined && this.auth) {
          this.auth.nonce = nonce;
          staleRetries++;
          this.emit({ type: 'turn-stale-nonce', at: this.elapsed(), method });
          continue;
        }
      }
      if (failure.code === 401 || failure.code === 441) {
        throw new TurnAuthError(this.label, failure.code, failure.reason, this.credentials.username, this.auth?.realm ?? getAttribute(response, 'REALM'));
      }
      throw new TurnErrorResponse(this.label, method, failure.code, failure.reason);
    }
  }

  /** A success response to an authenticated request carries integrity with the same key (RFC 8489 §9.2.4); a wrong one is not the server. */
  private checkIntegrity(response: DecodedStunMessage, auth: LongTermAuth, method: string): void {
    const sha = verifyMessageIntegritySha256(response, auth.key);
    const check = sha === 'missing' ? verifyMessageIntegrity(response, auth.key) : sha;
    if (check === 'mismatch') throw new TurnProtocolError(this.label, `the ${method} response's MESSAGE-INTEGRITY does not match the credentials`);
  }

  private transportFailure(error: unknown, method: string): Error {
    if (error instanceof TransactionTimeoutError) {
      if (!this.connection.heardFromServer) {
        return new TurnUnreachableError(this.label, `no answer to ${method} after ${error.attempts} attempt(s) over ${Math.round(error.waitedMs)} ms`);
      }
      return new TurnTimeoutError(this.label, method, error.waitedMs);
    }
    if (error instanceof TransactionCancelledError || error instanceof Error) return error;
    return new Error(String(error));
  }
}

/** ERROR-CODE with its reason trimmed: coturn pads reasons with NUL bytes, which must not reach a terminal. */
function errorCodeOf(response: DecodedStunMessage): { code: number; reason: string } {
  const found = getAttribute(response, 'ERROR-CODE');
  if (!found) return { code: 0, reason: 'no ERROR-CODE' };
  return { code: found.code, reason: found.reason.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim() };
}
