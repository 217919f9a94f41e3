import { describe, expect, it } from 'vitest';
import { SourceRateLimiter } from '../../src/server/rate-limiter.js';
import { FakeClock } from '../../src/transport/fake-clock.js';

describe('SourceRateLimiter', () => {
  it('allows a burst, then refills at the rate, per source', () => {
    const clock = new FakeClock();
    const limiter = new SourceRateLimiter({ ratePerSecond: 10, burst: 3, maxSources: 100 }, clock);
    expect([1, 2, 3, 4].map(() => limiter.allow('a'))).toEqual([true, true, true, false]);
    expect(limiter.allow('b')).toBe(true);
    clock.advance(99);
    expect(limiter.allow('a')).toBe(false);
    clock.advance(1);
    expect(limiter.allow('a')).toBe(true);
    expect(limiter.allow('a')).toBe(false);
    clock.advance(60_000);
    expect([1, 2, 3, 4].map(() => limiter.allow('a'))).toEqual([true, true, true, false]);
  });

  it('keeps at most maxSources buckets, evicting the least recently seen', () => {
    const limiter = new SourceRateLimiter({ ratePerSecond: 1, burst: 1, maxSources: 2 }, new FakeClock());
    expect(limiter.allow('a')).toBe(true);
    expect(limiter.allow('b')).toBe(true);
    expect(limiter.allow('a')).toBe(false); // touches a: b is now the oldest
    expect(limiter.allow('c')).toBe(true); // evicts b
    expect(limiter.trackedSources).toBe(2);
    expect(limiter.evicted).toBe(1);
    expect(limiter.allow('a')).toBe(false); // a was kept, still empty
    expect(limiter.allow('b')).toBe(true); // b comes back with a full bucket
  });

  it('keeps that order when one source sends many datagrams in a row (no re-insertion needed)', () => {
    const limiter = new SourceRateLimiter({ ratePerSecond: 1, burst: 10, maxSources: 2 }, new FakeClock());
    for (const source of ['a', 'b', 'b', 'b', 'a', 'a', 'a']) expect(limiter.allow(source)).toBe(true);
    expect(limiter.allow('c')).toBe(true); // b is the least recently seen: evicted
    expect(limiter.evicted).toBe(1);
    expect(limiter.allow('a')).toBe(true); // a kept its bucket: 10 - 4 - 1 = 5 tokens left
    for (let i = 0; i < 5; i++) limiter.allow('a');
    expect(limiter.allow('a')).toBe(false);
    expect(limiter.allow('b')).toBe(true); // b comes back with a full bucket
    expect(limiter.trackedSources).toBe(2);
  });
});
