import type { Clock } from '../transport/index.js';

export interface TokenBucketSettings {
  /** Tokens added per second. */
  ratePerSecond: number;
  /** Most tokens a bucket holds; a new or long-quiet source starts full. */
  burst: number;
  /** Most sources tracked; the least recently seen one is evicted to make room. */
  maxSources: number;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/**
 * One token bucket per source IP, refilled lazily from the injected clock (no timers).
 *
 * Memory is bounded by `maxSources`. The Map keeps insertion order and a source is
 * re-inserted on every datagram, so the first key is the least recently seen and is the one
 * evicted. Eviction can only make the limiter more lenient (an evicted source comes back with
 * a full bucket), never lock out a legitimate client.
 *
 * Cost per datagram is O(1): one Map lookup, plus a delete and set to move the source to the
 * end, skipped when it is already there. That skip matters for a flood from one source (and for
 * benchmarks): deleting and re-adding the same key on every datagram made V8 rehash the Map
 * often enough to triple the cost of allow().
 */
export class SourceRateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  /** The last key of `buckets`, the most recently seen source. */
  private newest: string | undefined;
  private evictions = 0;

  constructor(
    private readonly settings: TokenBucketSettings,
    private readonly clock: Clock,
  ) {}

  /** Takes one token for `source`; false when its bucket is empty (drop the datagram). */
  allow(source: string): boolean {
    const now = this.clock.now();
    let bucket = this.buckets.get(source);
    if (bucket === undefined) {
      if (this.buckets.size >= this.settings.maxSources) {
        const oldest = this.buckets.keys().next().value;
        if (oldest !== undefined) this.buckets.delete(oldest);
        this.evictions++;
      }
      bucket = { tokens: this.settings.burst, updatedAt: now };
      this.buckets.set(source, bucket);
      this.newest = source;
    } else {
      if (source !== this.newest) {
        this.buckets.delete(source);
        this.buckets.set(source, bucket);
        this.newest = source;
      }
      const elapsedMs = Math.max(0, now - bucket.updatedAt);
      bucket.tokens = Math.min(this.settings.burst, bucket.tokens + (elapsedMs * this.settings.ratePerSecond) / 1000);
      bucket.updatedAt = now;
    }
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  get trackedSources(): number {
    return this.buckets.size;
  }

  get evicted(): number {
    return this.evictions;
  }
}
