import { describe, expect, it } from 'vitest';
import {
  FoundationAllocator,
  TYPE_PREFERENCE,
  baseOf,
  computePriority,
  foundationKey,
  interleavedLocalPreferences,
  localPreferenceOf,
  prflxPriorityFor,
  typePreferenceOf,
} from '../../src/ice/candidate.js';
import { InvalidCandidateError } from '../../src/ice/errors.js';
import { cand } from './helpers.js';

describe('computePriority (RFC 8445 §5.1.2.1)', () => {
  it('uses the recommended type preferences of §5.1.2.2', () => {
    expect(TYPE_PREFERENCE).toEqual({ host: 126, prflx: 110, srflx: 100, relay: 0 });
  });

  it('matches the values WebRTC stacks put on the wire for a single-homed host', () => {
    // 2^24·126 + 2^8·65535 + (256−1): the familiar "2130706431" of host candidates.
    expect(computePriority('host', 65535, 1)).toBe(2130706431);
    expect(computePriority('srflx', 65535, 1)).toBe(1694498815);
    expect(computePriority('prflx', 65535, 1)).toBe(1862270975);
    expect(computePriority('relay', 65535, 1)).toBe(16777215);
    // RTCP component 2 costs one.
    expect(computePriority('host', 65535, 2)).toBe(2130706430);
  });

  it('applies the formula field by field', () => {
    const priority = computePriority('srflx', 1234, 3);
    expect(priority).toBe(2 ** 24 * 100 + 2 ** 8 * 1234 + 253);
    expect(typePreferenceOf(priority)).toBe(100);
    expect(localPreferenceOf(priority)).toBe(1234);
  });

  it('rejects out-of-range inputs with a typed error', () => {
    expect(() => computePriority('host', 65536)).toThrow(InvalidCandidateError);
    expect(() => computePriority('host', -1)).toThrow(InvalidCandidateError);
    expect(() => computePriority('host', 1, 0)).toThrow(/Component ID 0/);
    expect(() => computePriority('host', 1, 257)).toThrow(InvalidCandidateError);
  });

  it('gives the PRIORITY attribute the prflx type preference and the local preference of the candidate (§7.1.1)', () => {
    const host = cand({ address: '10.0.0.1', port: 1, localPreference: 40000 });
    expect(prflxPriorityFor(host)).toBe(computePriority('prflx', 40000, 1));
  });
});

describe('foundations (§5.1.1.3)', () => {
  it('are equal for the same type, base IP, server and transport, whatever the port', () => {
    const a = new FoundationAllocator();
    const f1 = a.foundationFor({ type: 'srflx', baseAddress: '10.0.0.1', serverAddress: '203.0.113.1' });
    const f2 = a.foundationFor({ type: 'srflx', baseAddress: '10.0.0.1', serverAddress: '203.0.113.1' });
    expect(f1).toBe(f2);
  });

  it('differ when any of type, base IP or server differ', () => {
    const a = new FoundationAllocator();
    const base = a.foundationFor({ type: 'srflx', baseAddress: '10.0.0.1', serverAddress: '203.0.113.1' });
    const others = [
      a.foundationFor({ type: 'host', baseAddress: '10.0.0.1' }),
      a.foundationFor({ type: 'srflx', baseAddress: '10.0.0.2', serverAddress: '203.0.113.1' }),
      a.foundationFor({ type: 'srflx', baseAddress: '10.0.0.1', serverAddress: '203.0.113.2' }),
      a.foundationFor({ type: 'relay', baseAddress: '10.0.0.1', serverAddress: '203.0.113.1' }),
    ];
    expect(new Set([base, ...others]).size).toBe(5);
    for (const f of [base, ...others]) expect(f).toMatch(/^[A-Za-z0-9+/]{1,32}$/);
  });

  it('ignore the server for host candidates and compare IPs case-insensitively', () => {
    expect(foundationKey({ type: 'host', baseAddress: 'FE80::1', serverAddress: '1.1.1.1' })).toBe(
      foundationKey({ type: 'host', baseAddress: 'fe80::1' }),
    );
  });

  it('can be namespaced with a prefix', () => {
    expect(new FoundationAllocator('prflx').foundationFor({ type: 'prflx', baseAddress: '10.0.0.1' })).toBe('prflx1');
    expect(() => new FoundationAllocator('bad prefix')).toThrow(InvalidCandidateError);
  });
});

describe('baseOf (§5.1.1.1)', () => {
  it('is the candidate itself for host and relay, the related address for reflexive candidates', () => {
    expect(baseOf(cand({ address: '10.0.0.1', port: 5000 }))).toEqual({ address: '10.0.0.1', port: 5000 });
    expect(baseOf(cand({ type: 'relay', address: '203.0.113.9', port: 6000, relatedAddress: '198.51.100.1', relatedPort: 7 }))).toEqual({
      address: '203.0.113.9',
      port: 6000,
    });
    expect(baseOf(cand({ type: 'srflx', address: '198.51.100.1', port: 7, relatedAddress: '10.0.0.1', relatedPort: 5000 }))).toEqual({
      address: '10.0.0.1',
      port: 5000,
    });
  });

  it('throws for a reflexive candidate without its base', () => {
    expect(() => baseOf(cand({ type: 'srflx', address: '198.51.100.1', port: 7 }))).toThrow(/no related address/);
  });
});

describe('interleavedLocalPreferences (RFC 8421)', () => {
  it('alternates families, IPv6 first, interfaces in rank order, all unique', () => {
    const prefs = interleavedLocalPreferences([
      { address: '192.168.1.10', interfaceRank: 0 },
      { address: '10.8.0.2', interfaceRank: 1 },
      { address: '2001:db8::10', interfaceRank: 0 },
      { address: '2001:db8:1::20', interfaceRank: 1 },
      { address: '172.16.0.5', interfaceRank: 2 },
    ]);
    const order = [...prefs.entries()].sort((a, b) => b[1] - a[1]).map(([address]) => address);
    expect(order).toEqual(['2001:db8::10', '192.168.1.10', '2001:db8:1::20', '10.8.0.2', '172.16.0.5']);
    expect(prefs.get('2001:db8::10')).toBe(65535);
    expect(new Set(prefs.values()).size).toBe(5);
  });

  it('can prefer IPv4 and rejects hostnames', () => {
    const prefs = interleavedLocalPreferences([{ address: '::1' }, { address: '127.0.0.1' }], { preferFamily: 4 });
    expect(prefs.get('127.0.0.1')).toBe(65535);
    expect(prefs.get('::1')).toBe(65534);
    expect(() => interleavedLocalPreferences([{ address: 'host.local' }])).toThrow(InvalidCandidateError);
  });
});
