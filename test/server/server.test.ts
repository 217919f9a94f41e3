import { afterEach, describe, expect, it } from 'vitest';
import { malformedTotal, startStunServer, StunServerError, type StunServer, type StunServerEvent, type StunServerOptions } from '../../src/server/index.js';
import {
  StunDecodeError,
  StunMethod,
  attr,
  decodeMessage,
  encodeMessage,
  getAttribute,
  newTransactionId,
  type DecodedStunMessage,
  type EncodeOptions,
  type StunAttribute,
  type StunMessage,
} from '../../src/stun/index.js';
import { StunTransactions, UdpEndpoint, type ReceivedDatagram } from '../../src/transport/index.js';
import { FakeClock } from '../../src/transport/fake-clock.js';
import { EventQueue, withinMs } from '../helpers/events.js';

const open: Array<{ close(): unknown }> = [];
afterEach(async () => {
  for (const item of open.splice(0).reverse()) await item.close();
});

interface Harness {
  server: StunServer;
  events: EventQueue<StunServerEvent>;
}

async function serve(options: StunServerOptions = {}): Promise<Harness> {
  const events = new EventQueue<StunServerEvent>();
  const server = await startStunServer({ primary: '127.0.0.1', alternate: '127.0.0.2', port: 0, ...options, onEvent: events.push });
  open.push(server);
  return { server, events };
}

interface Client {
  endpoint: UdpEndpoint;
  transactions: StunTransactions;
  datagrams: EventQueue<ReceivedDatagram>;
}

async function client(address = '127.0.0.1'): Promise<Client> {
  const endpoint = await UdpEndpoint.bind({ address });
  const transactions = new StunTransactions(endpoint, { defaults: { rtoMs: 200, maxAttempts: 3 } });
  const datagrams = new EventQueue<ReceivedDatagram>();
  endpoint.onDatagram(datagrams.push);
  open.push(endpoint, { close: () => transactions.close() });
  return { endpoint, transactions, datagrams };
}

function bindingRequest(attributes: StunAttribute[] = [], extra: Partial<StunMessage> = {}): StunMessage {
  return { class: 'request', method: StunMethod.binding, transactionId: newTransactionId(), attributes, ...extra };
}

/** Sends raw bytes and returns the next datagram the client receives, with its decoded form. */
async function exchange(c: Client, bytes: Uint8Array, to: { address: string; port: number }): Promise<{ from: ReceivedDatagram['from']; bytes: Buffer; message: DecodedStunMessage }> {
  await c.endpoint.send(bytes, to);
  const datagram = await c.datagrams.next(2000, 'a response');
  return { from: datagram.from, bytes: datagram.data, message: decodeMessage(datagram.data) };
}

/** Waits for the server's next event of a type, skipping others (bounded). */
async function nextEvent<T extends StunServerEvent['type']>(events: EventQueue<StunServerEvent>, type: T): Promise<Extract<StunServerEvent, { type: T }>> {
  for (let i = 0; i < 100; i++) {
    const event = await events.next(2000, `a ${type} event`);
    if (event.type === type) return event as Extract<StunServerEvent, { type: T }>;
  }
  throw new Error(`no ${type} event among the next 100`);
}

