import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  buildPairs,
  comparePairs,
  computePairPriority,
  formPairs,
  pairPriorityFor,
  prunePairs,
  sortPairs,
} from '../../src/ice/pair.js';
import { cand } from './helpers.js';

/** The §6.1.2.3 formula, written out independently in BigInt. */
const formula = (g: number, d: number): bigint =>
  2n ** 32n * BigInt(Math.min(g, d)) + 2n * BigInt(Math.max(g, d)) + (g > d ? 1n : 0n);

describe('computePairPriority (RFC 8445 §6.1.2.3)', () => {
  it('matches known values computed from the formula', () => {
    // host (2130706431) controlling against srflx (1694498815) controlled, and the reverse.
    expect(computePairPriority(2130706431, 1694498815)).toBe(7277816997797167103n);
    expect(computePairPriority(1694498815, 2130706431)).toBe(7277816997797167102n);
    expect(computePairPriority(2130706431, 2130706431)).toBe(9151314442783293438n);
  });

  it('exceeds 2^53 and keeps the G>D bit that Numbers lose', () => {
    const a = computePairPriority(2130706431, 2130706430);
    const b = computePairPriority(2130706430, 2130706431);
    expect(a > BigInt(Number.MAX_SAFE_INTEGER)).toBe(true);
    expect(a - b).toBe(1n);
    // The same computation in Numbers cannot tell the two apart.
    const asNumber = (g: number, d: number): number => 2 ** 32 * Math.min(g, d) + 2 * Math.max(g, d) + (g > d ? 1 : 0);
    expect(asNumber(2130706431, 2130706430)).toBe(asNumber(2130706430, 2130706431));
  });

  it('equals the formula for any 32-bit priorities, and orders like it (property)', () => {
    const priority = fc.integer({ min: 0, max: 2 ** 32 - 1 });
    fc.assert(
      fc.property(priority, priority, priority, priority, (g1, d1, g2, d2) => {
        const p1 = computePairPriority(g1, d1);
        const p2 = computePairPriority(g2, d2);
        expect(p1).toBe(formula(g1, d1));
        expect(Math.sign(Number(p1 - p2))).toBe(Math.sign(Number(formula(g1, d1) - formula(g2, d2))));
      }),
      { numRuns: 500 },
    );
  });

  it('is the same number for both agents: G is always the controlling side', () => {
    const local = cand({ address: '10.0.0.1', port: 1, localPreference: 100 });
    const remote = cand({ type: 'srflx', address: '198.51.100.2', port: 2, relatedAddress: '10.1.1.1', relatedPort: 2 });
    // Our controlling view equals the peer's controlled view of the same pair.
    expect(pairPriorityFor(local, remote, 'controlling')).toBe(pairPriorityFor(remote, local, 'controlled'));
    expect(pairPriorityFor(local, remote, 'controlling')).not.toBe(pairPriorityFor(local, remote, 'controlled'));
  });
});

