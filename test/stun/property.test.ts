import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  attr,
  decodeMessage,
  encodeMessage,
  shortTermKey,
  verifyMessageIntegrity,
  type StunAttribute,
  type StunClass,
} from '../../src/stun/index.js';

const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((parts) => parts.join('.'));
const ipv6 = fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 }).map((groups) => groups.map((g) => g.toString(16)).join(':'));
const port = fc.nat(0xffff);
const address = fc.oneof(
  fc.record({ family: fc.constant(4 as const), address: ipv4, port }),
  // Normalise through the codec's own canonical form by decoding once (RFC 5952 compression).
  fc.record({ family: fc.constant(6 as const), address: ipv6, port }),
);
const shortText = fc.string({ maxLength: 40 });
const bytes = (max: number) => fc.uint8Array({ maxLength: max });

const attribute: fc.Arbitrary<StunAttribute> = fc.oneof(
  address.map((v) => attr('XOR-MAPPED-ADDRESS', v)),
  address.map((v) => attr('MAPPED-ADDRESS', v)),
  address.map((v) => attr('OTHER-ADDRESS', v)),
  address.map((v) => attr('RESPONSE-ORIGIN', v)),
  fc.record({ changeIp: fc.boolean(), changePort: fc.boolean() }).map((v) => attr('CHANGE-REQUEST', v)),
  port.map((v) => attr('RESPONSE-PORT', v)),
  bytes(64).map((v) => attr('PADDING', v)),
  shortText.map((v) => attr('USERNAME', v)),
  shortText.map((v) => attr('SOFTWARE', v)),
  shortText.map((v) => attr('REALM', v)),
  shortText.map((v) => attr('NONCE', v)),
  fc.record({ code: fc.integer({ min: 300, max: 699 }), reason: shortText }).map((v) => attr('ERROR-CODE', v)),
  fc.array(fc.nat(0xffff), { maxLength: 6 }).map((v) => attr('UNKNOWN-ATTRIBUTES', v)),
  fc.nat().map((v) => attr('PRIORITY', v >>> 0)),
  fc.constant(attr('USE-CANDIDATE', true)),
  fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map((v) => attr('ICE-CONTROLLED', v)),
  fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map((v) => attr('ICE-CONTROLLING', v)),
  fc
    .record({ type: fc.integer({ min: 0xc000, max: 0xffff }), value: bytes(32) })
    .map(({ type, value }): StunAttribute => ({ name: 'UNKNOWN', type, value })),
);

const message = fc.record({
  class: fc.constantFrom<StunClass>('request', 'indication', 'successResponse', 'errorResponse'),
  method: fc.nat(0xfff),
  transactionId: fc.uint8Array({ minLength: 12, maxLength: 12 }),
  attributes: fc.array(attribute, { maxLength: 10 }),
});

describe('codec properties', () => {
  it('decode(encode(m)) re-encodes to identical bytes and keeps every attribute in order', () => {
    fc.assert(
      fc.property(message, (m) => {
        const wire = encodeMessage(m);
        const decoded = decodeMessage(wire);
        expect(decoded.class).toBe(m.class);
        expect(decoded.method).toBe(m.method);
        expect(decoded.attributes.map((a) => a.name)).toEqual(m.attributes.map((a) => a.name));
        expect(Buffer.from(encodeMessage(decoded)).equals(wire)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('integrity computed on encode always verifies, and never with another key', () => {
    fc.assert(
      fc.property(message, fc.string({ minLength: 1, maxLength: 20 }), (m, password) => {
        const key = shortTermKey(password);
        const decoded = decodeMessage(encodeMessage(m, { integrityKey: key, fingerprint: true }));
        expect(verifyMessageIntegrity(decoded, key)).toBe('ok');
        expect(verifyMessageIntegrity(decoded, shortTermKey(`${password}!`))).toBe('mismatch');
      }),
      { numRuns: 500 },
    );
  });
});
