import { describe, expect, it } from 'vitest';
import {
  attr,
  decodeMessage,
  encodeMessage,
  getAttribute,
  messageType,
  newTransactionId,
  shortTermKey,
  StunDecodeError,
  StunEncodeError,
  StunMethod,
  unknownComprehensionRequired,
  verifyMessageIntegrity,
  verifyMessageIntegritySha256,
} from '../../src/stun/index.js';

function decodeError(bytes: Uint8Array): StunDecodeError {
  try {
    decodeMessage(bytes);
  } catch (error) {
    expect(error).toBeInstanceOf(StunDecodeError);
    return error as StunDecodeError;
  }
  throw new Error('expected decodeMessage to throw');
}

describe('message type packing (RFC 8489 §5)', () => {
  it('interleaves class bits with the method', () => {
    expect(messageType('request', StunMethod.binding)).toBe(0x0001);
    expect(messageType('successResponse', StunMethod.binding)).toBe(0x0101);
    expect(messageType('errorResponse', StunMethod.binding)).toBe(0x0111);
    expect(messageType('indication', StunMethod.send)).toBe(0x0016);
    expect(messageType('errorResponse', StunMethod.allocate)).toBe(0x0113);
    expect(messageType('successResponse', StunMethod.channelBind)).toBe(0x0109);
  });
});

describe('encode and decode', () => {
  it('keeps attribute order, duplicates and unknown attributes', () => {
    const transactionId = newTransactionId();
    const bytes = encodeMessage({
      class: 'request',
      method: StunMethod.binding,
      transactionId,
      attributes: [
        attr('SOFTWARE', 'a'),
        { name: 'UNKNOWN', type: 0x7f01, value: Uint8Array.of(1, 2, 3) },
        attr('SOFTWARE', 'b'),
        { name: 'UNKNOWN', type: 0xc001, value: Uint8Array.of() },
      ],
    });
    const message = decodeMessage(bytes);
    expect(message.attributes.map((a) => (a.name === 'UNKNOWN' ? a.type : a.name))).toEqual(['SOFTWARE', 0x7f01, 'SOFTWARE', 0xc001]);
    expect(message.attributes[2]!.value).toBe('b');
    expect(unknownComprehensionRequired(message)).toEqual([0x7f01]);
    expect(Buffer.from(encodeMessage(message)).equals(bytes)).toBe(true);
  });

  it('round-trips every RFC 5780 and ICE attribute', () => {
    const message = {
      class: 'successResponse' as const,
      method: StunMethod.binding,
      transactionId: newTransactionId(),
      attributes: [
        attr('XOR-MAPPED-ADDRESS', { family: 6, address: '2001:db8::1', port: 443 }),
        attr('MAPPED-ADDRESS', { family: 4, address: '203.0.113.9', port: 40000 }),
        attr('OTHER-ADDRESS', { family: 4, address: '127.0.0.2', port: 3479 }),
        attr('RESPONSE-ORIGIN', { family: 4, address: '127.0.0.1', port: 3478 }),
        attr('CHANGE-REQUEST', { changeIp: true, changePort: false }),
        attr('RESPONSE-PORT', 5000),
        attr('PADDING', new Uint8Array(7)),
        attr('ERROR-CODE', { code: 487, reason: 'Role Conflict' }),
        attr('UNKNOWN-ATTRIBUTES', [0x7f01, 0x0033]),
        attr('PRIORITY', 0x6e0001ff),
        attr('USE-CANDIDATE', true),
        attr('ICE-CONTROLLING', 0xffff_ffff_ffff_ffffn),
        attr('REALM', 'example.org'),
        attr('NONCE', 'abc'),
      ],
    };
    const decoded = decodeMessage(encodeMessage(message));
    expect(decoded.attributes).toEqual(message.attributes);
  });

  it('computes MESSAGE-INTEGRITY, MESSAGE-INTEGRITY-SHA256 and FINGERPRINT that verify', () => {
    const key = shortTermKey('secret');
    const bytes = encodeMessage(
      { class: 'request', method: StunMethod.binding, transactionId: newTransactionId(), attributes: [attr('USERNAME', 'a:b')] },
      { integrityKey: key, integritySha256Key: key, fingerprint: true },
    );
    const message = decodeMessage(bytes);
    expect(message.attributes.map((a) => a.name)).toEqual(['USERNAME', 'MESSAGE-INTEGRITY', 'MESSAGE-INTEGRITY-SHA256', 'FINGERPRINT']);
    expect(verifyMessageIntegrity(message, key)).toBe('ok');
    expect(verifyMessageIntegritySha256(message, key)).toBe('ok');
    expect(verifyMessageIntegrity(message, shortTermKey('other'))).toBe('mismatch');
    const tampered = Buffer.from(bytes);
    tampered[26]! ^= 1; // inside USERNAME; the fingerprint check is off so the HMAC check is reached
    expect(verifyMessageIntegrity(decodeMessage(tampered, { verifyFingerprint: false }), key)).toBe('mismatch');
  });

  it('reports a missing MESSAGE-INTEGRITY as missing, not as a mismatch', () => {
    const message = decodeMessage(encodeMessage({ class: 'request', method: 1, transactionId: newTransactionId(), attributes: [] }));
    expect(verifyMessageIntegrity(message, shortTermKey('x'))).toBe('missing');
  });

  it('refuses to encode values the wire cannot carry', () => {
    const build = (attributes: Parameters<typeof encodeMessage>[0]['attributes']) => () =>
      encodeMessage({ class: 'request', method: 1, transactionId: newTransactionId(), attributes });
    expect(build([attr('PRIORITY', -1)])).toThrow(StunEncodeError);
    expect(build([attr('XOR-MAPPED-ADDRESS', { family: 4, address: 'not-an-ip', port: 1 })])).toThrow(StunEncodeError);
    expect(build([attr('ERROR-CODE', { code: 200, reason: 'x' })])).toThrow(StunEncodeError);
  });
});

