/**
 * Upkeep timing (RFC 8656 §8, §9, §12) and the long-term credential exchange (RFC 8489 §9.2),
 * on a FakeClock with a scripted connection: no sleeping, no network.
 */
import { describe, expect, it } from 'vitest';
import { attr, longTermKey, StunMethod, verifyMessageIntegrity, verifyMessageIntegritySha256 } from '../../src/stun/index.js';
import { FakeClock } from '../../src/transport/fake-clock.js';
import { Allocation } from '../../src/turn/allocation.js';
import { TurnSession } from '../../src/turn/session.js';
import type { TurnClientEvent } from '../../src/turn/index.js';
import { attributeOf, FakeConnection, type Responder } from './fake-connection.js';

const SERVER = { host: '127.0.0.1', port: 3478, transport: 'udp' as const };
const CREDENTIALS = { username: 'alice', password: 'secret-pass' };
const PEER = { family: 4 as const, address: '127.0.0.1', port: 40000 };

function echoLifetime(): Responder {
  return (request) => {
    const lifetime = attributeOf(request, 'LIFETIME');
    return lifetime === undefined ? [] : [attr('LIFETIME', lifetime as number)];
  };
}

function setUp(respond: Responder = echoLifetime(), lifetimeSeconds = 600) {
  const clock = new FakeClock();
  const connection = new FakeConnection(() => clock.now(), respond);
  const events: TurnClientEvent[] = [];
  const session = new TurnSession(connection, CREDENTIALS, clock, 'turn:127.0.0.1:3478?transport=udp', (event) => events.push(event));
  const allocation = new Allocation({
    session,
    server: SERVER,
    relayed: { family: 4, address: '127.0.0.1', port: 50001 },
    mapped: connection.local,
    lifetimeSeconds,
    requestTimeoutMs: 1000,
    closeTimeoutMs: 1000,
  });
  return { clock, connection, events, allocation };
}

describe('allocation refresh (RFC 8656 §8)', () => {
  it('refreshes a minute before expiry, with the granted lifetime, and re-arms from the answer', async () => {
    const { clock, connection, allocation } = setUp((request) => (request.message.method === StunMethod.refresh ? [attr('LIFETIME', 300)] : []));
    await clock.advanceAsync(539_999);
    expect(connection.methods()).toEqual([]);
    await clock.advanceAsync(1);
    expect(connection.methods()).toEqual([StunMethod.refresh]);
    expect(attributeOf(connection.requests[0]!, 'LIFETIME')).toBe(600);
    expect(allocation.lifetimeSeconds).toBe(300);
    // 300 s granted → next refresh 240 s later.
    await clock.advanceAsync(239_999);
    expect(connection.requests).toHaveLength(1);
    await clock.advanceAsync(1);
    expect(connection.requests).toHaveLength(2);
    expect(attributeOf(connection.requests[1]!, 'LIFETIME')).toBe(300);
    await allocation.close();
  });

  it('a short lifetime refreshes at half of it, never after expiry', async () => {
    const { clock, connection, allocation } = setUp(echoLifetime(), 60);
    await clock.advanceAsync(29_999);
    expect(connection.requests).toHaveLength(0);
    await clock.advanceAsync(1);
    expect(connection.requests).toHaveLength(1);
    await allocation.close();
  });

  it('a failed refresh is reported and retried 5 s later while the allocation lives', async () => {
    let fail = true;
    const { clock, connection, events, allocation } = setUp(() => (fail ? { error: 508, reason: 'Insufficient Capacity' } : [attr('LIFETIME', 600)]));
    await clock.advanceAsync(540_000);
    expect(events.at(-1)).toMatchObject({ type: 'turn-refresh-failed', target: 'allocation', code: 'turn-capacity' });
    fail = false;
    await clock.advanceAsync(5_000);
    expect(connection.requests).toHaveLength(2);
    expect(events.at(-1)).toMatchObject({ type: 'turn-refreshed', target: 'allocation', lifetimeSeconds: 600 });
    await allocation.close();
  });
});

