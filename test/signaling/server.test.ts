import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { attachSignalingServer, startSignalingServer, type SignalingServer, type SignalingServerOptions } from '../../src/signaling/index.js';
import { CloseCode } from '../../src/signaling/protocol.js';
import { FakeClock } from '../../src/transport/fake-clock.js';
import { candidate, RawPeer, within, type Frame } from './helpers.js';

let server: SignalingServer | undefined;
const peers: RawPeer[] = [];
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const peer of peers.splice(0)) peer.close();
  await server?.close();
  server = undefined;
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/**
 * server-redis.test.ts sets this before importing this file, to run the whole suite (bad input
 * included) with the server's state in Redis instead of memory.
 */
type SharedStateFactory = () => Promise<{ store: SignalingServerOptions['store']; bus: SignalingServerOptions['bus']; close(): Promise<void> }>;
const sharedState = (globalThis as { __natProbeSignalingState?: SharedStateFactory }).__natProbeSignalingState;

/** Server on a fake clock: heartbeats, grace periods and rate limits move only when the test says. */
async function start(options: SignalingServerOptions = {}): Promise<{ server: SignalingServer; clock: FakeClock }> {
  const clock = new FakeClock();
  const shared = await sharedState?.();
  if (shared !== undefined) cleanups.push(() => shared.close());
  server = await startSignalingServer({ clock, ...(shared !== undefined ? { store: shared.store, bus: shared.bus } : {}), ...options });
  return { server, clock };
}

async function open(options: Parameters<typeof RawPeer.open>[1] = {}): Promise<RawPeer> {
  const peer = await RawPeer.open(server!.url, options);
  peers.push(peer);
  return peer;
}

/** Two raw peers joined in `room`; `a` has seen `peer-joined` for `b`. */
async function pair(room = 'room-1'): Promise<{ a: RawPeer; b: RawPeer; aId: string; bId: string; aJoined: Frame }> {
  const a = await open();
  const aJoined = await a.join(room);
  const b = await open();
  const bJoined = await b.join(room);
  expect(bJoined.peers).toEqual([aJoined.peerId]);
  const announced = await a.nextOfType('peer-joined');
  expect(announced).toMatchObject({ seq: 1, peerId: bJoined.peerId });
  return { a, b, aId: aJoined.peerId, bId: bJoined.peerId, aJoined };
}

