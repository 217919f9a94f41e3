/** Unit tests for the TURN client's pure parts: URL parsing, REST credentials, ChannelData and TCP framing. */
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { encodeMessage, newTransactionId, StunMethod, attr } from '../../src/stun/index.js';
import {
  decodeChannelData,
  encodeChannelData,
  formatTurnServer,
  looksLikeChannelData,
  parseTurnUrl,
  restApiCredentials,
  StreamFramer,
  StreamFramingError,
} from '../../src/turn/index.js';

describe('parseTurnUrl (RFC 7065)', () => {
  it.each([
    ['turn:127.0.0.1', { host: '127.0.0.1', port: 3478, transport: 'udp' }],
    ['turn:127.0.0.1:3479', { host: '127.0.0.1', port: 3479, transport: 'udp' }],
    ['turn:turn.example.com:443?transport=tcp', { host: 'turn.example.com', port: 443, transport: 'tcp' }],
    ['TURN:[::1]:5000?transport=UDP', { host: '::1', port: 5000, transport: 'udp' }],
    ['turn:[2001:db8::1]', { host: '2001:db8::1', port: 3478, transport: 'udp' }],
    // RFC 7065 §3.1 / RFC 8656 §3.1: turns: is TLS over TCP, on 5349 by default.
    ['turns:127.0.0.1', { host: '127.0.0.1', port: 5349, transport: 'tls' }],
    ['turns:turn.example.com:443', { host: 'turn.example.com', port: 443, transport: 'tls' }],
    ['TURNS:turn.example.com?transport=TCP', { host: 'turn.example.com', port: 5349, transport: 'tls' }],
    ['turns:[::1]:5350?transport=tcp', { host: '::1', port: 5350, transport: 'tls' }],
  ])('%s', (url, expected) => {
    expect(parseTurnUrl(url)).toEqual(expected);
  });

  it.each([
    [{ host: '127.0.0.1', port: 3478, transport: 'udp' as const }, 'turn:127.0.0.1:3478?transport=udp'],
    [{ host: '::1', port: 3478, transport: 'tcp' as const }, 'turn:[::1]:3478?transport=tcp'],
    [{ host: 'turn.example.com', port: 443, transport: 'tls' as const }, 'turns:turn.example.com:443'],
    [{ host: '2001:db8::1', port: 5349, transport: 'tls' as const }, 'turns:[2001:db8::1]:5349'],
  ])('formatTurnServer(%j) is %s, and parses back to the same address', (address, url) => {
    expect(formatTurnServer(address)).toBe(url);
    expect(parseTurnUrl(url)).toEqual(address);
  });

  it.each([
    ['stun:127.0.0.1', 'must start with "turn:" or "turns:"'],
    ['turns:127.0.0.1?transport=udp', 'DTLS, which nat-probe does not support'],
    ['turns:127.0.0.1:5349?transport=UDP', 'use turns:HOST[:PORT] for TLS over TCP'],
    ['turns:127.0.0.1?transport=sctp', 'transport "sctp" is not tcp'],
    ['turn:127.0.0.1?transport=tls', 'TLS is the turns: scheme'],
    ['turns:', 'host is missing'],
    ['turns://host', '"//"'],
    ['turns:127.0.0.1:0', 'port "0"'],
    ['turn:', 'host is missing'],
    ['turn:127.0.0.1:0', 'port "0"'],
    ['turn:127.0.0.1:70000', 'port "70000"'],
    ['turn:127.0.0.1?transport=sctp', 'transport "sctp"'],
    ['turn:127.0.0.1?foo=bar', 'unknown query'],
    ['turn:2001:db8::1', 'brackets'],
    ['turn:[::1', 'closing'],
    ['turn://host', '"//"'],
    ['turn:bad_host!', 'not a valid host'],
  ])('%s is refused with turn-bad-url', (url, detail) => {
    expect(() => parseTurnUrl(url)).toThrowError(expect.objectContaining({ code: 'turn-bad-url', message: expect.stringContaining(detail) }));
  });
});

describe('restApiCredentials (TURN REST API, coturn use-auth-secret)', () => {
  it('matches a vector computed by openssl: HMAC-SHA1 over "expiry:user", base64', () => {
    // echo -n "1700086400:bob" | openssl dgst -sha1 -hmac north-secret -binary | base64
    const credentials = restApiCredentials('north-secret', { user: 'bob', ttlSeconds: 86400, nowMs: 1_700_000_000_000 });
    expect(credentials).toEqual({ username: '1700086400:bob', password: '6zoI8Zm/npsSxl8XISgsOdXWtdA=', expiresAt: 1700086400 });
  });

  it('agrees with node:crypto for any secret, user and time; the default TTL is one day; no user gives a bare timestamp', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.string(), fc.integer({ min: 0, max: 4_000_000_000_000 }), (secret, user, nowMs) => {
        const credentials = restApiCredentials(secret, { user, nowMs });
        const expiry = Math.floor(nowMs / 1000) + 86400;
        const username = user === '' ? String(expiry) : `${expiry}:${user}`;
        expect(credentials.username).toBe(username);
        expect(credentials.password).toBe(createHmac('sha1', secret).update(username).digest('base64'));
      }),
      { numRuns: 200 },
    );
  });
});