describe('an allocation the server dropped (437 to a refresh)', () => {
  it.each([
    ['allocation', StunMethod.refresh, 540_000],
    ['permission', StunMethod.createPermission, 240_000],
  ] as const)('a 437 to the %s refresh reports turn-lost, stops every timer and closes the connection', async (target, method, at) => {
    const { clock, connection, events, allocation } = setUp((request) =>
      request.message.method === method && request.at > 0 ? { error: 437, reason: 'Allocation Mismatch' } : echoLifetime()(request),
    );
    await allocation.createPermission(['127.0.0.2']);
    await clock.advanceAsync(at);
    expect(events.slice(-2)).toEqual([
      expect.objectContaining({ type: 'turn-refresh-failed', target, code: 'turn-allocation-mismatch' }),
      expect.objectContaining({ type: 'turn-lost', code: 'turn-allocation-mismatch' }),
    ]);
    expect(clock.pendingTimers).toBe(0);
    expect(connection.closed).toBe(true);
    const requests = connection.requests.length;
    await clock.advanceAsync(600_000);
    expect(connection.requests).toHaveLength(requests); // nothing retried
    await expect(allocation.send(Uint8Array.of(1), PEER)).rejects.toMatchObject({ code: 'turn-closed' });
    await allocation.close(); // still safe to call
  });
});

describe('permission and channel refresh (RFC 8656 §9, §12)', () => {
  it('re-sends CreatePermission every 240 s (5-minute permissions) and ChannelBind every 540 s (10-minute channels)', async () => {
    const { clock, connection, allocation } = setUp();
    await allocation.createPermission(['127.0.0.2']);
    const channel = await allocation.bindChannel(PEER);
    expect(channel).toBe(0x4000);
    const sinceStart = (method: number) => connection.requests.filter((request) => request.message.method === method).map((request) => request.at);
    await clock.advanceAsync(600_000);
    expect(sinceStart(StunMethod.createPermission)).toEqual(
      // 127.0.0.2 at 0, 240 s, 480 s; 127.0.0.1 (installed by the ChannelBind at 0) at 240 s, 480 s, then 540 s + 240 s is later.
      [0, 240_000, 240_000, 480_000, 480_000],
    );
    const binds = connection.requests.filter((request) => request.message.method === StunMethod.channelBind);
    expect(binds.map((request) => request.at)).toEqual([0, 540_000]);
    expect(binds.map((request) => attributeOf(request, 'CHANNEL-NUMBER'))).toEqual([0x4000, 0x4000]);
    await allocation.close();
  });

  it('concurrent sends to a new peer share one CreatePermission, then go out as Send indications', async () => {
    const { connection, allocation } = setUp();
    await Promise.all([allocation.send(Uint8Array.of(1), PEER), allocation.send(Uint8Array.of(2), PEER), allocation.send(Uint8Array.of(3), { address: PEER.address, port: 1 })]);
    expect(connection.methods()).toEqual([StunMethod.createPermission]);
    expect(connection.sent).toHaveLength(3);
    expect(connection.sent.every((bytes) => bytes[0] === 0x00 && bytes[1] === 0x16)).toBe(true); // Send indication type 0x0016
    await allocation.bindChannel(PEER);
    await allocation.send(Uint8Array.of(4), PEER);
    expect([...connection.sent.at(-1)!]).toEqual([0x40, 0x00, 0x00, 0x01, 4]);
    await allocation.close();
  });

  it('close() sends Refresh with LIFETIME 0 and leaves no timer armed', async () => {
    const { clock, connection, events, allocation } = setUp();
    await allocation.createPermission(['127.0.0.2']);
    await allocation.bindChannel(PEER);
    await allocation.close();
    expect(attributeOf(connection.requests.at(-1)!, 'LIFETIME')).toBe(0);
    expect(connection.closed).toBe(true);
    expect(clock.pendingTimers).toBe(0);
    expect(events.at(-1)).toMatchObject({ type: 'turn-closed', freed: true });
    await expect(allocation.bindChannel(PEER)).rejects.toMatchObject({ code: 'turn-closed' });
  });
});

