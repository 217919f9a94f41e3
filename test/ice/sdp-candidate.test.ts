import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Candidate, CandidateType } from '../../src/ice/candidate.js';
import { InvalidCandidateError } from '../../src/ice/errors.js';
import {
  IceCandidateSyntaxError,
  IceCandidateUnsupportedError,
  formatCandidate,
  parseCandidate,
  type CandidateSyntaxReason,
} from '../../src/ice/sdp-candidate.js';

function syntaxReason(line: string): CandidateSyntaxReason | 'no error' {
  try {
    parseCandidate(line);
    return 'no error';
  } catch (error) {
    expect(error).toBeInstanceOf(IceCandidateSyntaxError);
    expect((error as IceCandidateSyntaxError).code).toBe('ice-candidate-syntax');
    return (error as IceCandidateSyntaxError).reason;
  }
}

describe('parseCandidate (RFC 8839 §5.1)', () => {
  it('parses a host candidate with and without the a= prefix', () => {
    const line = 'candidate:1 1 UDP 2130706431 192.0.2.10 54400 typ host';
    const expected: Candidate = {
      foundation: '1',
      component: 1,
      transport: 'udp',
      priority: 2130706431,
      address: '192.0.2.10',
      port: 54400,
      type: 'host',
      family: 4,
    };
    expect(parseCandidate(line)).toEqual(expected);
    expect(parseCandidate(`a=${line}\r\n`)).toEqual(expected);
  });

  it('parses raddr/rport, generation and keeps unknown extensions in order', () => {
    const line =
      'candidate:842163049 1 udp 1677729535 198.51.100.7 61665 typ srflx raddr 10.0.0.5 rport 61665 generation 0 ufrag EsAw network-cost 999';
    const c = parseCandidate(line);
    expect(c).toMatchObject({
      foundation: '842163049',
      type: 'srflx',
      relatedAddress: '10.0.0.5',
      relatedPort: 61665,
      generation: 0,
      extensions: [
        { name: 'generation', value: '0' },
        { name: 'ufrag', value: 'EsAw' },
        { name: 'network-cost', value: '999' },
      ],
    });
    // Canonical output differs only in the transport's case.
    expect(formatCandidate(c)).toBe(line.replace(' udp ', ' UDP '));
  });

  it('parses IPv6 candidates and round-trips them', () => {
    const line = 'candidate:2 1 UDP 2122262783 2001:db8::1f 50000 typ host generation 2';
    const c = parseCandidate(line);
    expect(c.family).toBe(6);
    expect(c.address).toBe('2001:db8::1f');
    expect(c.generation).toBe(2);
    expect(formatCandidate(c)).toBe(line);
    expect(formatCandidate(c, { withPrefix: true })).toBe(`a=${line}`);
  });

  it('accepts the hidden base browsers send (raddr 0.0.0.0 rport 0)', () => {
    const c = parseCandidate('candidate:3 1 UDP 1686052607 198.51.100.7 40000 typ srflx raddr 0.0.0.0 rport 0');
    expect(c.relatedAddress).toBe('0.0.0.0');
    expect(c.relatedPort).toBe(0);
  });

  it('rejects mDNS hostnames as unsupported, naming the reason', () => {
    const line = 'candidate:4 1 UDP 2122260223 4a9d8f3c-1c2b-4a44-9b1e-0f1e2d3c4b5a.local 60001 typ host';
    expect(() => parseCandidate(line)).toThrow(IceCandidateUnsupportedError);
    try {
      parseCandidate(line);
    } catch (error) {
      expect((error as IceCandidateUnsupportedError).code).toBe('ice-candidate-unsupported');
      expect((error as IceCandidateUnsupportedError).reason).toBe('mdns-hostname');
      expect((error as Error).message).toMatch(/mDNS/);
    }
  });

  it('flags FQDNs, TCP and unknown candidate types as unsupported with distinct reasons', () => {
    const reasonOf = (line: string): string => {
      try {
        parseCandidate(line);
        return 'no error';
      } catch (error) {
        expect(error).toBeInstanceOf(IceCandidateUnsupportedError);
        return (error as IceCandidateUnsupportedError).reason;
      }
    };
    expect(reasonOf('candidate:5 1 UDP 2122260223 turn.example.com 3478 typ relay')).toBe('fqdn');
    expect(reasonOf('candidate:6 1 TCP 1518280447 192.0.2.10 9 typ host tcptype active')).toBe('transport');
    expect(reasonOf('candidate:7 1 UDP 2122260223 192.0.2.10 3478 typ magic')).toBe('candidate-type');
  });

  it('rejects malformed lines with a stable reason', () => {
    const ok = 'candidate:1 1 UDP 2130706431 192.0.2.10 54400 typ host';
    expect(syntaxReason(ok)).toBe('no error');
    expect(syntaxReason('foo:1 1 UDP 1 192.0.2.10 1 typ host')).toBe('not-a-candidate');
    expect(syntaxReason('candidate:1  1 UDP 1 192.0.2.10 1 typ host')).toBe('empty-field');
    expect(syntaxReason(`${ok} `)).toBe('empty-field');
    expect(syntaxReason('candidate:1 1 UDP 2130706431 192.0.2.10 54400 typ')).toBe('missing-field');
    expect(syntaxReason('candidate:1 1 UDP 2130706431 192.0.2.10')).toBe('missing-field');
    expect(syntaxReason('candidate:bad_foundation 1 UDP 1 192.0.2.10 1 typ host')).toBe('bad-foundation');
    expect(syntaxReason(`candidate:${'a'.repeat(33)} 1 UDP 1 192.0.2.10 1 typ host`)).toBe('bad-foundation');
    expect(syntaxReason('candidate:1 0 UDP 1 192.0.2.10 1 typ host')).toBe('bad-component');
    expect(syntaxReason('candidate:1 257 UDP 1 192.0.2.10 1 typ host')).toBe('bad-component');
    expect(syntaxReason('candidate:1 1 U(P 1 192.0.2.10 1 typ host')).toBe('bad-transport');
    expect(syntaxReason('candidate:1 1 UDP 0 192.0.2.10 1 typ host')).toBe('bad-priority');
    expect(syntaxReason('candidate:1 1 UDP 2147483648 192.0.2.10 1 typ host')).toBe('bad-priority');
    expect(syntaxReason('candidate:1 1 UDP -5 192.0.2.10 1 typ host')).toBe('bad-priority');
    expect(syntaxReason('candidate:1 1 UDP 1 192.0.2.10 0 typ host')).toBe('bad-port');
    expect(syntaxReason('candidate:1 1 UDP 1 192.0.2.10 65536 typ host')).toBe('bad-port');
    expect(syntaxReason('candidate:1 1 UDP 1 192.0.2.10 1 type host')).toBe('missing-typ');
    expect(syntaxReason('candidate:1 1 UDP 1 300.1.1.1 1 typ host')).toBe('bad-address');
    expect(syntaxReason('candidate:1 1 UDP 1 192.0.2.10 1 typ srflx raddr nothost! rport 1')).toBe('bad-raddr');
    expect(syntaxReason('candidate:1 1 UDP 1 192.0.2.10 1 typ srflx raddr 10.0.0.1')).toBe('missing-rport');
    expect(syntaxReason('candidate:1 1 UDP 1 192.0.2.10 1 typ srflx rport 1')).toBe('missing-raddr');
    expect(syntaxReason('candidate:1 1 UDP 1 192.0.2.10 1 typ srflx raddr 10.0.0.1 rport x')).toBe('bad-rport');
    expect(syntaxReason(`${ok} generation`)).toBe('dangling-extension');
    expect(syntaxReason(`${ok} generation x`)).toBe('bad-generation');
    expect(syntaxReason(`${ok} ufrag x raddr 10.0.0.1`)).toBe('bad-extension');
  });

  it('puts the reason and the input into the message', () => {
    expect(() => parseCandidate('candidate:1 1 UDP 0 192.0.2.10 1 typ host')).toThrow(/bad-priority.*"candidate:1 1 UDP 0/);
  });
});

describe('formatCandidate', () => {
  it('writes generation from the field, replacing or appending the extension', () => {
    const base = parseCandidate('candidate:1 1 UDP 2130706431 192.0.2.10 54400 typ host generation 0 ufrag abc');
    expect(formatCandidate({ ...base, generation: 3 })).toBe('candidate:1 1 UDP 2130706431 192.0.2.10 54400 typ host generation 3 ufrag abc');
    const { extensions: _dropped, ...bare } = base;
    expect(formatCandidate({ ...bare, generation: 1 })).toBe('candidate:1 1 UDP 2130706431 192.0.2.10 54400 typ host generation 1');
  });

  it('refuses to write what cannot be parsed back', () => {
    const c = parseCandidate('candidate:1 1 UDP 2130706431 192.0.2.10 54400 typ host');
    expect(() => formatCandidate({ ...c, foundation: 'no spaces allowed' })).toThrow(InvalidCandidateError);
    expect(() => formatCandidate({ ...c, priority: 2 ** 31 })).toThrow(InvalidCandidateError);
    expect(() => formatCandidate({ ...c, extensions: [{ name: 'x', value: 'a b' }] })).toThrow(InvalidCandidateError);
  });

  it('round-trips arbitrary valid candidates (property)', () => {
    const iceChar = fc.constantFrom(...'abcXYZ0189+/'.split(''));
    const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join('.'));
    const ipv6 = fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 }).map((p) => p.map((x) => x.toString(16)).join(':'));
    const candidate = fc.record({
      foundation: fc.array(iceChar, { minLength: 1, maxLength: 32 }).map((a) => a.join('')),
      component: fc.integer({ min: 1, max: 256 }),
      priority: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
      v6: fc.boolean(),
      a4: ipv4,
      a6: ipv6,
      port: fc.integer({ min: 1, max: 65535 }),
      type: fc.constantFrom<CandidateType>('host', 'srflx', 'prflx', 'relay'),
      related: fc.option(fc.tuple(ipv4, fc.integer({ min: 0, max: 65535 })), { nil: undefined }),
      generation: fc.option(fc.nat(1000), { nil: undefined }),
    });
    fc.assert(
      fc.property(candidate, (r) => {
        const c: Candidate = {
          foundation: r.foundation,
          component: r.component,
          transport: 'udp',
          priority: r.priority,
          address: r.v6 ? r.a6 : r.a4,
          port: r.port,
          type: r.type,
          family: r.v6 ? 6 : 4,
          ...(r.related ? { relatedAddress: r.related[0], relatedPort: r.related[1] } : {}),
          ...(r.generation !== undefined ? { generation: r.generation, extensions: [{ name: 'generation', value: String(r.generation) }] } : {}),
        };
        const text = formatCandidate(c);
        expect(parseCandidate(text)).toEqual(c);
        expect(formatCandidate(parseCandidate(text))).toBe(text);
      }),
      { numRuns: 300 },
    );
  });
});
