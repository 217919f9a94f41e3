import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CANDIDATE_ATTRIBUTE,
  ClientMessage,
  decodeClientFrame,
  decodeServerFrame,
  findJsonBoundViolation,
  PeerPayload,
  TieBreaker,
  withSeq,
} from '../../src/signaling/protocol.js';

describe('candidate attribute (RFC 8839 §5.1)', () => {
  it.each([
    'candidate:1 1 udp 2130706431 192.0.2.1 54321 typ host',
    'candidate:842163049 1 udp 1677729535 203.0.113.7 61000 typ srflx raddr 10.0.0.2 rport 61000 generation 0 ufrag abcd network-cost 999',
    'candidate:3 1 UDP 16777215 2001:db8::1 3478 typ relay raddr 203.0.113.7 rport 61000',
    'candidate:a+/B 2 tcp 1518280447 4f1c0b8e-6e7d-4b53-a5e3-dc2a6b8f4b5a.local 9 typ host tcptype active',
  ])('accepts %s', (attribute) => {
    expect(CANDIDATE_ATTRIBUTE.test(attribute)).toBe(true);
  });

  it.each([
    '1 1 udp 2130706431 192.0.2.1 54321 typ host', // no "candidate:" prefix
    'candidate:1 1 udp 2130706431 192.0.2.1 54321', // no typ
    'candidate:1 1 udp 2130706431 192.0.2.1 port typ host', // port not digits
    'candidate:1 1 udp 2130706431 192.0.2.1 54321 typ host ', // trailing space
    'candidate:has_underscore 1 udp 1 192.0.2.1 1 typ host', // "_" is not an ice-char
    `candidate:${'a'.repeat(33)} 1 udp 1 192.0.2.1 1 typ host`, // foundation over 32 ice-chars
  ])('rejects %s', (attribute) => {
    expect(CANDIDATE_ATTRIBUTE.test(attribute)).toBe(false);
  });

  it('accepts every candidate built from the grammar', () => {
    const iceChars = fc.constantFrom(...'abcXYZ019+/'.split(''));
    fc.assert(
      fc.property(
        fc.array(iceChars, { minLength: 1, maxLength: 32 }).map((chars) => chars.join('')),
        fc.integer({ min: 1, max: 256 }),
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        fc.ipV4(),
        fc.integer({ min: 0, max: 65535 }),
        fc.constantFrom('host', 'srflx', 'prflx', 'relay'),
        (foundation, component, priority, address, port, type) =>
          CANDIDATE_ATTRIBUTE.test(`candidate:${foundation} ${component} udp ${priority} ${address} ${port} typ ${type}`),
      ),
    );
  });
});

describe('tie-breaker (RFC 8445 §7.3.1.1)', () => {
  it('accepts 0 and 2^64 - 1 as decimal strings, rejects 2^64, numbers and non-digits', () => {
    expect(TieBreaker.safeParse('0').success).toBe(true);
    expect(TieBreaker.safeParse('18446744073709551615').success).toBe(true);
    expect(TieBreaker.safeParse('18446744073709551616').success).toBe(false);
    expect(TieBreaker.safeParse(12345).success).toBe(false);
    expect(TieBreaker.safeParse('0x10').success).toBe(false);
    // Not a BigInt literal at all: the 64-bit check must not throw after the regex has failed.
    expect(TieBreaker.safeParse('y').success).toBe(false);
    expect(TieBreaker.safeParse('1e5').success).toBe(false);
  });
});

describe('decoding', () => {
  it('names bad JSON and the zod path of a schema violation', () => {
    expect(decodeClientFrame('{')).toMatchObject({ ok: false, code: 'bad-json' });
    expect(decodeClientFrame('{"type":"join","seq":0,"room":"has space"}')).toMatchObject({
      ok: false,
      code: 'schema-violation',
      path: ['room'],
    });
    expect(decodeClientFrame('{"type":"join","seq":3,"room":"r"}')).toMatchObject({ ok: false, path: ['seq'] });
  });

  it('never throws, whatever the frame', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json()), (text) => {
        const result = decodeClientFrame(text);
        return result.ok || result.code === 'bad-json' || result.code === 'schema-violation';
      }),
      { numRuns: 500 },
    );
  });

  it('keeps server messages it does not fully know (loose objects), but still checks known fields', () => {
    const frame = '{"seq":3,"type":"peer-joined","peerId":"p-1","futureField":1}';
    expect(decodeServerFrame(frame)).toMatchObject({ ok: true, message: { type: 'peer-joined', seq: 3 } });
    expect(decodeServerFrame('{"seq":0,"type":"peer-joined","peerId":"p-1"}')).toMatchObject({ ok: false, path: ['seq'] });
  });

  it('round-trips every peer payload through the wire form', () => {
    const payloads = [
      { type: 'ice-params', ufrag: 'abcd', pwd: 'abcdefghijklmnopqrstuv', tieBreaker: '42', iceLite: false },
      { type: 'candidate', candidate: 'candidate:1 1 udp 1 192.0.2.1 1 typ host' },
      { type: 'end-of-candidates' },
      { type: 'result', result: { ok: true, nested: [1, { a: null }] } },
    ] as const;
    for (const payload of payloads) {
      expect(PeerPayload.parse(payload)).toEqual(payload);
      expect(ClientMessage.parse(JSON.parse(withSeq(7, JSON.stringify(payload))))).toEqual({ ...payload, seq: 7 });
    }
  });
});

describe('result bounds', () => {
  it('accepts up to the node limit and reports the first path past the depth limit', () => {
    expect(findJsonBoundViolation({ a: [1, 2, { b: 'c' }] })).toBeUndefined();
    expect(findJsonBoundViolation({ a: { b: { c: 1 } } }, { maxDepth: 2, maxNodes: 100 })).toEqual({
      path: ['a', 'b'],
      message: 'nested deeper than 2 levels',
    });
    expect(findJsonBoundViolation(Array.from({ length: 10 }, () => 0), { maxDepth: 5, maxNodes: 5 })?.message).toBe('more than 5 values');
  });
});
