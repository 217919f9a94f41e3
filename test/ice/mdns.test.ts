/**
 * The Multicast DNS codec (RFC 6762 over RFC 1035) on packet bytes. Nothing here sends a
 * datagram; the resolver's one real query runs in mdns-netns.test.ts, inside a namespace the
 * test creates.
 */
import { describe, expect, it } from 'vitest';
import { addressesFor, decodeMdnsMessage, encodeMdnsQuery, MdnsDecodeError, MdnsNameError } from '../../src/ice/mdns.js';

const NAME = '3f1c2a8e-0c1b-4f3e-9a55-5d9a0c1e2b3f.local';

/** "abc.local" A 192.168.1.7 in the answers, and AAAA fe80::1 by a compression pointer in the additional records. */
function response(): Buffer {
  return Buffer.from(
    [
      '0000 8400 0000 0001 0000 0001', // id 0, QR+AA, 0 questions, 1 answer, 0 authority, 1 additional
      '03616263 056c6f63616c 00', // abc.local
      '0001 8001 00000078 0004 c0a80107', // A, IN with cache-flush, TTL 120, 192.168.1.7
      'c00c', // pointer to abc.local at byte 12
      '001c 8001 00000078 0010 fe800000000000000000000000000001', // AAAA fe80::1
    ]
      .join('')
      .replace(/\s+/g, ''),
    'hex',
  );
}

describe('encodeMdnsQuery', () => {
  it('asks for A and AAAA in one message: id 0, QU bit set, the name as labels (RFC 6762 §5.4, §18.1)', () => {
    const bytes = encodeMdnsQuery('abc.local');
    expect(bytes.toString('hex')).toBe(
      ['0000', '0000', '0002', '0000', '0000', '0000', '03616263056c6f63616c00', '0001', '8001', '03616263056c6f63616c00', '001c', '8001'].join(''),
    );
    expect(encodeMdnsQuery('abc.local.', { unicastResponse: false, id: 7 }).toString('hex')).toBe(
      ['0007', '0000', '0002', '0000', '0000', '0000', '03616263056c6f63616c00', '0001', '0001', '03616263056c6f63616c00', '001c', '0001'].join(''),
    );
    expect(encodeMdnsQuery(NAME).length).toBe(12 + 2 * (NAME.length + 2 + 4));
  });

  it('refuses names it must not send: not under .local, empty or over-long labels', () => {
    expect(() => encodeMdnsQuery('example.com')).toThrow(MdnsNameError);
    expect(() => encodeMdnsQuery('a..local')).toThrow(/empty label/);
    expect(() => encodeMdnsQuery(`${'x'.repeat(64)}.local`)).toThrow(/63 bytes/);
  });
});

describe('decodeMdnsMessage', () => {
  it('reads A and AAAA records, follows compression pointers, ignores the cache-flush bit', () => {
    const message = decodeMdnsMessage(response());
    expect(message).toEqual({
      id: 0,
      response: true,
      addresses: [
        { name: 'abc.local', type: 'A', address: '192.168.1.7', ttl: 120 },
        { name: 'abc.local', type: 'AAAA', address: 'fe80:0:0:0:0:0:0:1', ttl: 120 },
      ],
    });
    expect(addressesFor(message, 'ABC.local.')).toEqual(['192.168.1.7', 'fe80:0:0:0:0:0:0:1']);
    expect(addressesFor(message, 'other.local')).toEqual([]);
  });

  it('skips questions and records of other types', () => {
    const query = encodeMdnsQuery('abc.local');
    expect(decodeMdnsMessage(query)).toEqual({ id: 0, response: false, addresses: [] });
    // A query is no answer, whatever it carries.
    expect(addressesFor(decodeMdnsMessage(query), 'abc.local')).toEqual([]);
  });

  it('does not count a goodbye (TTL 0, RFC 6762 §10.1)', () => {
    const bytes = response();
    bytes.writeUInt32BE(0, 12 + 11 + 4); // the A record's TTL
    expect(addressesFor(decodeMdnsMessage(bytes), 'abc.local')).toEqual(['fe80:0:0:0:0:0:0:1']);
  });

  it('throws a typed error, saying where, for truncated or looping messages', () => {
    expect(() => decodeMdnsMessage(Buffer.alloc(5))).toThrow(MdnsDecodeError);
    expect(() => decodeMdnsMessage(response().subarray(0, 30))).toThrow(/cut short|past the end/);
    const loop = Buffer.from('000084000000000100000000c00c', 'hex'); // the answer's name points at itself
    expect(() => decodeMdnsMessage(loop)).toThrow(/compression loop/);
    const badA = response();
    badA.writeUInt16BE(5, 12 + 11 + 8); // the A record's RDLENGTH
    expect(() => decodeMdnsMessage(badA)).toThrow(MdnsDecodeError);
    try {
      decodeMdnsMessage(Buffer.alloc(3));
    } catch (error) {
      expect((error as MdnsDecodeError).code).toBe('mdns-malformed');
    }
  });
});