describe('pairing and relay', () => {
  it('pairs two peers and relays every message in order with the sender id and a per-recipient seq', async () => {
    await start();
    const { a, b, aId, bId } = await pair();
    a.send({ type: 'ice-params', seq: 1, ufrag: 'abcd', pwd: 'abcdefghijklmnopqrstuv', tieBreaker: '18446744073709551615' });
    for (let n = 2; n <= 20; n++) a.send({ type: 'candidate', seq: n, candidate: candidate(n) });
    a.send({ type: 'end-of-candidates', seq: 21 });
    b.send({ type: 'result', seq: 1, result: { connected: true, pairs: [{ local: 'host', rtt: 3 }] } });

    // b's result may already be acknowledged on this frame (with Redis behind the server the
    // interleaving varies), so the piggybacked `ack` is left out of the exact comparison.
    const { ack: _piggybacked, ...params } = await b.nextOfType('ice-params');
    expect(params).toEqual({ type: 'ice-params', seq: 1, from: aId, ufrag: 'abcd', pwd: 'abcdefghijklmnopqrstuv', tieBreaker: '18446744073709551615' });
    // b's result may be acknowledged on any of these frames (a piggybacked `ack`), so match loosely.
    for (let n = 2; n <= 20; n++) {
      expect(await b.nextOfType('candidate')).toMatchObject({ type: 'candidate', seq: n, from: aId, candidate: candidate(n) });
    }
    expect(await b.nextOfType('end-of-candidates')).toMatchObject({ type: 'end-of-candidates', seq: 21, from: aId });
    // a's stream: seq 1 was peer-joined, so b's result is seq 2.
    expect(await a.nextOfType('result')).toMatchObject({ type: 'result', seq: 2, from: bId, result: { connected: true, pairs: [{ local: 'host', rtt: 3 }] } });
  });

  it('acknowledges a peer’s stream every ackEvery messages', async () => {
    await start({ ackEvery: 4 });
    const { a } = await pair();
    for (let n = 1; n <= 8; n++) a.send({ type: 'candidate', seq: n, candidate: candidate(n) });
    expect(await a.nextOfType('ack')).toEqual({ type: 'ack', seq: 0, ack: 4 });
    expect(await a.nextOfType('ack')).toEqual({ type: 'ack', seq: 0, ack: 8 });
  });

  it('piggybacks acknowledgements on stream messages, both ways', async () => {
    await start();
    const { a, b, aJoined } = await pair();
    b.send({ type: 'candidate', seq: 1, candidate: candidate(1) });
    const first = await a.nextOfType('candidate');
    expect(first).toMatchObject({ seq: 2 });
    expect(first.ack).toBeUndefined(); // a sent nothing yet, so it is owed no ack
    // The server owes b an ack for seq 1: it rides on the next frame to b.
    a.send({ type: 'candidate', seq: 1, ack: 2, candidate: candidate(2) });
    expect(await b.nextOfType('candidate')).toEqual({ type: 'candidate', seq: 1, ack: 1, from: aJoined.peerId, candidate: candidate(2) });
    // a's ack: 2 let the server forget everything a had; a resume from 0 replays nothing.
    a.close();
    const a2 = await open();
    await a2.join('room-1', { resume: aJoined.resumeToken, ack: 0 });
    b.send({ type: 'end-of-candidates', seq: 2 });
    expect(await a2.nextOfType('end-of-candidates')).toMatchObject({ seq: 3 });
    expect(a2.pending.filter((frame) => frame.type === 'candidate' || frame.type === 'peer-joined')).toEqual([]);
  });

  it('answers room-full to a third peer and keeps relaying between the first two', async () => {
    await start();
    const { a, b, aId } = await pair();
    const c = await open();
    const refused = await c.join('room-1');
    expect(refused).toMatchObject({ type: 'error', code: 'room-full' });
    a.send({ type: 'candidate', seq: 1, candidate: candidate(1) });
    expect(await b.nextOfType('candidate')).toMatchObject({ from: aId, seq: 1 });
  });

  it('refuses a peer whose room token differs from the one the room was created with', async () => {
    await start();
    const a = await open();
    await a.join('secret-room', { token: 'alpha' });
    const b = await open();
    expect(await b.join('secret-room', { token: 'beta' })).toMatchObject({ type: 'error', code: 'room-token-mismatch' });
    const c = await open();
    expect(await c.join('secret-room', { token: 'alpha' })).toMatchObject({ type: 'joined' });
  });

  it('drops a re-sent message whose seq was already seen', async () => {
    const { server } = await start();
    const { a, b } = await pair();
    a.send({ type: 'candidate', seq: 1, candidate: candidate(1) });
    a.send({ type: 'candidate', seq: 1, candidate: candidate(1) });
    a.send({ type: 'candidate', seq: 2, candidate: candidate(2) });
    a.send({ type: 'candidate', seq: 1, candidate: candidate(1) });
    a.send({ type: 'end-of-candidates', seq: 3 });
    await b.nextOfType('end-of-candidates');
    expect(b.pending.map((frame) => [frame.type, frame.seq])).toEqual([
      ['candidate', 1],
      ['candidate', 2],
    ]);
    expect((await server.stats()).duplicatesDropped).toBe(2);
  });

  it('refuses a skipped seq with sequence-gap naming the expected one, then accepts the re-send', async () => {
    await start();
    const { a, b } = await pair();
    a.send({ type: 'candidate', seq: 2, candidate: candidate(2) });
    expect(await a.nextOfType('error')).toMatchObject({ code: 'sequence-gap', expectedSeq: 1 });
    a.send({ type: 'candidate', seq: 1, candidate: candidate(1) });
    a.send({ type: 'candidate', seq: 2, candidate: candidate(2) });
    expect(await b.nextOfType('candidate')).toMatchObject({ seq: 1, candidate: candidate(1) });
    expect(await b.nextOfType('candidate')).toMatchObject({ seq: 2, candidate: candidate(2) });
  });

  it('tells a lone peer no-peer instead of relaying into the void', async () => {
    await start();
    const a = await open();
    await a.join('alone');
    a.send({ type: 'candidate', seq: 1, candidate: candidate(1) });
    expect(await a.nextOfType('error')).toMatchObject({ code: 'no-peer' });
  });

  it('sends the other peer peer-left (reason bye) and frees the room when both leave', async () => {
    const { server } = await start();
    const { a, b, aId } = await pair();
    expect(await server.stats()).toMatchObject({ rooms: 1, peers: 2 });
    a.send({ type: 'bye', seq: 1 });
    expect(await b.nextOfType('peer-left')).toMatchObject({ peerId: aId, reason: 'bye' });
    expect((await within(a.closed, 5_000, 'a closed')).code).toBe(CloseCode.normal);
    b.send({ type: 'bye', seq: 1 });
    await within(b.closed, 5_000, 'b closed');
    expect(await server.stats()).toMatchObject({ rooms: 0, peers: 0 });
  });
});