describe('long-term credentials (RFC 8489 §9.2)', () => {
  function session(respond: Responder) {
    const clock = new FakeClock();
    const connection = new FakeConnection(() => clock.now(), respond);
    const events: TurnClientEvent[] = [];
    return { connection, events, session: new TurnSession(connection, CREDENTIALS, clock, 'turn:x', (event) => events.push(event)) };
  }

  it('answers the 401 with USERNAME, REALM, NONCE and an MD5-keyed MESSAGE-INTEGRITY', async () => {
    const { connection, events, session: s } = session((request) =>
      attributeOf(request, 'NONCE') === undefined ? { error: 401, reason: 'Unauthorized', attributes: [attr('REALM', 'r'), attr('NONCE', 'n1')] } : [],
    );
    await s.request('allocate', [attr('REQUESTED-TRANSPORT', 17)], { deadlineMs: 1000 });
    const second = connection.requests[1]!;
    expect(attributeOf(second, 'USERNAME')).toBe('alice');
    expect(attributeOf(second, 'REALM')).toBe('r');
    expect(attributeOf(second, 'NONCE')).toBe('n1');
    expect(verifyMessageIntegrity(second.wire, longTermKey('alice', 'r', 'secret-pass'))).toBe('ok');
    expect(events).toEqual([expect.objectContaining({ type: 'turn-challenge', realm: 'r', algorithm: 'md5' })]);
    expect(JSON.stringify(events)).not.toContain('secret-pass');
  });

  it('picks SHA-256 when PASSWORD-ALGORITHMS offers it, echoes the list and signs with MESSAGE-INTEGRITY-SHA256', async () => {
    const offered = [
      { algorithm: 2, parameters: new Uint8Array(0) },
      { algorithm: 1, parameters: new Uint8Array(0) },
    ];
    const { connection, session: s } = session((request) =>
      attributeOf(request, 'NONCE') === undefined
        ? { error: 401, reason: 'Unauthorized', attributes: [attr('REALM', 'r'), attr('NONCE', 'obMatJos2AAAAn'), attr('PASSWORD-ALGORITHMS', offered)] }
        : [],
    );
    await s.request('allocate', [], { deadlineMs: 1000 });
    const second = connection.requests[1]!;
    expect(attributeOf(second, 'PASSWORD-ALGORITHM')).toEqual({ algorithm: 2, parameters: new Uint8Array(0) });
    expect(attributeOf(second, 'PASSWORD-ALGORITHMS')).toEqual(offered);
    expect(verifyMessageIntegritySha256(second.wire, longTermKey('alice', 'r', 'secret-pass', 'sha256'))).toBe('ok');
    expect(attributeOf(second, 'MESSAGE-INTEGRITY')).toBeUndefined();
  });

  it('438 Stale Nonce: retries with the new nonce, at most twice', async () => {
    let nonce = 0;
    const { connection, events, session: s } = session((request) => {
      if (attributeOf(request, 'NONCE') === undefined) return { error: 401, reason: 'Unauthorized', attributes: [attr('REALM', 'r'), attr('NONCE', 'n0')] };
      nonce++;
      return { error: 438, reason: 'Stale Nonce', attributes: [attr('NONCE', `n${nonce}`)] };
    });
    await expect(s.request('refresh', [], { deadlineMs: 1000 })).rejects.toMatchObject({ code: 'turn-error-response', status: 438 });
    expect(connection.requests.map((request) => attributeOf(request, 'NONCE'))).toEqual([undefined, 'n0', 'n1', 'n2']);
    expect(events.filter((event) => event.type === 'turn-stale-nonce')).toHaveLength(2);
  });

  it('a second 401 (credentials sent) and 441 are turn-auth-failed; 403 and 437 keep their own codes', async () => {
    const challenge = { error: 401, reason: 'Unauthorized', attributes: [attr('REALM', 'r'), attr('NONCE', 'n')] };
    for (const [status, code] of [
      [401, 'turn-auth-failed'],
      [441, 'turn-auth-failed'],
      [403, 'turn-forbidden'],
      [437, 'turn-allocation-mismatch'],
      [486, 'turn-quota'],
      [508, 'turn-capacity'],
    ] as const) {
      const { session: s } = session((request) => (attributeOf(request, 'NONCE') === undefined ? challenge : { error: status, reason: 'x' }));
      const error = await s.request('allocate', [], { deadlineMs: 1000 }).then(
        () => undefined,
        (failure: Error & { code: string }) => failure,
      );
      expect(error?.code, `status ${status}`).toBe(code);
      expect(error?.message).not.toContain('secret-pass');
    }
  });
});
