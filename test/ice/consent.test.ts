import { describe, expect, it } from 'vitest';
import { ConsentFreshness, nextConsentInterval } from '../../src/ice/consent.js';
import { IceOptionError } from '../../src/ice/errors.js';
import { FakeClock } from '../../src/transport/fake-clock.js';

function setup(randoms: number[] = [0.5]) {
  const clock = new FakeClock();
  let i = 0;
  const random = (): number => randoms[i++ % randoms.length]!;
  const sent: Array<{ at: number; sequence: number }> = [];
  let lostAt: number | undefined;
  const consent = new ConsentFreshness({
    clock,
    random,
    sendCheck: (sequence) => sent.push({ at: clock.now(), sequence }),
    onConsentLost: () => {
      lostAt = clock.now();
    },
  });
  return { clock, consent, sent, lost: () => lostAt };
}

describe('consent freshness timing (RFC 7675 §5.1)', () => {
  it('randomises the interval to 0.8–1.2 × 5 s', () => {
    expect(nextConsentInterval(() => 0)).toBe(4000);
    expect(nextConsentInterval(() => 0.5)).toBe(5000);
    expect(nextConsentInterval(() => 0.999999)).toBeCloseTo(6000, 0);
    expect(nextConsentInterval(() => 0.25, 10_000)).toBe(9000);
  });

  it('sends checks at randomised intervals, each a new request', () => {
    const t = setup([0, 1 - 1e-9, 0.5]);
    t.consent.start();
    t.clock.advance(16_000);
    const times = t.sent.map((s) => Math.round(s.at));
    expect(times).toEqual([4000, 10000, 15000]);
    expect(t.sent.map((s) => s.sequence)).toEqual([1, 2, 3]);
  });

  it('counts what it did: checks sent and answered, the longest gap (the first from start), a duplicate answer once', () => {
    const t = setup([0, 1 - 1e-9, 0.5]);
    expect(t.consent.stats()).toEqual({ checksSent: 0, checksAnswered: 0, runningMs: 0, lost: false });
    t.consent.start();
    t.clock.advance(3_000);
    expect(t.consent.stats()).toEqual({ checksSent: 0, checksAnswered: 0, runningMs: 3_000, lost: false });
    t.clock.advance(13_000); // checks at 4 s, 10 s, 15 s: gaps 4, 6, 5 s
    expect(t.consent.onResponse(1)).toBe(true);
    expect(t.consent.onResponse(1)).toBe(false);
    expect(t.consent.onResponse(3)).toBe(true);
    const stats = t.consent.stats();
    expect(stats).toMatchObject({ checksSent: 3, checksAnswered: 2, runningMs: 16_000, lost: false });
    expect(stats.largestGapMs).toBeCloseTo(6_000, 0);
    t.consent.stop();
    t.clock.advance(10_000);
    expect(t.consent.stats().runningMs).toBe(16_000); // frozen at stop
  });

  it('keeps consent while responses arrive', () => {
    const t = setup();
    t.consent.start();
    for (let i = 0; i < 20; i++) {
      t.clock.advance(i === 0 ? 5000 : 4950);
      const last = t.sent.at(-1)!;
      expect(last.at).toBe(5000 * (i + 1));
      t.clock.advance(50);
      expect(t.consent.onResponse(last.sequence)).toBe(true);
      expect(t.consent.expiresAtMs).toBe(5000 * (i + 1) + 50 + 30_000);
    }
    expect(t.lost()).toBeUndefined();
    expect(t.consent.lost).toBe(false);
    t.consent.stop();
    expect(t.clock.pendingTimers).toBe(0);
  });

  it('loses consent 30 s after the last response, then stops sending', () => {
    const t = setup();
    t.consent.start();
    t.clock.advance(5000);
    t.clock.advance(20);
    t.consent.onResponse(t.sent[0]!.sequence); // fresh until 5020 + 30000
    t.clock.advance(40_000);
    expect(t.lost()).toBe(35_020);
    expect(t.consent.lost).toBe(true);
    const sentBefore = t.sent.length;
    t.clock.advance(20_000);
    expect(t.sent.length).toBe(sentBefore);
    expect(t.clock.pendingTimers).toBe(0);
  });

  it('loses consent 30 s after start when nothing ever answers', () => {
    const t = setup();
    t.consent.start();
    t.clock.advance(60_000);
    expect(t.lost()).toBe(30_000);
  });

  it('ignores responses to requests older than 30 s and unknown sequences', () => {
    const t = setup();
    t.consent.start();
    t.clock.advance(5000);
    const old = t.sent[0]!.sequence;
    t.clock.advance(24_000);
    expect(t.consent.onResponse(999)).toBe(false);
    expect(t.consent.onResponse(t.sent.at(-1)!.sequence)).toBe(true); // keeps it alive
    t.clock.advance(6_001); // now 35,001: the first request is 30,001 ms old
    expect(t.consent.onResponse(old)).toBe(false);
  });

  it('refuses an interval that would allow checks closer than 4 s', () => {
    expect(
      () => new ConsentFreshness({ clock: new FakeClock(), random: Math.random, sendCheck: () => {}, onConsentLost: () => {}, basePeriodMs: 4000 }),
    ).toThrow(IceOptionError);
  });
});
