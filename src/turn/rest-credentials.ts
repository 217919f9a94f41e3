import { createHmac } from 'node:crypto';
import type { TurnCredentials } from './credentials.js';

export interface RestApiOptions {
  /** The user part after the expiry. Default none: the username is the bare timestamp. */
  user?: string;
  /** How long the credentials are valid. Default 86400 s (one day, the draft's example). */
  ttlSeconds?: number;
  /** Wall-clock "now", injected by tests. Default Date.now(). */
  nowMs?: number;
}

/**
 * TURN REST API ephemeral credentials (draft-uberti-behave-turn-rest-00 §2.2), as coturn's
 * `use-auth-secret` / `static-auth-secret` check them: the username is
 * "<expiry unix seconds>:<user>", the password base64(HMAC-SHA1(secret, username)).
 * The expiry is wall-clock time (the server compares it with its own clock), not the
 * monotonic Clock the rest of the client uses.
 */
export function restApiCredentials(secret: string, options: RestApiOptions = {}): TurnCredentials & { expiresAt: number } {
  const ttl = options.ttlSeconds ?? 86400;
  const now = options.nowMs ?? Date.now();
  const expiresAt = Math.floor(now / 1000) + Math.floor(ttl);
  const username = options.user === undefined || options.user === '' ? String(expiresAt) : `${expiresAt}:${options.user}`;
  const password = createHmac('sha1', secret).update(username, 'utf8').digest('base64');
  return { username, password, expiresAt };
}