describe('pair formation (§6.1.2.2, §6.1.2.4)', () => {
  const hostA = cand({ address: '10.0.0.1', port: 5000 });
  const hostV6 = cand({ address: '2001:db8::1', port: 5002, localPreference: 65534 });
  const linkLocal = cand({ address: 'fe80::1', port: 5003, localPreference: 65533 });
  const srflxA = cand({ type: 'srflx', address: '198.51.100.1', port: 40000, relatedAddress: '10.0.0.1', relatedPort: 5000 });
  const relay = cand({ type: 'relay', address: '203.0.113.5', port: 50000, relatedAddress: '198.51.100.1', relatedPort: 40001 });
  const rtcp = cand({ address: '10.0.0.1', port: 5001, component: 2 });

  const remoteV4 = cand({ address: '192.0.2.10', port: 6000, foundation: 'r1' });
  const remoteV6 = cand({ address: '2001:db8::99', port: 6001, foundation: 'r2' });
  const remoteLinkLocal = cand({ address: 'fe80::99', port: 6002, foundation: 'r3' });
  const remoteRtcp = cand({ address: '192.0.2.10', port: 6003, component: 2, foundation: 'r1' });

  it('pairs only the same component and address family; link-local only with link-local', () => {
    const pairs = formPairs([hostA, hostV6, linkLocal, rtcp], [remoteV4, remoteV6, remoteLinkLocal, remoteRtcp], 'controlling');
    const ids = pairs.map((p) => p.id).sort();
    expect(ids).toEqual(
      [
        '10.0.0.1:5000->192.0.2.10:6000',
        '10.0.0.1:5001->192.0.2.10:6003#c2',
        '[2001:db8::1]:5002->[2001:db8::99]:6001',
        '[fe80::1]:5003->[fe80::99]:6002',
      ].sort(),
    );
    const rtcpPair = pairs.find((p) => p.component === 2)!;
    expect(rtcpPair.foundation).toBe(`${rtcp.foundation}:r1`);
  });

  it('replaces a local srflx candidate by its base, making it redundant with the host pair', () => {
    const formed = formPairs([hostA, srflxA, relay], [remoteV4], 'controlling');
    expect(formed).toHaveLength(3);
    const fromSrflx = formed[1]!;
    expect(fromSrflx.local).toBe(hostA);
    expect(fromSrflx.localBase).toEqual({ address: '10.0.0.1', port: 5000 });
    const pruned = prunePairs(sortPairs(formed));
    expect(pruned.map((p) => p.local.type)).toEqual(['host', 'relay']);
  });

  it('keeps an srflx candidate whose base is not among the locals, sending from the base', () => {
    const [pair] = formPairs([srflxA], [remoteV4], 'controlled');
    expect(pair!.local).toBe(srflxA);
    expect(pair!.localBase).toEqual({ address: '10.0.0.1', port: 5000 });
    expect(pair!.id).toBe('10.0.0.1:5000->192.0.2.10:6000');
  });

  it('does not pair local peer-reflexive candidates', () => {
    const prflx = cand({ type: 'prflx', address: '198.51.100.7', port: 1, relatedAddress: '10.0.0.1', relatedPort: 5000 });
    expect(formPairs([prflx], [remoteV4], 'controlling')).toEqual([]);
  });

  it('prunes redundant pairs keeping the higher priority one', () => {
    // Two remote candidates on the same transport address (a peer on a public IP signals host and srflx).
    const remoteHost = cand({ address: '192.0.2.50', port: 7000, foundation: 'h' });
    const remoteSrflx = cand({ type: 'srflx', address: '192.0.2.50', port: 7000, foundation: 's', relatedAddress: '192.0.2.50', relatedPort: 7000 });
    const pruned = prunePairs(formPairs([hostA], [remoteSrflx, remoteHost], 'controlling'));
    expect(pruned).toHaveLength(1);
    expect(pruned[0]!.remote).toBe(remoteHost);
  });

  it('sorts by decreasing priority and applies the pair limit (§6.1.2.5)', () => {
    const locals = [hostA, relay];
    const remotes = Array.from({ length: 5 }, (_, i) =>
      cand({ address: `192.0.2.${i + 1}`, port: 6000 + i, localPreference: 65535 - i, foundation: `r${i}` }),
    );
    const all = buildPairs(locals, remotes, 'controlling', { maxPairs: 1000 });
    expect(all).toHaveLength(10);
    for (let i = 1; i < all.length; i++) expect(all[i - 1]!.priority >= all[i]!.priority).toBe(true);
    expect(all[0]!.local.type).toBe('host');
    expect(all.at(-1)!.local.type).toBe('relay');
    const limited = buildPairs(locals, remotes, 'controlling', { maxPairs: 3 });
    expect(limited).toEqual(all.slice(0, 3));
    expect(buildPairs(locals, remotes, 'controlling')).toHaveLength(10); // default limit 100
  });

  it('breaks priority ties by component, then id', () => {
    const a = { ...formPairs([hostA], [remoteV4], 'controlling')[0]!, priority: 5n };
    const b = { ...formPairs([rtcp], [remoteRtcp], 'controlling')[0]!, priority: 5n };
    expect(comparePairs(a, b)).toBeLessThan(0);
    expect(comparePairs(b, a)).toBeGreaterThan(0);
  });
});