describe('dead peers', () => {
  it('finds a peer that stops answering pings within two heartbeat intervals and tells the other peer-left', async () => {
    const { server, clock } = await start({ heartbeatMs: 1_000, resumeGraceMs: 0 });
    const a = await open({ autoPong: false }); // a "dead" peer: its pings go unanswered
    const aJoined = await a.join('room-1');
    const b = await open();
    await b.join('room-1');
    await a.nextOfType('peer-joined');

    const bPinged = new Promise<void>((resolve) => b.ws.once('ping', () => resolve()));
    clock.advance(1_000); // one interval: every connection pinged once
    await within(bPinged, 5_000, 'ping to b');
    await b.roundTrip(); // b's pong has reached the server
    expect((await server.stats()).sessionsEnded).toBe(0);

    clock.advance(1_000); // second interval: a never answered
    expect(await b.nextOfType('peer-left')).toMatchObject({ peerId: aJoined.peerId, reason: 'heartbeat-timeout' });
    expect(await server.stats()).toMatchObject({ peers: 1, rooms: 1 });
  });

  it('closes a connection that never joins after joinTimeoutMs', async () => {
    const { clock } = await start({ heartbeatMs: 1_000, joinTimeoutMs: 1_000 });
    const idle = await open();
    clock.advance(1_999); // visited every 1 000 ms; the visit after 1 000 ms of silence closes it
    expect(await idle.nextOfType('error')).toMatchObject({ code: 'join-timeout', fatal: true });
    expect((await within(idle.closed, 5_000, 'close')).code).toBe(CloseCode.joinTimeout);
  });
});