describe('STUN server on loopback, RFC 5780 mode (127.0.0.1 + 127.0.0.2)', () => {
  it('binds four sockets on a port pair free on both addresses', async () => {
    const { server } = await serve();
    const { primary, alternateIp, alternatePort, alternateIpAndPort } = server.addresses;
    expect(server.rfc5780).toBe(true);
    expect(primary).toMatchObject({ address: '127.0.0.1' });
    expect(alternateIp).toEqual({ family: 4, address: '127.0.0.2', port: primary.port });
    expect(alternatePort).toEqual({ family: 4, address: '127.0.0.1', port: primary.port + 1 });
    expect(alternateIpAndPort).toEqual({ family: 4, address: '127.0.0.2', port: primary.port + 1 });
    expect(server.describe()).toContain('RFC 5780');
    expect(server.describe()).toContain(`127.0.0.2:${primary.port + 1}`);
  });

  it('answers a Binding request with XOR-MAPPED-ADDRESS, MAPPED-ADDRESS, RESPONSE-ORIGIN and OTHER-ADDRESS', async () => {
    const { server } = await serve();
    const c = await client();
    const result = await withinMs(c.transactions.request(bindingRequest(), server.addresses.primary), 2000, 'a Binding response');
    const mapped = { family: 4, address: '127.0.0.1', port: c.endpoint.local.port };
    expect(result.response.class).toBe('successResponse');
    expect(getAttribute(result.response, 'XOR-MAPPED-ADDRESS')).toEqual(mapped);
    expect(getAttribute(result.response, 'MAPPED-ADDRESS')).toEqual(mapped);
    expect(getAttribute(result.response, 'RESPONSE-ORIGIN')).toEqual(server.addresses.primary);
    expect(result.from).toEqual(server.addresses.primary);
    expect(getAttribute(result.response, 'OTHER-ADDRESS')).toEqual(server.addresses.alternateIpAndPort);
    const stats = server.stats();
    expect(stats.requests).toBe(1);
    expect(stats.responses.success).toBe(1);
    expect(stats.bySocket.primary).toEqual({ received: 1, sent: 1 });
  });

  it.each([
    { flags: { changeIp: true, changePort: false }, expected: 'alternateIp' as const },
    { flags: { changeIp: false, changePort: true }, expected: 'alternatePort' as const },
    { flags: { changeIp: true, changePort: true }, expected: 'alternateIpAndPort' as const },
  ])('answers CHANGE-REQUEST $flags from the $expected socket', async ({ flags, expected }) => {
    const { server } = await serve();
    const c = await client();
    const result = await withinMs(c.transactions.request(bindingRequest([attr('CHANGE-REQUEST', flags)]), server.addresses.primary), 2000, 'a response');
    const socket = server.addresses[expected]!;
    expect(result.from).toEqual(socket);
    expect(getAttribute(result.response, 'RESPONSE-ORIGIN')).toEqual(result.from);
    expect(getAttribute(result.response, 'OTHER-ADDRESS')).toEqual(server.addresses.alternateIpAndPort);
    expect(server.stats().bySocket[expected]!.sent).toBe(1);
  });

  it('answers a request to the alternate socket with OTHER-ADDRESS relative to it', async () => {
    const { server } = await serve();
    const c = await client();
    const result = await withinMs(c.transactions.request(bindingRequest(), server.addresses.alternateIpAndPort!), 2000, 'a response');
    expect(result.from).toEqual(server.addresses.alternateIpAndPort);
    expect(getAttribute(result.response, 'OTHER-ADDRESS')).toEqual(server.addresses.primary);
  });

  it('sends the answer to RESPONSE-PORT on the client IP (RFC 5780 §7.5)', async () => {
    const { server } = await serve();
    const asker = await client();
    const listener = await client();
    const request = bindingRequest([attr('RESPONSE-PORT', listener.endpoint.local.port)]);
    await asker.endpoint.send(encodeMessage(request), server.addresses.primary);
    const datagram = await listener.datagrams.next(2000, 'the response on the RESPONSE-PORT socket');
    const response = decodeMessage(datagram.data);
    expect(response.transactionId).toEqual(request.transactionId);
    expect(getAttribute(response, 'XOR-MAPPED-ADDRESS')).toEqual({ family: 4, address: '127.0.0.1', port: asker.endpoint.local.port });
    expect(asker.datagrams.size).toBe(0);
  });

  it('echoes FINGERPRINT when the request has one', async () => {
    const { server } = await serve();
    const c = await client();
    const withFingerprint = await withinMs(
      c.transactions.request(bindingRequest(), server.addresses.primary, { encode: { fingerprint: true } }),
      2000,
      'a response',
    );
    expect(withFingerprint.response.attributes.at(-1)?.name).toBe('FINGERPRINT');
    const without = await withinMs(c.transactions.request(bindingRequest(), server.addresses.primary), 2000, 'a response');
    expect(without.response.attributes.some((a) => a.name === 'FINGERPRINT')).toBe(false);
  });

  it('answers 420 with UNKNOWN-ATTRIBUTES to an unknown comprehension-required attribute', async () => {
    const { server } = await serve();
    const c = await client();
    const request = bindingRequest([{ name: 'UNKNOWN', type: 0x7ffe, value: new Uint8Array(8) }]);
    const result = await withinMs(c.transactions.request(request, server.addresses.primary), 2000, 'a response');
    expect(result.response.class).toBe('errorResponse');
    expect(getAttribute(result.response, 'ERROR-CODE')?.code).toBe(420);
    expect(getAttribute(result.response, 'UNKNOWN-ATTRIBUTES')).toEqual([0x7ffe]);
    expect(server.stats().responses.byErrorCode[420]).toBe(1);
  });

  it('answers an RFC 3489 request (no magic cookie) with MAPPED-, SOURCE- and CHANGED-ADDRESS', async () => {
    const { server, events } = await serve();
    const c = await client();
    const request = bindingRequest([attr('CHANGE-REQUEST', { changeIp: false, changePort: true })], { magicCookie: 0x11223344 });
    const wire = encodeMessage(request);
    const { from, bytes, message } = await exchange(c, wire, server.addresses.primary);
    expect(bytes.subarray(4, 20)).toEqual(wire.subarray(4, 20)); // RFC 3489's 128-bit transaction ID, echoed whole
    expect(from).toEqual(server.addresses.alternatePort);
    expect(message.attributes.map((a) => a.name)).toEqual(['MAPPED-ADDRESS', 'SOURCE-ADDRESS', 'CHANGED-ADDRESS']);
    expect(getAttribute(message, 'MAPPED-ADDRESS')).toEqual({ family: 4, address: '127.0.0.1', port: c.endpoint.local.port });
    expect(getAttribute(message, 'SOURCE-ADDRESS')).toEqual(server.addresses.alternatePort);
    expect(getAttribute(message, 'CHANGED-ADDRESS')).toEqual(server.addresses.alternateIpAndPort);
    expect((await nextEvent(events, 'served')).legacy).toBe(true);
    expect(server.stats().legacyRequests).toBe(1);
  });

  it('ignores indications and non-Binding requests, counted by reason', async () => {
    const { server, events } = await serve();
    const c = await client();
    await c.endpoint.send(encodeMessage(bindingRequest([], { class: 'indication' })), server.addresses.primary);
    expect((await nextEvent(events, 'ignored')).reason).toBe('indication');
    await c.endpoint.send(encodeMessage(bindingRequest([], { method: StunMethod.allocate })), server.addresses.primary);
    expect((await nextEvent(events, 'ignored')).reason).toBe('unsupported-method');
    expect(server.stats().ignored).toEqual({ indication: 1, response: 0, 'unsupported-method': 1 });
    expect(c.datagrams.size).toBe(0);
  });
});

