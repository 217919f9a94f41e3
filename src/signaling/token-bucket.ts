import type { Clock } from '../transport/clock.js';

export interface RateLimitOptions {
  /** Sustained frames per second per connection. Default 50. */
  messagesPerSecond?: number;
  /** Frames a connection may send at once after being quiet. Default 100 (a burst of candidates). */
  burst?: number;
}

export const DEFAULT_RATE_LIMIT = { messagesPerSecond: 50, burst: 100 } as const;

/**
 * A token bucket on the injected clock: it holds up to `burst` tokens, refills at
 * `messagesPerSecond`, and each frame takes one.
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;
  private readonly ratePerMs: number;
  private readonly capacity: number;

  constructor(
    options: RateLimitOptions,
    private readonly clock: Clock,
  ) {
    this.ratePerMs = (options.messagesPerSecond ?? DEFAULT_RATE_LIMIT.messagesPerSecond) / 1000;
    this.capacity = options.burst ?? DEFAULT_RATE_LIMIT.burst;
    this.tokens = this.capacity;
    this.updatedAt = clock.now();
  }

  /** Takes one token if there is one. */
  tryTake(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Milliseconds until one token will be available (0 if one is now). */
  msUntilNextToken(): number {
    this.refill();
    if (this.tokens >= 1) return 0;
    return this.ratePerMs <= 0 ? Number.POSITIVE_INFINITY : Math.ceil((1 - this.tokens) / this.ratePerMs);
  }

  private refill(): void {
    const now = this.clock.now();
    const elapsed = now - this.updatedAt;
    if (elapsed > 0) {
      this.tokens = Math.min(this.capacity, this.tokens + elapsed * this.ratePerMs);
      this.updatedAt = now;
    }
  }
}
