import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { countBy, histogram, percentile, summarizeLatencies, wilsonInterval } from '../../src/stats.js';

describe('wilsonInterval (95%)', () => {
  // Newcombe, "Two-sided confidence intervals for the single proportion", Stat. Med. 1998, Table I, method 3.
  it.each([
    [81, 263, 0.2553, 0.3662],
    [15, 148, 0.0624, 0.1605],
    [0, 20, 0, 0.1611],
    [1, 29, 0.0061, 0.1718],
  ])('%i of %i → [%f, %f] as published', (s, n, low, high) => {
    const ci = wilsonInterval(s, n);
    expect(ci.low).toBeCloseTo(low, 4);
    expect(ci.high).toBeCloseTo(high, 4);
  });

  it('does not collapse when every trial succeeds (the Wald interval would give [1, 1])', () => {
    const ci = wilsonInterval(10, 10);
    expect(ci.high).toBe(1);
    expect(ci.low).toBeCloseTo(0.7225, 4);
  });

  it('is [0, 1] with no trials', () => {
    expect(wilsonInterval(0, 0)).toEqual({ low: 0, high: 1 });
  });

  it('rejects impossible counts', () => {
    expect(() => wilsonInterval(3, 2)).toThrow(RangeError);
    expect(() => wilsonInterval(-1, 2)).toThrow(RangeError);
    expect(() => wilsonInterval(1.5, 2)).toThrow(RangeError);
  });

  it('always contains the observed rate, inside [0, 1], and narrows as n grows', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5000 }), fc.double({ min: 0, max: 1, noNaN: true }), (n, ratio) => {
        const s = Math.round(ratio * n);
        const ci = wilsonInterval(s, n);
        expect(ci.low).toBeGreaterThanOrEqual(0);
        expect(ci.high).toBeLessThanOrEqual(1);
        expect(ci.low).toBeLessThanOrEqual(s / n + 1e-12);
        expect(ci.high).toBeGreaterThanOrEqual(s / n - 1e-12);
        // The same rate from four times the trials is known more precisely.
        const four = wilsonInterval(4 * s, 4 * n);
        expect(four.high - four.low).toBeLessThanOrEqual(ci.high - ci.low + 1e-12);
      }),
    );
  });
});

describe('percentiles', () => {
  it('uses nearest rank and returns measured values', () => {
    const samples = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1, unsorted
    expect(percentile(samples, 50)).toBe(50);
    expect(percentile(samples, 95)).toBe(95);
    expect(percentile(samples, 99)).toBe(99);
    expect(percentile(samples, 100)).toBe(100);
    expect(percentile(samples, 0)).toBe(1);
    expect(percentile([], 50)).toBeNaN();
  });

  it('summarises p50/p95/p99 with min, max and mean, without reordering the input', () => {
    const samples = [5, 1, 3, 2, 4];
    const summary = summarizeLatencies(samples)!;
    expect(summary).toEqual({ count: 5, min: 1, p50: 3, p95: 5, p99: 5, max: 5, mean: 3 });
    expect(samples).toEqual([5, 1, 3, 2, 4]);
    expect(summarizeLatencies([])).toBeUndefined();
  });
});

describe('countBy', () => {
  it('counts, skips undefined keys, and orders by count then key', () => {
    expect(countBy(['b', 'a', 'b', undefined, 'c', 'a', 'b'], (x) => x)).toEqual([
      { key: 'b', count: 3 },
      { key: 'a', count: 2 },
      { key: 'c', count: 1 },
    ]);
  });
});

describe('histogram', () => {
  it('puts every sample in one of equal-width bins, the maximum in the last', () => {
    const bins = histogram([0, 1, 2, 3, 4, 5, 6, 7, 8, 10], 5);
    expect(bins.map((b) => b.count)).toEqual([2, 2, 2, 2, 2]);
    expect(bins[0]!.from).toBe(0);
    expect(bins[4]!.to).toBe(10);
  });

  it('handles one value and no values', () => {
    expect(histogram([3, 3, 3], 4)).toEqual([{ from: 3, to: 3, count: 3 }]);
    expect(histogram([], 4)).toEqual([]);
  });

  it('never loses a sample', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1e4, noNaN: true }), { maxLength: 200 }), fc.integer({ min: 1, max: 20 }), (samples, n) => {
        expect(histogram(samples, n).reduce((sum, b) => sum + b.count, 0)).toBe(samples.length);
      }),
    );
  });
});