describe('amplification guard, on the wire', () => {
  async function sizes(attributes: StunAttribute[], encode: EncodeOptions = {}) {
    const { server } = await serve();
    const c = await client();
    const wire = encodeMessage(bindingRequest(attributes), encode);
    const { bytes, message } = await exchange(c, wire, server.addresses.primary);
    return { request: wire.length, response: bytes.length, message };
  }

  it('never answers larger than the request beyond the mandatory floor', async () => {
    const bare = await sizes([]);
    expect(bare).toMatchObject({ request: 20, response: 68 });
    expect(getAttribute(bare.message, 'SOFTWARE')).toBeUndefined();
    const roomy = await sizes([{ name: 'UNKNOWN', type: 0x8abc, value: new Uint8Array(200) }]);
    expect(roomy.response).toBeLessThanOrEqual(roomy.request);
    expect(getAttribute(roomy.message, 'SOFTWARE')).toMatch(/^nat-probe\//);
  });

  it('lets PADDING ask for a larger answer (RFC 5780 §7.6), capped at maxResponsePadding', async () => {
    const padded = await sizes([attr('PADDING', new Uint8Array(1200))]);
    expect(padded.response).toBeGreaterThan(padded.request);
    expect(getAttribute(padded.message, 'PADDING')?.length).toBe(1200);
    const huge = await sizes([attr('PADDING', new Uint8Array(8000))]);
    expect(getAttribute(huge.message, 'PADDING')?.length).toBe(1500);
    expect(huge.response).toBeLessThan(huge.request);
  });
});

describe('per-source rate limit (FakeClock)', () => {
  it('drops requests beyond the bucket, refills with time, and counts them', async () => {
    const clock = new FakeClock();
    const { server, events } = await serve({ clock, rateLimit: { ratePerSecond: 10, burst: 3 } });
    const c = await client();
    const outcomes: string[] = [];
    for (let i = 0; i < 5; i++) {
      await c.endpoint.send(encodeMessage(bindingRequest()), server.addresses.primary);
      outcomes.push((await events.next(2000, 'a server event')).type);
    }
    expect(outcomes).toEqual(['served', 'served', 'served', 'rate-limited', 'rate-limited']);
    clock.advance(100); // one token at 10/s
    for (let i = 0; i < 2; i++) {
      await c.endpoint.send(encodeMessage(bindingRequest()), server.addresses.primary);
      outcomes.push((await events.next(2000, 'a server event')).type);
    }
    expect(outcomes.slice(5)).toEqual(['served', 'rate-limited']);
    expect(server.stats()).toMatchObject({ rateLimited: 3, requests: 4, received: 7 });
    // Another source IP has its own bucket.
    const other = await client('127.0.0.3');
    const result = await withinMs(other.transactions.request(bindingRequest(), server.addresses.primary), 2000, 'an answer to another source');
    expect(result.response.class).toBe('successResponse');
  });
});

describe('malformed datagrams', () => {
  /** Deterministic bytes (xorshift32), so a failure reproduces. */
  function randomBlobs(count: number, seed = 0x9e3779b9): Uint8Array[] {
    let state = seed;
    const next = (): number => {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      return state >>> 0;
    };
    return Array.from({ length: count }, () => Uint8Array.from({ length: next() % 120 }, () => next() & 0xff));
  }

  function reasonOf(bytes: Uint8Array): string | undefined {
    try {
      decodeMessage(bytes);
      return undefined;
    } catch (error) {
      return (error as StunDecodeError).reason;
    }
  }

  it('drops random bytes, truncated messages and bad fingerprints, counts them by reason, and keeps answering', async () => {
    const { server, events } = await serve();
    const c = await client();
    const valid = encodeMessage(bindingRequest([attr('SOFTWARE', 'test')]), { fingerprint: true });
    const badFingerprint = Buffer.from(valid);
    badFingerprint[badFingerprint.length - 1]! ^= 0xff;
    const lyingLength = Buffer.from(valid);
    lyingLength.writeUInt16BE(valid.length, 2);
    const inputs: Uint8Array[] = [
      valid.subarray(0, 10),
      valid.subarray(0, valid.length - 4),
      badFingerprint,
      lyingLength,
      Buffer.from('GET / HTTP/1.1\r\nHost: example\r\n\r\n'),
      new Uint8Array(0),
      ...randomBlobs(40),
    ];
    const expected: Record<string, number> = {};
    for (const input of inputs) {
      const reason = reasonOf(input);
      expect(reason, 'every input here must be malformed').toBeDefined();
      expected[reason!] = (expected[reason!] ?? 0) + 1;
      await c.endpoint.send(input, server.addresses.primary);
      const event = await nextEvent(events, 'malformed');
      expect(event.reason).toBe(reason);
    }
    expect(expected['fingerprint-mismatch']).toBe(1);
    const stats = server.stats();
    expect(stats.malformed).toEqual(expected);
    expect(malformedTotal(stats)).toBe(inputs.length);
    expect(stats.internalErrors).toBe(0);
    expect(c.datagrams.size).toBe(0);

    const result = await withinMs(c.transactions.request(bindingRequest(), server.addresses.primary), 2000, 'an answer after the junk');
    expect(result.response.class).toBe('successResponse');
  });
});

describe('STUN server without an alternate address (plain RFC 8489)', () => {
  it('binds one socket, sends no OTHER-ADDRESS, answers CHANGE-REQUEST with 420, and says RFC 5780 is unavailable', async () => {
    const { server } = await serve({ alternate: undefined });
    expect(server.rfc5780).toBe(false);
    expect(Object.keys(server.addresses)).toEqual(['primary']);
    expect(server.describe()).toContain('RFC 5780 tests unavailable');
    const c = await client();
    const plain = await withinMs(c.transactions.request(bindingRequest(), server.addresses.primary), 2000, 'a response');
    expect(plain.response.attributes.map((a) => a.name)).toEqual(['XOR-MAPPED-ADDRESS', 'MAPPED-ADDRESS', 'RESPONSE-ORIGIN']);
    const changed = await withinMs(
      c.transactions.request(bindingRequest([attr('CHANGE-REQUEST', { changeIp: true, changePort: false })]), server.addresses.primary),
      2000,
      'a response',
    );
    expect(getAttribute(changed.response, 'ERROR-CODE')?.code).toBe(420);
    expect(getAttribute(changed.response, 'UNKNOWN-ATTRIBUTES')).toEqual([0x0003]);
  });

  it('still supports RESPONSE-PORT and PADDING', async () => {
    const { server } = await serve({ alternate: undefined });
    const asker = await client();
    const listener = await client();
    await asker.endpoint.send(encodeMessage(bindingRequest([attr('RESPONSE-PORT', listener.endpoint.local.port)])), server.addresses.primary);
    expect(decodeMessage((await listener.datagrams.next(2000, 'the RESPONSE-PORT answer')).data).class).toBe('successResponse');
    const padded = await withinMs(asker.transactions.request(bindingRequest([attr('PADDING', new Uint8Array(400))]), server.addresses.primary), 2000, 'a response');
    expect(getAttribute(padded.response, 'PADDING')?.length).toBe(400);
  });
});

describe('startup errors', () => {
  it('rejects with server-bind-failed when a fixed port is taken', async () => {
    const squatter = await UdpEndpoint.bind({ address: '127.0.0.1' });
    open.push(squatter);
    const failure = await startStunServer({ primary: '127.0.0.1', port: squatter.local.port }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(StunServerError);
    expect((failure as StunServerError).code).toBe('server-bind-failed');
    expect((failure as Error).message).toMatch(/choose other ports|unavailable/);
  });

  it('rejects with server-bind-failed when the fixed alternate pair is taken on the alternate address', async () => {
    const squatter = await UdpEndpoint.bind({ address: '127.0.0.2' });
    open.push(squatter);
    const port = squatter.local.port - 1;
    const failure = await startStunServer({ primary: '127.0.0.1', alternate: '127.0.0.2', port, alternatePort: squatter.local.port }).catch((error: unknown) => error);
    expect((failure as StunServerError).code).toBe('server-bind-failed');
  });
});

describe('IPv6 (::1)', () => {
  it('serves Binding on ::1 when the host has it', async (context) => {
    let probe: UdpEndpoint;
    try {
      probe = await UdpEndpoint.bind({ address: '::1' });
    } catch (error) {
      process.stderr.write(`[skip] IPv6 test: cannot bind ::1 (${(error as Error).message})\n`);
      context.skip();
      return;
    }
    open.push(probe);
    const { server, events } = await serve({ primary: '::1', alternate: undefined });
    expect(server.addresses.primary).toMatchObject({ family: 6, address: '::1' });
    const transactions = new StunTransactions(probe, { defaults: { rtoMs: 200, maxAttempts: 3 } });
    open.push({ close: () => transactions.close() });
    const result = await withinMs(transactions.request(bindingRequest(), server.addresses.primary), 2000, 'an IPv6 response');
    expect(getAttribute(result.response, 'XOR-MAPPED-ADDRESS')).toEqual({ family: 6, address: '::1', port: probe.local.port });
    expect(getAttribute(result.response, 'RESPONSE-ORIGIN')).toEqual(server.addresses.primary);
    // 20 + three 24-byte IPv6 address attributes: the IPv6 floor for a bare request.
    expect((await nextEvent(events, 'served')).responseBytes).toBe(20 + 3 * 24);
  });
});