describe('ChannelData (RFC 8656 §12.4, §12.5)', () => {
  it('encodes header, data and, on streams, zero padding to 4', () => {
    const data = Uint8Array.of(1, 2, 3, 4, 5);
    expect([...encodeChannelData(0x4001, data)]).toEqual([0x40, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5]);
    expect([...encodeChannelData(0x4001, data, true)]).toEqual([0x40, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5, 0, 0, 0]);
    expect(encodeChannelData(0x4fff, new Uint8Array(8), true)).toHaveLength(12);
  });

  it('round-trips, ignoring UDP trailing padding', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0x4000, max: 0x4fff }), fc.uint8Array({ maxLength: 300 }), fc.boolean(), (channel, data, padded) => {
        const decoded = decodeChannelData(encodeChannelData(channel, data, padded));
        expect(decoded.channel).toBe(channel);
        expect([...decoded.data]).toEqual([...data]);
      }),
    );
  });

  it('rejects reserved channel numbers, truncation and a length past the end', () => {
    expect(() => encodeChannelData(0x5000, new Uint8Array(1))).toThrow(/outside 0x4000/);
    expect(() => encodeChannelData(0x3fff, new Uint8Array(1))).toThrow(/outside 0x4000/);
    expect(() => decodeChannelData(Uint8Array.of(0x40, 0x00, 0x00))).toThrow(/truncated/);
    expect(() => decodeChannelData(Uint8Array.of(0x50, 0x00, 0x00, 0x00))).toThrow(/bad-channel/);
    expect(() => decodeChannelData(Uint8Array.of(0x40, 0x00, 0x00, 0x09, 1, 2))).toThrow(/length-mismatch/);
    expect(looksLikeChannelData(Uint8Array.of(0x40, 0, 0, 0))).toBe(true);
    expect(looksLikeChannelData(Uint8Array.of(0x00, 1, 0, 0))).toBe(false);
  });
});

describe('StreamFramer (TCP, RFC 8656 §12.5 / RFC 8489 §6.2.2)', () => {
  function stunMessage(payload: number): Buffer {
    return encodeMessage({
      class: 'indication',
      method: StunMethod.data,
      transactionId: newTransactionId(),
      attributes: [attr('DATA', new Uint8Array(payload).fill(7))],
    });
  }

  const messages = [stunMessage(3), encodeChannelData(0x4000, Uint8Array.of(9, 9, 9, 9, 9), true), stunMessage(0), encodeChannelData(0x4abc, new Uint8Array(0), true), encodeChannelData(0x4001, new Uint8Array(6).fill(1), true)];
  const stream = Buffer.concat(messages);

  it('cuts joined messages apart in one chunk', () => {
    const framer = new StreamFramer();
    expect(framer.push(stream).map((m) => m.toString('hex'))).toEqual(messages.map((m) => m.toString('hex')));
    expect(framer.bufferedBytes).toBe(0);
  });

  it('reassembles the same messages however the stream is split, one byte at a time included', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: stream.length - 1 }), { maxLength: 12 }), (cuts) => {
        const framer = new StreamFramer();
        const points = [0, ...cuts.sort((a, b) => a - b), stream.length];
        const out: string[] = [];
        for (let i = 0; i + 1 < points.length; i++) out.push(...framer.push(stream.subarray(points[i]!, points[i + 1]!)).map((m) => m.toString('hex')));
        expect(out).toEqual(messages.map((m) => m.toString('hex')));
        expect(framer.bufferedBytes).toBe(0);
      }),
    );
    const framer = new StreamFramer();
    const out: Buffer[] = [];
    for (let i = 0; i < stream.length; i++) out.push(...framer.push(stream.subarray(i, i + 1)));
    expect(Buffer.concat(out).equals(stream)).toBe(true);
  });

  it('keeps a partial message until the rest arrives', () => {
    const framer = new StreamFramer();
    expect(framer.push(stream.subarray(0, 10))).toEqual([]);
    expect(framer.bufferedBytes).toBe(10);
  });

  it('a byte that starts neither STUN nor ChannelData is a framing error', () => {
    const framer = new StreamFramer();
    expect(() => framer.push(Buffer.concat([messages[0]!, Buffer.of(0xc0, 0, 0, 0)]))).toThrow(StreamFramingError);
  });
});

describe('Send-indication transaction IDs', () => {
  it('are 96 bits and all different, across block refills', async () => {
    const { nextIndicationId } = await import('../../src/turn/indication-ids.js');
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const id = nextIndicationId();
      expect(id).toHaveLength(12);
      seen.add(Buffer.from(id).toString('hex'));
    }
    expect(seen.size).toBe(2000);
  });
});
