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
 */
export class SourceRateLimiter {
  private readonly buckets = new Map<string, Bucket>();
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
    } else {
      this.buckets.delete(source);
      const elapsedMs = Math.max(0, now - bucket.updatedAt);
      bucket.tokens = Math.min(this.settings.burst, bucket.tokens + (elapsedMs * this.settings.ratePerSecond) / 1000);
      bucket.updatedAt = now;
    }
    this.buckets.set(source, bucket);
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
