import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SuccessTemplates, successAttributes, type SuccessShape } from '../../src/server/success-templates.js';
import { SOCKET_ROLES } from '../../src/server/roles.js';
import { MAGIC_COOKIE, StunMethod, decodeMessage, encodeMessage, getAttribute, type TransportAddress } from '../../src/stun/index.js';

const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((parts) => parts.join('.'));
const ipv6 = fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 }).map((groups) => groups.map((g) => g.toString(16)).join(':'));
const port = fc.nat(0xffff);
const v4 = fc.record({ family: fc.constant(4 as const), address: ipv4, port });
const v6 = fc.record({ family: fc.constant(6 as const), address: ipv6, port });
const transactionId = fc.uint8Array({ minLength: 12, maxLength: 12 });
const role = fc.constantFrom(...SOCKET_ROLES);

/** A shape, the request's source and cookie field, all of one family. */
const scenario = fc.boolean().chain((six) => {
  const address: fc.Arbitrary<TransportAddress> = six ? v6 : v4;
  return fc.record({
    legacy: fc.boolean(),
    cookie: fc.nat(0xffffffff),
    origin: fc.option(address, { nil: undefined }),
    other: fc.option(address, { nil: undefined }),
    software: fc.option(fc.string({ maxLength: 40 }), { nil: undefined }),
    fingerprint: fc.boolean(),
    mapped: address,
    transactionId,
    sendFrom: role,
    receivedOn: role,
  });
});

describe('SuccessTemplates: the same bytes as encoding the whole response with the codec', () => {
  it('over random addresses, ports, transaction IDs, cookies and shapes (IPv4 and IPv6)', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        // An RFC 8489 request carries the magic cookie; anything else is an RFC 3489 client.
        const magicCookie = s.legacy ? (s.cookie === MAGIC_COOKIE ? 0 : s.cookie) : MAGIC_COOKIE;
        const shape: SuccessShape = { legacy: s.legacy, origin: s.origin, other: s.other, software: s.software, fingerprint: s.fingerprint, family: s.mapped.family };
        // A fresh cache per case: the cache key stands for one server's fixed addresses.
        const rendered = new SuccessTemplates().render(shape, s.sendFrom, s.receivedOn, magicCookie, s.transactionId, s.mapped);
        const expected = encodeMessage(
          { class: 'successResponse', method: StunMethod.binding, transactionId: s.transactionId, magicCookie, attributes: successAttributes(shape, s.mapped) },
          { fingerprint: s.fingerprint },
        );
        expect(Buffer.from(rendered).equals(Buffer.from(expected))).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('reuses a template across requests without leaking one answer into the next', () => {
    const templates = new SuccessTemplates();
    const shape: SuccessShape = { legacy: false, origin: { family: 4, address: '127.0.0.1', port: 3478 }, other: undefined, software: 'x', fingerprint: true, family: 4 };
    const answers = [
      { family: 4, address: '198.51.100.7', port: 40000 },
      { family: 4, address: '203.0.113.250', port: 1 },
    ].map((mapped) => ({ mapped: mapped as TransportAddress, id: new Uint8Array(12).fill(mapped.port & 0xff) }));
    const rendered = answers.map(({ mapped, id }) => templates.render(shape, 'primary', 'primary', MAGIC_COOKIE, id, mapped));
    answers.forEach(({ mapped, id }, i) => {
      const decoded = decodeMessage(rendered[i]!); // also verifies FINGERPRINT
      expect(decoded.transactionId).toEqual(id);
      expect(getAttribute(decoded, 'XOR-MAPPED-ADDRESS')).toEqual(mapped);
      expect(getAttribute(decoded, 'MAPPED-ADDRESS')).toEqual(mapped);
    });
    expect(templates.sizeOf(shape, 'primary', 'primary')).toBe(rendered[0]!.length);
  });
});
