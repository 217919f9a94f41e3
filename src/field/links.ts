/**
 * The links handed to customers: `/p/<token>`, where the token is 128 bits from
 * crypto.randomBytes (base64url), so it cannot be guessed or enumerated. Each link expires after
 * its TTL and serves a fixed number of visits (default one); after that, or for any token it never
 * issued, the server answers a plain 404 that says nothing about why.
 *
 * Tokens are kept only as SHA-256 hashes (like signaling's room secrets), so a heap dump or a log
 * of this map does not hand out working links; lookups hash the presented token.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Clock } from '../transport/clock.js';

export const FIELD_LINK_DEFAULTS = {
  /** --ttl: one hour. */
  ttlMs: 3_600_000,
  /** One visit per link unless told otherwise. */
  visitsPerLink: 1,
} as const;

interface LinkRecord {
  readonly expiresAt: number;
  visitsLeft: number;
}

export interface IssuedLink {
  readonly token: string;
  /** Wall-clock expiry, for the engineer's terminal. */
  readonly expiresAt: Date;
}

const hash = (token: string): string => createHash('sha256').update(token).digest('hex');

/** Tokens are base64url of 16 random bytes: exactly 22 characters of A–Z a–z 0–9 - _. */
export const TOKEN_PATTERN = /^[A-Za-z0-9_-]{22}$/;

export class FieldLinks {
  private readonly links = new Map<string, LinkRecord>();

  constructor(
    private readonly clock: Clock,
    private readonly options: { ttlMs: number; visitsPerLink: number },
  ) {}

  issue(): IssuedLink {
    const token = randomBytes(16).toString('base64url');
    const expiresAt = this.clock.now() + this.options.ttlMs;
    this.links.set(hash(token), { expiresAt, visitsLeft: this.options.visitsPerLink });
    return { token, expiresAt: new Date(Date.now() + this.options.ttlMs) };
  }

  /** Takes one visit from the link; false (and nothing learned by the caller) when unknown, used up or expired. */
  take(token: string): boolean {
    if (!TOKEN_PATTERN.test(token)) return false;
    const key = hash(token);
    const record = this.links.get(key);
    if (record === undefined) return false;
    if (this.clock.now() >= record.expiresAt) {
      this.links.delete(key);
      return false;
    }
    record.visitsLeft -= 1;
    if (record.visitsLeft <= 0) this.links.delete(key);
    return true;
  }

  /** Links that can still be opened (expired ones are dropped on the way). */
  live(): number {
    const now = this.clock.now();
    for (const [key, record] of this.links) if (now >= record.expiresAt) this.links.delete(key);
    return this.links.size;
  }
}