describe('resume', () => {
  it('gives a reconnecting peer its session back and re-sends, in order, what it missed', async () => {
    const { server } = await start({ resumeGraceMs: 30_000 });
    const { a, b, aId, aJoined } = await pair();
    b.send({ type: 'candidate', seq: 1, candidate: candidate(1) });
    expect(await a.nextOfType('candidate')).toMatchObject({ seq: 2 });
    a.send({ type: 'candidate', seq: 1, candidate: candidate(101) });
    await b.nextOfType('candidate');

    a.close(); // abrupt: no bye
    await within(a.closed, 5_000, 'a closed');
    for (let n = 2; n <= 5; n++) b.send({ type: 'candidate', seq: n, candidate: candidate(n) });
    await b.roundTrip();
    expect((await server.stats()).peersInGrace).toBe(1);

    const a2 = await open();
    // a saw up to seq 2 (peer-joined, candidate 1).
    const resumed = await a2.join('room-1', { resume: aJoined.resumeToken, ack: 2 });
    expect(resumed).toMatchObject({ type: 'joined', peerId: aId, resumed: true, ack: 1, peers: [expect.any(String)] });
    for (let n = 2; n <= 5; n++) {
      expect(await a2.nextOfType('candidate')).toMatchObject({ seq: n + 1, candidate: candidate(n) });
    }
    // Continue both ways on the resumed session: a's seq carries on from 1.
    a2.send({ type: 'candidate', seq: 1, candidate: candidate(101) }); // duplicate of before: ignored
    a2.send({ type: 'candidate', seq: 2, candidate: candidate(102) });
    expect(await b.nextOfType('candidate')).toMatchObject({ seq: 2, from: aId, candidate: candidate(102) });
    b.send({ type: 'end-of-candidates', seq: 6 });
    expect(await a2.nextOfType('end-of-candidates')).toMatchObject({ seq: 7 });
    expect(a2.pending.filter((frame) => frame.type === 'candidate')).toEqual([]);
    expect(b.pending.filter((frame) => frame.type === 'peer-left')).toEqual([]);
  });

  it('re-sends everything after the ack the client gives, even messages written to the old socket', async () => {
    await start();
    const { a, b, aJoined } = await pair();
    for (let n = 1; n <= 3; n++) b.send({ type: 'candidate', seq: n, candidate: candidate(n) });
    for (let n = 1; n <= 3; n++) await a.nextOfType('candidate');
    a.close();
    const a2 = await open();
    await a2.join('room-1', { resume: aJoined.resumeToken, ack: 1 }); // claims to have seen only peer-joined
    const replay = [await a2.nextOfType('candidate'), await a2.nextOfType('candidate'), await a2.nextOfType('candidate')];
    expect(replay.map((frame) => frame.seq)).toEqual([2, 3, 4]);
  });

  it('after the grace period: the other peer gets peer-left and the token is refused with resume-failed', async () => {
    const { clock } = await start({ resumeGraceMs: 5_000 });
    const { a, b, aId, aJoined } = await pair();
    a.close();
    await within(a.closed, 5_000, 'a closed');
    await b.roundTrip();
    clock.advance(4_999);
    await b.roundTrip();
    expect(b.pending.filter((frame) => frame.type === 'peer-left')).toEqual([]);
    clock.advance(1);
    expect(await b.nextOfType('peer-left')).toMatchObject({ peerId: aId, reason: 'connection-lost' });
    const a2 = await open();
    expect(await a2.join('room-1', { resume: aJoined.resumeToken, ack: 1 })).toMatchObject({ type: 'error', code: 'resume-failed' });
  });

  it('a resume while the old connection still looks alive supersedes it', async () => {
    await start();
    const { a, b, aId, aJoined } = await pair();
    const a2 = await open();
    expect(await a2.join('room-1', { resume: aJoined.resumeToken, ack: 1 })).toMatchObject({ peerId: aId, resumed: true });
    expect(await a.nextOfType('error')).toMatchObject({ code: 'superseded', fatal: true });
    expect((await within(a.closed, 5_000, 'old socket closed')).code).toBe(CloseCode.superseded);
    b.send({ type: 'candidate', seq: 1, candidate: candidate(1) });
    expect(await a2.nextOfType('candidate')).toMatchObject({ seq: 2 });
  });
});

/** An object nested `levels` deep: { k0: { k1: … 1 } }. */
function nested(levels: number): Frame {
  let value: unknown = 1;
  for (let i = levels - 1; i >= 0; i--) value = { [`k${i}`]: value };
  return value as Frame;
}

