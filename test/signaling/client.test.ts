import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  SignalingClient,
  startSignalingServer,
  type IncomingSignalingMessage,
  type SignalingClientOptions,
  type SignalingServer,
  type SignalingServerOptions,
} from '../../src/signaling/index.js';
import { candidate, CuttableProxy, within } from './helpers.js';

let server: SignalingServer | undefined;
let proxy: CuttableProxy | undefined;
const clients: SignalingClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) await client.close();
  await proxy?.close();
  proxy = undefined;
  await server?.close();
  server = undefined;
});

async function start(options: SignalingServerOptions = {}): Promise<SignalingServer> {
  server = await startSignalingServer(options);
  return server;
}

/** Fast reconnects so tests stay quick; the backoff itself uses the real clock. */
function client(options: Partial<SignalingClientOptions> & { url: string }): SignalingClient {
  const created = new SignalingClient({ room: 'room-1', reconnect: { maxAttempts: 5, initialDelayMs: 10, maxDelayMs: 50 }, ...options });
  clients.push(created);
  return created;
}

/**
 * Reads the next `count` messages of `type` from an iterator (others are skipped), bounded.
 * Uses next() rather than for-await, which would end the iterator on return.
 */
async function collect(source: AsyncIterator<IncomingSignalingMessage>, type: string, count: number): Promise<IncomingSignalingMessage[]> {
  const got: IncomingSignalingMessage[] = [];
  const reading = (async () => {
    while (got.length < count) {
      const { value, done } = await source.next();
      if (done === true) throw new Error('iterator ended');
      if (value.type === type) got.push(value);
    }
  })();
  await within(reading, 5_000, `${count} ${type} messages (got ${got.length})`);
  return got;
}

