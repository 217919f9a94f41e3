import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  decodeMessage,
  encodeMessage,
  getAttribute,
  longTermKey,
  shortTermKey,
  verifyMessageIntegrity,
  StunMethod,
} from '../../src/stun/index.js';

const vector = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(`../../fixtures/rfc5769/${name}`, import.meta.url)));
const PASSWORD = 'VOkJxbRl1RmTxUk/WvJxBt';

describe('RFC 5769 test vectors', () => {
  it('§2.1 sample request: attributes, short-term integrity, fingerprint, byte-for-byte re-encode', () => {
    const bytes = vector('sample-request.bin');
    const message = decodeMessage(bytes);
    expect(message.class).toBe('request');
    expect(message.method).toBe(StunMethod.binding);
    expect(Buffer.from(message.transactionId).toString('hex')).toBe('b7e7a701bc34d686fa87dfae');
    expect(message.attributes.map((a) => a.name)).toEqual([
      'SOFTWARE',
      'PRIORITY',
      'ICE-CONTROLLED',
      'USERNAME',
      'MESSAGE-INTEGRITY',
      'FINGERPRINT',
    ]);
    expect(getAttribute(message, 'SOFTWARE')).toBe('STUN test client');
    expect(getAttribute(message, 'PRIORITY')).toBe(0x6e0001ff);
    expect(getAttribute(message, 'ICE-CONTROLLED')).toBe(0x932ff9b151263b36n);
    expect(getAttribute(message, 'USERNAME')).toBe('evtj:h6vY');
    expect(verifyMessageIntegrity(message, shortTermKey(PASSWORD))).toBe('ok');
    expect(verifyMessageIntegrity(message, shortTermKey(`${PASSWORD}x`))).toBe('mismatch');
    expect(Buffer.from(encodeMessage(message)).equals(Buffer.from(bytes))).toBe(true);
  });

  it('§2.2 sample IPv4 response decodes 192.0.2.1:32853 and re-encodes exactly', () => {
    const bytes = vector('sample-ipv4-response.bin');
    const message = decodeMessage(bytes);
    expect(message.class).toBe('successResponse');
    expect(getAttribute(message, 'SOFTWARE')).toBe('test vector');
    expect(getAttribute(message, 'XOR-MAPPED-ADDRESS')).toEqual({ family: 4, address: '192.0.2.1', port: 32853 });
    expect(verifyMessageIntegrity(message, shortTermKey(PASSWORD))).toBe('ok');
    expect(Buffer.from(encodeMessage(message)).equals(Buffer.from(bytes))).toBe(true);
  });

  it('§2.3 sample IPv6 response decodes the IPv6 XOR-MAPPED-ADDRESS and re-encodes exactly', () => {
    const bytes = vector('sample-ipv6-response.bin');
    const message = decodeMessage(bytes);
    expect(getAttribute(message, 'XOR-MAPPED-ADDRESS')).toEqual({
      family: 6,
      address: '2001:db8:1234:5678:11:2233:4455:6677',
      port: 32853,
    });
    expect(verifyMessageIntegrity(message, shortTermKey(PASSWORD))).toBe('ok');
    expect(Buffer.from(encodeMessage(message)).equals(Buffer.from(bytes))).toBe(true);
  });

  it('§2.4 long-term request verifies with MD5(username:realm:password) and is rebuilt byte for byte', () => {
    const bytes = vector('sample-long-term-request.bin');
    const message = decodeMessage(bytes);
    const username = getAttribute(message, 'USERNAME')!;
    expect(username).toBe('\u30DE\u30C8\u30EA\u30C3\u30AF\u30B9');
    expect(getAttribute(message, 'REALM')).toBe('example.org');
    expect(getAttribute(message, 'NONCE')).toBe('f//499k954d6OL34oL9FSTvy64sA');
    const key = longTermKey(username, 'example.org', 'TheMatrIX');
    expect(verifyMessageIntegrity(message, key)).toBe('ok');
    expect(verifyMessageIntegrity(message, longTermKey(username, 'example.org', 'TheMatrix'))).toBe('mismatch');

    // Build it from scratch: the encoder's MESSAGE-INTEGRITY must equal the RFC's.
    const rebuilt = encodeMessage(
      {
        class: 'request',
        method: StunMethod.binding,
        transactionId: message.transactionId,
        attributes: message.attributes.filter((a) => a.name !== 'MESSAGE-INTEGRITY'),
      },
      { integrityKey: key },
    );
    expect(Buffer.from(rebuilt).toString('hex')).toBe(Buffer.from(bytes).toString('hex'));
  });

  it('rebuilding the §2.1 request from its fields reproduces the RFC integrity and fingerprint values', () => {
    const original = decodeMessage(vector('sample-request.bin'));
    const rebuilt = decodeMessage(
      encodeMessage(
        {
          class: 'request',
          method: StunMethod.binding,
          transactionId: original.transactionId,
          attributes: original.attributes.filter((a) => a.name !== 'MESSAGE-INTEGRITY' && a.name !== 'FINGERPRINT'),
        },
        { integrityKey: shortTermKey(PASSWORD), fingerprint: true },
      ),
    );
    expect(getAttribute(rebuilt, 'MESSAGE-INTEGRITY')).toEqual(getAttribute(original, 'MESSAGE-INTEGRITY'));
    expect(getAttribute(rebuilt, 'FINGERPRINT')).toBe(0xe57a3bcf);
  });
});