describe('strict decoding', () => {
  const valid = () =>
    Buffer.from(
      encodeMessage(
        { class: 'request', method: 1, transactionId: newTransactionId(), attributes: [attr('SOFTWARE', 'abcde')] },
        { fingerprint: true },
      ),
    );

  it.each([
    ['truncated-header', () => valid().subarray(0, 19)],
    ['not-stun', () => Object.assign(valid(), { 0: 0x40 })],
    ['length-not-aligned', () => Object.assign(valid(), { 3: valid()[3]! + 1 })],
    ['length-mismatch', () => valid().subarray(0, valid().length - 4)],
  ])('%s', (reason, make) => {
    expect(decodeError(make()).reason).toBe(reason);
  });

  it('names the attribute and offset of a bad value', () => {
    const bytes = Buffer.from(
      encodeMessage({ class: 'request', method: 1, transactionId: newTransactionId(), attributes: [attr('PRIORITY', 1)] }),
    );
    bytes.writeUInt16BE(2, 22); // PRIORITY claims 2 bytes
    const error = decodeError(bytes);
    expect(error.reason).toBe('bad-attribute-value');
    expect(error.attribute).toBe('PRIORITY');
    expect(error.offset).toBe(20);
    expect(error.code).toBe('stun-bad-attribute-value');
    expect(error.message).toContain('PRIORITY');
  });

  it('rejects an attribute that runs past the end', () => {
    const bytes = valid();
    bytes.writeUInt16BE(200, 22);
    expect(decodeError(bytes).reason).toBe('truncated-attribute');
  });

  it('rejects a corrupted FINGERPRINT and anything after FINGERPRINT', () => {
    const corrupted = valid();
    corrupted[corrupted.length - 1]! ^= 0xff;
    expect(decodeError(corrupted).reason).toBe('fingerprint-mismatch');

    const trailing = Buffer.concat([valid(), Buffer.from([0x80, 0x22, 0, 0])]);
    trailing.writeUInt16BE(trailing.length - 20, 2);
    expect(decodeError(trailing).reason).toBe('attribute-after-fingerprint');
  });

  it('rejects invalid UTF-8 and unknown address families', () => {
    const text = valid();
    text[24] = 0xff;
    expect(decodeError(decodeMessageNoFp(text)).reason).toBe('bad-attribute-value');
    const address = Buffer.from(
      encodeMessage({
        class: 'successResponse',
        method: 1,
        transactionId: newTransactionId(),
        attributes: [attr('MAPPED-ADDRESS', { family: 4, address: '1.2.3.4', port: 1 })],
      }),
    );
    address[25] = 3;
    expect(decodeError(address).reason).toBe('bad-attribute-value');
  });

  it('decodes a classic RFC 3489 message (no magic cookie) and keeps its cookie field', () => {
    const bytes = valid().subarray(0, 20 + 12);
    bytes.writeUInt16BE(12, 2);
    bytes.writeUInt32BE(0x01020304, 4);
    const message = decodeMessage(bytes);
    expect(message.magicCookie).toBe(0x01020304);
    expect(Buffer.from(encodeMessage(message)).equals(bytes)).toBe(true);
  });
});

/** Strips the FINGERPRINT so a deliberately corrupted body reaches the attribute decoder. */
function decodeMessageNoFp(bytes: Buffer): Buffer {
  const stripped = Buffer.from(bytes.subarray(0, bytes.length - 8));
  stripped.writeUInt16BE(stripped.length - 20, 2);
  return stripped;
}

describe('decoded values never alias the datagram', () => {
  it('copies transaction ID, opaque values, unknown attributes and padding out of a Buffer', () => {
    const wire = Buffer.from(
      encodeMessage({
        class: 'request',
        method: 1,
        transactionId: newTransactionId(),
        attributes: [attr('DATA', Uint8Array.of(1, 2, 3)), { name: 'UNKNOWN', type: 0xc0de, value: Uint8Array.of(9, 9) }],
      }),
    );
    const message = decodeMessage(wire);
    const before = JSON.stringify([...message.transactionId, ...(message.attributes[0]!.value as Uint8Array), ...(message.attributes[1]!.value as Uint8Array)]);
    wire.fill(0xff, 8);
    expect(JSON.stringify([...message.transactionId, ...(message.attributes[0]!.value as Uint8Array), ...(message.attributes[1]!.value as Uint8Array)])).toBe(before);
  });
});

describe('getAttribute', () => {
  it('returns the first of duplicates and undefined when absent', () => {
    const message = { class: 'request' as const, method: 1, transactionId: newTransactionId(), attributes: [attr('NONCE', 'x'), attr('NONCE', 'y')] };
    expect(getAttribute(message, 'NONCE')).toBe('x');
    expect(getAttribute(message, 'REALM')).toBeUndefined();
  });
});