describe('bad input', () => {
  it('answers an oversized frame with message-too-large, closes that connection, and keeps serving others', async () => {
    await start({ maxPayloadBytes: 1_024 });
    const { a, b, aId } = await pair();
    const c = await open();
    await c.join('room-2');
    c.send({ type: 'result', seq: 1, result: { blob: 'x'.repeat(2_000) } });
    expect(await c.nextOfType('error')).toMatchObject({ code: 'message-too-large', fatal: true });
    expect((await within(c.closed, 5_000, 'close')).code).toBe(CloseCode.messageTooBig);
    a.send({ type: 'candidate', seq: 1, candidate: candidate(1) });
    expect(await b.nextOfType('candidate')).toMatchObject({ from: aId });
  });

  it('closes with 1009 a frame beyond ws’s hard cap (4 × maxPayloadBytes)', async () => {
    await start({ maxPayloadBytes: 1_024 });
    const c = await open();
    c.send('x'.repeat(8_000));
    expect((await within(c.closed, 5_000, 'close')).code).toBe(CloseCode.messageTooBig);
  });

  it('answers bad JSON with bad-json and keeps the connection', async () => {
    await start();
    const { a, b } = await pair();
    a.send('{"type": "candidate", seq');
    expect(await a.nextOfType('error')).toMatchObject({ code: 'bad-json' });
    a.send({ type: 'candidate', seq: 1, candidate: candidate(1) });
    expect(await b.nextOfType('candidate')).toMatchObject({ seq: 1 });
  });

  it.each([
    [{ type: 'candidate', seq: 1, candidate: 'not a candidate' }, ['candidate']],
    [{ type: 'ice-params', seq: 1, ufrag: 'abcd', pwd: 'abcdefghijklmnopqrstuv', tieBreaker: '18446744073709551616' }, ['tieBreaker']],
    [{ type: 'ice-params', seq: 1, ufrag: 'ab', pwd: 'abcdefghijklmnopqrstuv', tieBreaker: '1' }, ['ufrag']],
    [{ type: 'teleport', seq: 1 }, ['type']],
    [{ type: 'candidate', seq: -1, candidate: 'candidate:1 1 udp 1 10.0.0.1 5000 typ host' }, ['seq']],
    [{ type: 'end-of-candidates', seq: 1, extra: true }, []],
    [{ type: 'result', seq: 1, result: nested(17) }, ['result', ...Array.from({ length: 16 }, (_, i) => `k${i}`)]],
  ])('answers schema violation %j with the zod path %j', async (frame, path) => {
    await start();
    const { a, b } = await pair();
    a.send(frame);
    const error = await a.nextOfType('error');
    expect(error).toMatchObject({ code: 'schema-violation', path });
    expect(error.message).toMatch(/^Invalid /);
    a.send({ type: 'candidate', seq: 1, candidate: candidate(1) });
    expect(await b.nextOfType('candidate')).toMatchObject({ seq: 1 });
  });

  it('refuses stream messages and acks before join with not-joined', async () => {
    await start();
    const a = await open();
    a.send({ type: 'candidate', seq: 1, candidate: candidate(1) });
    expect(await a.nextOfType('error')).toMatchObject({ code: 'not-joined' });
    expect(await a.join('late')).toMatchObject({ type: 'joined' });
    a.send({ type: 'join', seq: 0, room: 'late' });
    expect(await a.nextOfType('error')).toMatchObject({ code: 'already-joined' });
  });

  it('refuses a binary frame with binary-not-supported', async () => {
    await start();
    const a = await open();
    a.ws.send(Buffer.from([1, 2, 3]));
    expect(await a.nextOfType('error')).toMatchObject({ code: 'binary-not-supported' });
  });

  it('refuses a client that did not offer the subprotocol', async () => {
    await start();
    const a = await open({ protocol: null });
    expect(await a.nextOfType('error')).toMatchObject({ code: 'unsupported-protocol', fatal: true });
    expect((await within(a.closed, 5_000, 'close')).code).toBe(CloseCode.protocolError);
  });

  it('rate-limits with a token bucket: refuses the next expected seq with retryAfterMs, silently drops the rest, accepts the re-send later', async () => {
    const { clock, server } = await start({ rateLimit: { messagesPerSecond: 1, burst: 3 } });
    const { a, b } = await pair();
    // The join took one token; two candidates take the rest.
    for (let n = 1; n <= 5; n++) a.send({ type: 'candidate', seq: n, candidate: candidate(n) });
    const limited = await a.nextOfType('error');
    expect(limited).toMatchObject({ code: 'rate-limited', rejectedSeq: 3, retryAfterMs: 1_000 });
    await a.roundTrip();
    expect(a.pending.filter((frame) => frame.type === 'error')).toEqual([]); // seq 4 and 5: no error storm
    clock.advance(1_000);
    a.send({ type: 'candidate', seq: 3, candidate: candidate(3) });
    expect((await b.nextOfType('candidate')).seq).toBe(1);
    expect((await b.nextOfType('candidate')).seq).toBe(2);
    expect(await b.nextOfType('candidate')).toMatchObject({ seq: 3, candidate: candidate(3) });
    expect((await server.stats()).rateLimited).toBe(3);
  });
});