describe('SignalingClient', () => {
  it('joins, exchanges messages both ways in order, and says bye on close', async () => {
    const { url } = await start();
    const a = client({ url });
    const b = client({ url });
    const aInfo = await a.connect();
    expect(aInfo).toMatchObject({ room: 'room-1', peers: [], resumed: false });
    const announced = a.waitFor('peer-joined', { timeoutMs: 5_000 });
    const bInfo = await b.connect();
    expect(bInfo.peers).toEqual([aInfo.peerId]);
    expect((await announced).peerId).toBe(bInfo.peerId);
    expect(b.config).toMatchObject({ maxPayloadBytes: 65_536, heartbeatMs: 15_000 });

    const bInbox = b.messages();
    const resultAtA = a.waitFor('result', { timeoutMs: 5_000 }); // before b sends it: waitFor sees only later messages
    expect(a.send({ type: 'ice-params', ufrag: 'abcd', pwd: 'abcdefghijklmnopqrstuv', tieBreaker: '12345678901234567890' })).toBe(1);
    for (let n = 1; n <= 10; n++) a.send({ type: 'candidate', candidate: candidate(n) });
    a.send({ type: 'end-of-candidates' });
    b.send({ type: 'result', result: { ok: true } });

    const params = await bInbox.next();
    expect(params.value).toMatchObject({ type: 'ice-params', from: aInfo.peerId, tieBreaker: '12345678901234567890' });
    const candidates = await collect(bInbox, 'candidate', 10);
    expect(candidates.map((message) => (message as { candidate: string }).candidate)).toEqual(Array.from({ length: 10 }, (_, i) => candidate(i + 1)));
    expect((await resultAtA).result).toEqual({ ok: true });

    const left = b.waitFor('peer-left', { timeoutMs: 5_000 });
    await a.close();
    expect(await left).toMatchObject({ peerId: aInfo.peerId, reason: 'bye' });
    expect(a.state).toBe('closed');
  });

  it('rejects connect() with RoomFullError for a third peer', async () => {
    const { url } = await start();
    await client({ url }).connect();
    await client({ url }).connect();
    const third = client({ url });
    await expect(third.connect()).rejects.toMatchObject({ code: 'room-full', name: 'RoomFullError' });
    expect(third.state).toBe('closed');
  });

  it('rejects connect() with signaling-unreachable after its bounded attempts', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as { port: number }).port;
    await new Promise((resolve) => closed.close(resolve)); // nothing listens there now
    const lonely = client({ url: `ws://127.0.0.1:${port}/`, reconnect: { maxAttempts: 3, initialDelayMs: 5, maxDelayMs: 10 } });
    const attempts: number[] = [];
    lonely.on('reconnecting', ({ attempt }) => attempts.push(attempt));
    await expect(lonely.connect()).rejects.toMatchObject({ code: 'signaling-unreachable', attempts: 3 });
    expect(attempts).toEqual([2, 3]);
  });

  it('throws before sending an invalid or oversized message', async () => {
    const { url } = await start({ maxPayloadBytes: 2_048 });
    const a = client({ url });
    await a.connect();
    expect(() => a.send({ type: 'candidate', candidate: 'nonsense' })).toThrow(expect.objectContaining({ code: 'invalid-signaling-message' }));
    expect(() => a.send({ type: 'result', result: { blob: 'x'.repeat(4_000) } })).toThrow(expect.objectContaining({ code: 'message-too-large' }));
    expect(a.send({ type: 'end-of-candidates' })).toBe(1); // the refused ones used no seq
  });

  it('reconnects after the connection is cut, resumes, and loses nothing in either direction', async () => {
    const { port } = await start({ resumeGraceMs: 10_000 });
    proxy = await CuttableProxy.start(port);
    const a = client({ url: proxy.url });
    const b = client({ url: server!.url });
    const aInfo = await a.connect();
    await b.connect();
    const aInbox = a.messages();
    const bInbox = b.messages();
    expect((await aInbox.next()).value).toMatchObject({ type: 'peer-joined' });
    a.send({ type: 'candidate', candidate: candidate(1) });
    b.send({ type: 'candidate', candidate: candidate(101) });
    await collect(bInbox, 'candidate', 1);
    await collect(aInbox, 'candidate', 1);

    const resumed = new Promise<boolean>((resolve) => a.on('joined', (info) => resolve(info.resumed)));
    const reconnecting = new Promise<void>((resolve) => a.once('reconnecting', () => resolve()));
    proxy.cutAll();
    await within(reconnecting, 5_000, 'a to notice the cut');
    // Both sides keep talking during the outage.
    for (let n = 2; n <= 6; n++) a.send({ type: 'candidate', candidate: candidate(n) });
    for (let n = 102; n <= 106; n++) b.send({ type: 'candidate', candidate: candidate(n) });
    expect(await within(resumed, 5_000, 'resume')).toBe(true);
    expect(a.peerId).toBe(aInfo.peerId);

    const atB = await collect(bInbox, 'candidate', 5);
    const atA = await collect(aInbox, 'candidate', 5);
    expect(atB.map((message) => (message as { candidate: string }).candidate)).toEqual([2, 3, 4, 5, 6].map(candidate));
    expect(atA.map((message) => (message as { candidate: string }).candidate)).toEqual([102, 103, 104, 105, 106].map(candidate));
    expect(atB.every((message) => 'from' in message && message.from === aInfo.peerId)).toBe(true);

    // And nothing extra turns up afterwards: a marker is the very next thing each side gets.
    a.send({ type: 'end-of-candidates' });
    b.send({ type: 'end-of-candidates' });
    expect((await bInbox.next()).value).toMatchObject({ type: 'end-of-candidates' });
    expect((await aInbox.next()).value).toMatchObject({ type: 'end-of-candidates' });
  });

  it('closes with SessionLostError (resume-failed) when the grace period has run out', async () => {
    const { port } = await start({ resumeGraceMs: 0 });
    proxy = await CuttableProxy.start(port);
    const a = client({ url: proxy.url });
    const b = client({ url: server!.url });
    await a.connect();
    await b.connect();
    const left = b.waitFor('peer-left', { timeoutMs: 5_000 });
    const closed = new Promise<unknown>((resolve) => a.once('close', ({ error }) => resolve(error)));
    proxy.cutAll();
    expect(await left).toMatchObject({ reason: 'connection-lost' });
    expect(await within(closed, 5_000, 'a to give up')).toMatchObject({ code: 'resume-failed', name: 'SessionLostError' });
  });

  it('re-sends after rate-limited, so every message arrives once and in order', async () => {
    const { url } = await start({ rateLimit: { messagesPerSecond: 200, burst: 3 } });
    const a = client({ url });
    const b = client({ url });
    await a.connect();
    await b.connect();
    const inbox = b.messages();
    for (let n = 1; n <= 12; n++) a.send({ type: 'candidate', candidate: candidate(n) });
    const got = await collect(inbox, 'candidate', 12);
    expect(got.map((message) => message.seq)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect((await server!.stats()).rateLimited).toBeGreaterThan(0);
  });

  it('ends async iteration when closed, and waitFor rejects with signaling-timeout after its bound', async () => {
    const { url } = await start();
    const a = client({ url });
    await a.connect();
    await expect(a.waitFor('candidate', { timeoutMs: 20 })).rejects.toMatchObject({ code: 'signaling-timeout' });
    const iterator = a.messages();
    const pending = iterator.next();
    await a.close();
    expect(await pending).toEqual({ value: undefined, done: true });
    expect(() => a.send({ type: 'end-of-candidates' })).toThrow(expect.objectContaining({ code: 'signaling-closed' }));
  });
});
