/**
 * The TURN client against a real coturn on 127.0.0.1 (RFC 8656): long-term users and REST-API
 * secrets allocate, permissions/channels/indications carry data to a local echo peer and back,
 * bad credentials and unreachable servers fail with their codes, close() frees the allocation.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { allocate, parseTurnUrl, restApiCredentials, type TurnAllocation, type TurnClientEvent } from '../../src/turn/index.js';
import { UdpEndpoint } from '../../src/transport/index.js';
import { FakeClock } from '../../src/transport/fake-clock.js';
import { attr } from '../../src/stun/index.js';
import { TurnSession } from '../../src/turn/session.js';
import { UdpTurnConnection } from '../../src/turn/udp-connection.js';
import { systemClock } from '../../src/transport/index.js';
import { startCoturnTurn, type CoturnTurn } from '../helpers/coturn.js';
import { EventQueue, withinMs } from '../helpers/events.js';
import { skipUnlessTools, toolGate } from '../helpers/tools.js';
import { startEchoPeer, type EchoPeer } from './echo-peer.js';

const skip = skipUnlessTools(toolGate(['turnserver']), 'TURN client against coturn');

const USER = { name: 'alice', password: 'wonderland-pass' };
const SECRET = 'rest-shared-secret';

describe.skipIf(skip)('TURN client against a real coturn', () => {
  let coturn: CoturnTurn;
  let coturnRest: CoturnTurn;
  let echo: EchoPeer;
  const open: TurnAllocation[] = [];

  beforeAll(async () => {
    // Two servers: with --use-auth-secret coturn checks only the REST secret, not static users.
    [coturn, coturnRest] = await Promise.all([startCoturnTurn({ users: [USER] }), startCoturnTurn({ secret: SECRET })]);
    echo = await startEchoPeer();
  });
  afterAll(async () => {
    await echo?.close();
    await coturn?.stop();
    await coturnRest?.stop();
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((allocation) => allocation.close()));
  });

  async function allocated(url: string, credentials: { username: string; password: string }, onEvent?: (event: TurnClientEvent) => void) {
    const allocation = await withinMs(allocate({ server: parseTurnUrl(url), credentials, timeoutMs: 3000, onEvent }), 4000, 'an allocation');
    open.push(allocation);
    return allocation;
  }

  it('a static long-term user allocates after the 401 challenge, and gets a relayed address on the relay IP', async () => {
    const events: TurnClientEvent[] = [];
    const allocation = await allocated(coturn.url, { username: USER.name, password: USER.password }, (event) => events.push(event));
    expect(allocation.relayed.address).toBe('127.0.0.1');
    expect(allocation.relayed.port).toBeGreaterThan(0);
    expect(allocation.mapped).toEqual({ family: 4, address: '127.0.0.1', port: allocation.local.port });
    expect(allocation.lifetimeSeconds).toBeGreaterThan(0);
    expect(events.map((event) => event.type)).toEqual(['turn-connected', 'turn-challenge', 'turn-allocated']);
    const challenge = events.find((event) => event.type === 'turn-challenge');
    expect(challenge).toMatchObject({ realm: coturn.realm });
    expect(JSON.stringify(events)).not.toContain(USER.password);
  });

  it('REST-API credentials from the shared secret allocate', async () => {
    const credentials = restApiCredentials(SECRET, { user: 'bob', ttlSeconds: 600 });
    const allocation = await allocated(coturnRest.url, credentials);
    expect(allocation.relayed.address).toBe('127.0.0.1');
  });

  it('data goes to the echo peer by Send indication and comes back in a Data indication, then by ChannelData both ways', async () => {
    const allocation = await allocated(coturn.url, { username: USER.name, password: USER.password });
    const peer = echo.endpoint.local;
    const received = new EventQueue<{ text: string; from: string }>();
    allocation.onData((data, from) => received.push({ text: Buffer.from(data).toString('utf8'), from: `${from.address}:${from.port}` }));

    await allocation.createPermission([peer.address]);
    await allocation.send(Buffer.from('via-indication'), peer);
    expect(await received.next(2000, 'the echo through a Data indication')).toEqual({ text: 'via-indication', from: `${peer.address}:${peer.port}` });

    const channel = await allocation.bindChannel(peer);
    expect(channel).toBeGreaterThanOrEqual(0x4000);
    expect(channel).toBeLessThanOrEqual(0x4fff);
    expect(await allocation.bindChannel(peer)).toBe(channel);
    await allocation.send(Buffer.from('via-channel'), peer);
    expect(await received.next(2000, 'the echo through ChannelData')).toEqual({ text: 'via-channel', from: `${peer.address}:${peer.port}` });
  });

  it('send() creates the permission itself, once, for concurrent sends (RFC 8656 §9)', async () => {
    const events: TurnClientEvent[] = [];
    const allocation = await allocated(coturn.url, { username: USER.name, password: USER.password }, (event) => events.push(event));
    const received = new EventQueue<string>();
    allocation.transport.onDatagram(({ data }) => received.push(Buffer.from(data).toString('utf8')));
    const peer = { address: echo.endpoint.local.address, port: echo.endpoint.local.port };
    await Promise.all([allocation.transport.send(Buffer.from('a'), peer), allocation.transport.send(Buffer.from('b'), peer)]);
    const got = [await received.next(2000, 'first echo'), await received.next(2000, 'second echo')].sort();
    expect(got).toEqual(['a', 'b']);
    expect(events.filter((event) => event.type === 'turn-permission')).toHaveLength(1);
    expect(allocation.transport.local).toEqual(allocation.relayed);
  });

  it('without a permission the relay drops the peer\'s packets; with one they arrive', async () => {
    const allocation = await allocated(coturn.url, { username: USER.name, password: USER.password });
    const stranger = await UdpEndpoint.bind({ address: '127.0.0.1' });
    const friend = await UdpEndpoint.bind({ address: '127.0.0.2' });
    try {
      const received = new EventQueue<string>();
      allocation.onData((data) => received.push(Buffer.from(data).toString('utf8')));
      // The permission exists before either datagram leaves: a permission created between them
      // could reach coturn (on the client socket) before the first datagram (on the relay socket).
      await allocation.createPermission(['127.0.0.2']);
      await stranger.send(Buffer.from('unpermitted'), allocation.relayed);
      await friend.send(Buffer.from('permitted'), allocation.relayed);
      // Both queue on the relay socket in order, so the first to arrive tells whether the first was dropped.
      expect(await received.next(2000, 'the permitted datagram')).toBe('permitted');
    } finally {
      await stranger.close();
      await friend.close();
    }
  });

  it('asks for a LIFETIME and gets it (RFC 8656 §7.1)', async () => {
    const allocation = await withinMs(
      allocate({ server: parseTurnUrl(coturn.url), credentials: { username: USER.name, password: USER.password }, lifetimeSeconds: 1200, timeoutMs: 3000 }),
      4000,
      'an allocation',
    );
    open.push(allocation);
    expect(allocation.lifetimeSeconds).toBe(1200);
  });

  it('upkeep on a FakeClock against the real coturn: permission, allocation and channel refreshes are accepted, and data still flows', async () => {
    // The clock only drives timers; the messages are real and coturn answers them. Nothing
    // retransmits while the fake time stands still, which is fine on loopback.
    const clock = new FakeClock();
    const events = new EventQueue<TurnClientEvent>();
    const allocation = await withinMs(
      allocate({ server: parseTurnUrl(coturn.url), credentials: { username: USER.name, password: USER.password }, clock, onEvent: events.push }),
      4000,
      'an allocation',
    );
    open.push(allocation);
    const peer = echo.endpoint.local;
    await allocation.bindChannel(peer);
    const refreshed = async (what: string) => {
      // Bounded: skip at most a few other events on the way.
      for (let i = 0; i < 10; i++) {
        const event = await events.next(2000, what);
        if (event.type === 'turn-refresh-failed') throw new Error(`${what}: ${event.message}`);
        if (event.type === 'turn-refreshed' && `${event.target}` === what) return event;
      }
      throw new Error(`no ${what} refresh among the next 10 events`);
    };
    // Time moves only to each refresh and then waits for coturn's real answer: jumping further
    // would fire the request's own retransmission and deadline timers before the answer arrives.
    const refreshedTargets = async (): Promise<Map<string, number | undefined>> => {
      const seen = new Map<string, number | undefined>();
      for (let i = 0; i < 10 && seen.size < 2; i++) {
        const event = await events.next(2000, 'the allocation and channel refreshes');
        if (event.type === 'turn-refresh-failed') throw new Error(`${event.target}: ${event.message}`);
        if (event.type === 'turn-refreshed') seen.set(event.target, event.lifetimeSeconds);
      }
      return new Map([...seen].sort(([a], [b]) => a.localeCompare(b)));
    };
    clock.advance(240_000); // permissions live 300 s: refreshed 60 s early
    expect(await refreshed('permission')).toMatchObject({ peer: '127.0.0.1' });
    clock.advance(240_000);
    expect(await refreshed('permission')).toMatchObject({ peer: '127.0.0.1' });
    clock.advance(60_000); // 540 s: the allocation (600 s) and the channel (600 s)
    // Both answers race on the wire: take them in either order.
    const both = await refreshedTargets();
    expect(both).toEqual(new Map([['allocation', 600], ['channel', undefined]]));
    const received = new EventQueue<string>();
    allocation.onData((data) => received.push(Buffer.from(data).toString()));
    await allocation.send(Buffer.from('still-bound'), peer);
    expect(await received.next(2000, 'the echo after the refreshes')).toBe('still-bound');
  });

  it('437 Allocation Mismatch (the server still holds an allocation on this 5-tuple): retries from another local port (RFC 8656 §7.4)', async () => {
    // A squatter: an allocation on a port whose socket then closes without Refresh(0), so coturn keeps it for its lifetime.
    const squatter = await UdpTurnConnection.open({ server: { family: 4, address: '127.0.0.1', port: coturn.port } });
    const squatted = squatter.local.port;
    const session = new TurnSession(squatter, { username: USER.name, password: USER.password }, systemClock, 'squatter', () => undefined);
    await session.request('allocate', [attr('REQUESTED-TRANSPORT', 17)], { deadlineMs: 3000 });
    await squatter.close();

    const events: TurnClientEvent[] = [];
    const allocation = await withinMs(
      allocate({ server: parseTurnUrl(coturn.url), credentials: { username: USER.name, password: USER.password }, bindPort: squatted, timeoutMs: 3000, onEvent: (event) => events.push(event) }),
      4000,
      'an allocation after the 437',
    );
    open.push(allocation);
    expect(events.find((event) => event.type === 'turn-address-retry')).toMatchObject({ local: `127.0.0.1:${squatted}`, status: 437 });
    expect(allocation.local.port).not.toBe(squatted);
    expect(allocation.relayed.address).toBe('127.0.0.1');
  });

  it('TCP transport allocates and round-trips through a channel (ChannelData padded to 4)', async () => {
    const allocation = await allocated(`${coturn.url}?transport=tcp`, { username: USER.name, password: USER.password });
    expect(allocation.server.transport).toBe('tcp');
    const peer = echo.endpoint.local;
    const received = new EventQueue<string>();
    allocation.onData((data) => received.push(Buffer.from(data).toString('utf8')));
    await allocation.send(Buffer.from('tcp-indication'), peer);
    expect(await received.next(2000, 'the TCP Data indication')).toBe('tcp-indication');
    await allocation.bindChannel(peer);
    // 5 bytes of data: the ChannelData message is padded from 9 to 12 bytes on the stream.
    await allocation.send(Buffer.from('odd-5'), peer);
    expect(await received.next(2000, 'the TCP ChannelData echo')).toBe('odd-5');
    await allocation.send(Buffer.from('after'), peer);
    expect(await received.next(2000, 'the next echo, framed right after padding')).toBe('after');
  });

  it('a wrong password fails with turn-auth-failed, names the user, and never the password', async () => {
    const wrong = 'not-the-password';
    const failure = await allocate({ server: parseTurnUrl(coturn.url), credentials: { username: USER.name, password: wrong }, timeoutMs: 3000 }).then(
      () => undefined,
      (error: unknown) => error as Error & { code: string },
    );
    expect(failure?.code).toBe('turn-auth-failed');
    expect(failure?.message).toContain('401');
    expect(failure?.message).toContain(USER.name);
    expect(failure?.message).not.toContain(wrong);
  });

  it('REST credentials from the wrong secret fail with turn-auth-failed', async () => {
    const credentials = restApiCredentials('wrong-secret', { user: 'bob' });
    await expect(allocate({ server: parseTurnUrl(coturnRest.url), credentials, timeoutMs: 3000 })).rejects.toMatchObject({ code: 'turn-auth-failed' });
  });

  it('expired REST credentials fail with turn-auth-failed', async () => {
    const credentials = restApiCredentials(SECRET, { user: 'bob', ttlSeconds: 60, nowMs: Date.now() - 3_600_000 });
    await expect(allocate({ server: parseTurnUrl(coturnRest.url), credentials, timeoutMs: 3000 })).rejects.toMatchObject({ code: 'turn-auth-failed' });
  });

  it('close() sends Refresh(0), says the allocation was freed, is idempotent, and later sends fail with turn-closed', async () => {
    const events: TurnClientEvent[] = [];
    const allocation = await allocate({ server: parseTurnUrl(coturn.url), credentials: { username: USER.name, password: USER.password }, onEvent: (event) => events.push(event) });
    await allocation.createPermission(['127.0.0.1']);
    await allocation.close();
    await allocation.close(); // idempotent
    expect(events.at(-1)).toMatchObject({ type: 'turn-closed', freed: true });
    await expect(allocation.send(Buffer.from('x'), echo.endpoint.local)).rejects.toMatchObject({ code: 'turn-closed' });
  });
});

describe.skipIf(skip)('TURN client: servers that are not there', () => {
  it('an unreachable UDP server fails fast with turn-unreachable', async () => {
    // A port we just had and released: nothing listens there.
    const probe = await UdpEndpoint.bind({ address: '127.0.0.1' });
    const port = probe.local.port;
    await probe.close();
    // timeoutMs bounds the retransmissions; withinMs turns a hang past it into a failure.
    const failure = allocate({ server: { host: '127.0.0.1', port, transport: 'udp' }, credentials: { username: 'u', password: 'p' }, timeoutMs: 600 }).then(
      () => undefined,
      (error: unknown) => error,
    );
    // The socket is connected to the server, so the ICMP port unreachable ends it (test/turn/udp-unreachable.test.ts times it).
    expect(await withinMs(failure, 3000, 'allocate to fail')).toMatchObject({ code: 'turn-unreachable', message: expect.stringMatching(/unreachable: ICMP port unreachable/) });
  });

  it('an unreachable TCP server fails with turn-unreachable (connection refused)', async () => {
    const probe = await UdpEndpoint.bind({ address: '127.0.0.1' });
    const port = probe.local.port;
    await probe.close();
    await expect(
      allocate({ server: { host: '127.0.0.1', port, transport: 'tcp' }, credentials: { username: 'u', password: 'p' }, timeoutMs: 2000 }),
    ).rejects.toMatchObject({ code: 'turn-unreachable', message: expect.stringContaining('refused') });
  });
});

describe.skipIf(skip)('TURN client: quota (coturn --user-quota 1)', () => {
  let coturn: CoturnTurn;
  beforeAll(async () => {
    coturn = await startCoturnTurn({ users: [USER], tcp: false, verbose: true, extraArgs: ['--user-quota', '1'] });
  });
  afterAll(async () => {
    await coturn?.stop();
  });

  it('a second allocation hits 486 (turn-quota); after close() frees the first, a new one succeeds', async () => {
    const credentials = { username: USER.name, password: USER.password };
    const server = parseTurnUrl(coturn.url);
    const first = await allocate({ server, credentials, timeoutMs: 3000 });
    let third: TurnAllocation | undefined;
    try {
      await expect(allocate({ server, credentials, timeoutMs: 3000 })).rejects.toMatchObject({ code: 'turn-quota', message: expect.stringContaining('486') });
      const local = first.local.port;
      await first.close();
      // coturn deletes a refreshed-to-0 allocation on its next one-second tick and logs it.
      await coturn.waitForLog(new RegExp(`closed \\(2nd stage\\).*remote 127\\.0\\.0\\.1:${local},`), 4000);
      third = await allocate({ server, credentials, timeoutMs: 3000 });
      expect(third.relayed.address).toBe('127.0.0.1');
    } finally {
      await first.close();
      await third?.close();
    }
  });
});