describe('capacity and lifetime of rooms', () => {
  it('refuses a new room past maxRooms and a new peer past maxPeers', async () => {
    await start({ maxRooms: 2, maxPeers: 3 });
    await pair('r1');
    const c = await open();
    expect(await c.join('r2')).toMatchObject({ type: 'joined' });
    const d = await open();
    expect(await d.join('r3')).toMatchObject({ type: 'error', code: 'too-many-rooms' });
    expect(await d.join('r2')).toMatchObject({ type: 'error', code: 'too-many-peers' });
  });

  it('frees a room as soon as its last peer is gone (grace 0)', async () => {
    const { server } = await start({ resumeGraceMs: 0 });
    const a = await open();
    await a.join('ephemeral');
    expect((await server.stats()).rooms).toBe(1);
    a.close();
    await within(a.closed, 5_000, 'close');
    const b = await open();
    // b joining the same name gets a fresh room: no peers.
    expect(await b.join('ephemeral')).toMatchObject({ type: 'joined', peers: [] });
    expect(await server.stats()).toMatchObject({ rooms: 1, peers: 1 });
  });

  it('frees an idle room after roomIdleMs, closing its peers with room-idle', async () => {
    const { server, clock } = await start({ roomIdleMs: 1_000 });
    const { a, b } = await pair();
    clock.advance(1_250); // idle check runs every roomIdleMs / 4
    expect(await a.nextOfType('error')).toMatchObject({ code: 'room-idle', fatal: true });
    expect(await b.nextOfType('error')).toMatchObject({ code: 'room-idle', fatal: true });
    expect((await within(a.closed, 5_000, 'close')).code).toBe(CloseCode.roomIdle);
    expect(await server.stats()).toMatchObject({ rooms: 0, peers: 0, roomsFreedIdle: 1 });
  });

  it('keeps an active room: messages reset the idle timer', async () => {
    const { server, clock } = await start({ roomIdleMs: 1_000 });
    const { a, b } = await pair();
    for (let n = 1; n <= 4; n++) {
      clock.advance(500);
      a.send({ type: 'candidate', seq: n, candidate: candidate(n) });
      await b.nextOfType('candidate');
    }
    expect((await server.stats()).rooms).toBe(1);
  });

  it('drops a peer that never acknowledges once maxPendingMessages are queued for it', async () => {
    const { server } = await start({ maxPendingMessages: 3 });
    const { a, b } = await pair();
    // a acknowledges nothing: peer-joined is pending, so three more messages overflow it.
    for (let n = 1; n <= 3; n++) b.send({ type: 'candidate', seq: n, candidate: candidate(n) });
    expect(await a.nextOfType('error')).toMatchObject({ code: 'too-many-pending', fatal: true });
    expect((await within(a.closed, 5_000, 'close')).code).toBe(CloseCode.tooManyPending);
    expect(await b.nextOfType('peer-left')).toMatchObject({ reason: 'too-many-pending' });
    expect((await server.stats()).peers).toBe(1);
  });
});

describe('hosting', () => {
  it('attaches to an existing HTTP server on a path and leaves other upgrades alone', async () => {
    const http: Server = createServer();
    const other = new WebSocketServer({ noServer: true });
    http.on('upgrade', (request, socket, head) => {
      if (request.url === '/other') other.handleUpgrade(request, socket, head, (ws) => ws.send('other'));
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const attached = attachSignalingServer(http, { path: '/signal', clock: new FakeClock() });
    cleanups.push(async () => {
      await attached.close();
      other.close();
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    });
    const port = (http.address() as { port: number }).port;
    const a = await RawPeer.open(`ws://127.0.0.1:${port}/signal`);
    peers.push(a);
    expect(await a.join('r')).toMatchObject({ type: 'joined' });
    expect((await attached.stats()).peers).toBe(1);

    const otherClient = await RawPeer.open(`ws://127.0.0.1:${port}/other`, { protocol: null });
    peers.push(otherClient);
    expect(await otherClient.nextOfType('(not json)')).toMatchObject({ text: 'other' });
  });

  it('close() tells connected peers server-shutdown', async () => {
    await start();
    const a = await open();
    await a.join('r');
    const closing = server!.close();
    expect(await a.nextOfType('error')).toMatchObject({ code: 'server-shutdown' });
    expect((await within(a.closed, 5_000, 'close')).code).toBe(CloseCode.goingAway);
    await closing;
    server = undefined;
  });
});
