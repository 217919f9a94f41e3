/**
 * Signaling with its state in a real Redis (redis-server on a free loopback port, no
 * persistence), two server instances in this process, each with its own Redis connections, as
 * two `serve --redis` processes would have.
 */
import { createClient } from 'redis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectRedisSignaling, RedisUnreachableError, type RedisSignaling } from '../../src/signaling/redis-store.js';
import {
  SignalingClient,
  startSignalingServer,
  type SignalingClientOptions,
  type SignalingServer,
  type SignalingServerOptions,
} from '../../src/signaling/index.js';
import { skipUnlessTools } from '../helpers/tools.js';
import { freePort, redisGate, RedisProcess } from '../helpers/redis.js';
import { ExactlyOnceChecker } from './exactly-once.js';
import { FakeClock } from '../../src/transport/fake-clock.js';
import { candidate, CuttableProxy, RawPeer, within } from './helpers.js';

const skip = skipUnlessTools(redisGate, 'signaling with Redis');

let redis: RedisProcess;
const instances: { server: SignalingServer; redis: RedisSignaling }[] = [];
const clients: SignalingClient[] = [];
const raws: RawPeer[] = [];

beforeAll(async () => {
  if (!skip) redis = await RedisProcess.start();
});
afterAll(async () => {
  await redis?.stop();
});
afterEach(async () => {
  for (const raw of raws.splice(0)) raw.close();
  for (const client of clients.splice(0)) await client.close();
  for (const instance of instances.splice(0)) {
    await instance.server.close();
    await instance.redis.close();
  }
});

async function instance(options: SignalingServerOptions = {}): Promise<SignalingServer> {
  const shared = await connectRedisSignaling({ url: redis.url });
  const server = await startSignalingServer({ store: shared.store, bus: shared.bus, ...options });
  instances.push({ server, redis: shared });
  return server;
}

function client(options: Partial<SignalingClientOptions> & { url: string }): SignalingClient {
  const created = new SignalingClient({ room: 'room-1', reconnect: { maxAttempts: 6, initialDelayMs: 10, maxDelayMs: 100 }, ...options });
  clients.push(created);
  return created;
}

/** Two clients in `room` whose every send and receive, both ways, the exactly-once checker watches. */
function watchedPair(room: string, aOptions: Partial<SignalingClientOptions> & { url: string }, bOptions: Partial<SignalingClientOptions> & { url: string }): { a: SignalingClient; b: SignalingClient; checker: ExactlyOnceChecker } {
  const a = client({ ...aOptions, room });
  const b = client({ ...bOptions, room });
  const checker = new ExactlyOnceChecker();
  checker.watch(a, room, 'a', 'b');
  checker.watch(b, room, 'b', 'a');
  return { a, b, checker };
}

async function raw(url: string): Promise<RawPeer> {
  const peer = await RawPeer.open(url);
  raws.push(peer);
  return peer;
}

async function flush(): Promise<void> {
  const admin = createClient({ url: redis.url });
  admin.on('error', () => undefined);
  await admin.connect();
  await admin.flushAll();
  await admin.quit();
}

describe.skipIf(skip)('signaling with Redis', () => {
  it('relays between two peers on different instances, both ways, in order, each once', async () => {
    const [one, two] = [await instance(), await instance()];
    const room = `split-${Date.now()}`;
    const { a, b, checker } = watchedPair(room, { url: one.url }, { url: two.url });
    await a.connect();
    const joinedB = await b.connect();
    expect(joinedB.peers).toEqual([a.peerId]);
    await a.waitFor('peer-joined', { timeoutMs: 5_000 }).catch(() => undefined);
    const done = new Promise<void>((resolve) => {
      const poll = (): void => (checker.complete() ? resolve() : undefined);
      a.on('message', poll);
      b.on('message', poll);
    });
    for (let i = 0; i < 40; i++) {
      checker.send(a, room, 'a');
      checker.send(b, room, 'b');
    }
    await within(done, 5_000, 'every message to arrive');
    expect(checker.check()).toEqual([]);
    const stats = await one.stats();
    expect(stats.rooms).toBeGreaterThanOrEqual(1);
  });

  it('a peer whose instance goes away resumes on the other one and misses nothing', async () => {
    const [one, two] = [await instance({ resumeGraceMs: 10_000 }), await instance({ resumeGraceMs: 10_000 })];
    const room = `failover-${Date.now()}`;
    const { a, b, checker } = watchedPair(room, { url: one.url, fallbackUrls: [two.url] }, { url: two.url });
    await a.connect();
    await b.connect();
    for (let i = 0; i < 10; i++) checker.send(a, room, 'a');
    // Instance one stops (its clients get server-shutdown and reconnect elsewhere); meanwhile b keeps sending.
    const resumed = new Promise<void>((resolve) => a.on('joined', (info) => info.resumed && resolve()));
    const stopping = instances[0]!.server.close();
    for (let i = 0; i < 10; i++) {
      checker.send(b, room, 'b');
      checker.send(a, room, 'a');
    }
    await stopping;
    await within(resumed, 5_000, 'a to resume on instance two');
    expect(a.url).toBe(two.url);
    const done = new Promise<void>((resolve) => {
      const poll = (): void => (checker.complete() ? resolve() : undefined);
      poll();
      a.on('message', poll);
      b.on('message', poll);
    });
    await within(done, 5_000, 'every message to arrive');
    expect(checker.check()).toEqual([]);
  });

  it('a grace period running out on one instance does not end a session that resumed, and dropped again, on another', async () => {
    const [clockOne, clockTwo] = [new FakeClock(), new FakeClock()];
    const [one, two] = [await instance({ clock: clockOne, resumeGraceMs: 10_000 }), await instance({ clock: clockTwo, resumeGraceMs: 10_000 })];
    const room = `grace-${Date.now()}`;
    const a1 = await raw(one.url);
    const joined = await a1.join(room);
    const b = await raw(two.url);
    await b.join(room);
    const inGrace = async (server: SignalingServer): Promise<void> => {
      for (let round = 0; round < 500 && (await server.stats()).peersInGrace === 0; round++);
      expect((await server.stats()).peersInGrace).toBe(1);
    };
    a1.close(); // instance one starts a grace period for a
    await inGrace(one);
    const a2 = await raw(two.url);
    expect(await a2.join(room, { resume: joined.resumeToken, ack: 0 })).toMatchObject({ type: 'joined', resumed: true });
    a2.close(); // and instance two starts its own
    await inGrace(two);
    clockOne.advance(10_001); // instance one's period ends first: a is not its connection any more
    await one.stats();
    await one.stats(); // both store round trips of the expiry have run by now
    expect((await two.stats()).peers).toBe(2);
    clockTwo.advance(10_001); // instance two's period is the one that counts
    expect(await b.nextOfType('peer-left')).toMatchObject({ peerId: joined.peerId, reason: 'connection-lost' });
  });

  it('a burst sent in one write, with a seq missing in the middle, is taken frame by frame: in order, once, one sequence-gap, and the re-send fills in', async () => {
    const [one, two] = [await instance(), await instance()];
    const room = `burst-${Date.now()}`;
    const a = await raw(one.url);
    const b = await raw(two.url);
    await a.join(room);
    await b.join(room);
    await a.nextOfType('peer-joined');
    // One TCP write: the instance reads these together, and they go to Redis without waiting for
    // one another (pipelined into the same batch). Seq 4 is missing.
    const socket = (a.ws as unknown as { _socket: { cork(): void; uncork(): void } })._socket;
    socket.cork();
    for (const seq of [1, 2, 3, 5, 6]) a.send({ type: 'candidate', seq, candidate: candidate(seq) });
    a.send({ type: 'ack', seq: 0, ack: 1 });
    socket.uncork();
    expect(await a.nextOfType('error')).toMatchObject({ code: 'sequence-gap', expectedSeq: 4 });
    for (const seq of [4, 5, 6]) a.send({ type: 'candidate', seq, candidate: candidate(seq) });
    const received: number[] = [];
    for (let i = 0; i < 6; i++) {
      const frame = await b.nextOfType('candidate');
      received.push(Number(/candidate:(\d+)/.exec(String(frame.candidate))![1]));
    }
    expect(received).toEqual([1, 2, 3, 4, 5, 6]);
    await a.roundTrip();
    await b.roundTrip();
    // Nothing more: no second gap error (6 came after 5 was refused), no duplicate delivery.
    expect(a.pending.filter((frame) => frame.type === 'error')).toEqual([]);
    expect(b.pending.filter((frame) => frame.type === 'candidate')).toEqual([]);
  });

  it('a bye that skips a seq is refused with sequence-gap and ends the session once re-sent in order', async () => {
    const [one, two] = [await instance(), await instance()];
    const room = `bye-gap-${Date.now()}`;
    const a = await raw(one.url);
    const b = await raw(two.url);
    const joinedA = await a.join(room);
    await b.join(room);
    a.send({ type: 'bye', seq: 2 });
    expect(await a.nextOfType('error')).toMatchObject({ code: 'sequence-gap', expectedSeq: 1 });
    a.send({ type: 'candidate', seq: 1, candidate: candidate(1) });
    a.send({ type: 'bye', seq: 2 });
    expect(await b.nextOfType('candidate')).toMatchObject({ candidate: candidate(1) });
    expect(await b.nextOfType('peer-left')).toMatchObject({ peerId: joinedA.peerId, reason: 'bye' });
  });

  it('after rate-limited, a pipelined frame accepted late does not end the silent wait: no extra sequence-gap, and the re-send fills in', async () => {
    // Redis 40 ms away each way, so the first frames' answers come back after the refusal; the
    // server's clock is fake, so tokens come exactly when the test says.
    const proxy = await CuttableProxy.start(redis.port, { delayMs: 40 });
    try {
      const clock = new FakeClock();
      const shared = await connectRedisSignaling({ url: `redis://127.0.0.1:${proxy.port}` });
      const slow = await startSignalingServer({ store: shared.store, bus: shared.bus, clock, rateLimit: { messagesPerSecond: 1, burst: 3 } });
      instances.push({ server: slow, redis: shared });
      const fast = await instance();
      const room = `throttle-${Date.now()}`;
      const a = await raw(slow.url);
      const b = await raw(fast.url);
      await a.join(room, {}); // one token left of three after this and the next two frames
      await b.join(room);
      await a.nextOfType('peer-joined', 5_000);
      const socket = (a.ws as unknown as { _socket: { cork(): void; uncork(): void } })._socket;
      socket.cork();
      for (const seq of [1, 2, 3]) a.send({ type: 'candidate', seq, candidate: candidate(seq) });
      socket.uncork();
      expect(await a.nextOfType('error', 5_000)).toMatchObject({ code: 'rate-limited', rejectedSeq: 3 });
      // 1 and 2 are still on their way to Redis: a token arrives, and 4 goes out behind them.
      clock.advance(1_000);
      a.send({ type: 'candidate', seq: 4, candidate: candidate(4) });
      for (const seq of [1, 2]) expect(await b.nextOfType('candidate', 5_000)).toMatchObject({ candidate: candidate(seq) });
      clock.advance(2_000);
      for (const seq of [3, 4]) a.send({ type: 'candidate', seq, candidate: candidate(seq) });
      for (const seq of [3, 4]) expect(await b.nextOfType('candidate', 5_000)).toMatchObject({ candidate: candidate(seq) });
      // b hears them through Redis before a's instance has the answers (they come back slowly):
      // a's instance has handled every answer once it acknowledges 4 to a, on what b sends.
      let acknowledged = 0;
      for (let seq = 1; seq <= 20 && acknowledged < 4; seq++) {
        b.send({ type: 'candidate', seq, candidate: candidate(100 + seq) });
        const frame = await a.next((f) => f.type === 'candidate' || f.type === 'ack', 5_000);
        acknowledged = Math.max(acknowledged, Number(frame.ack ?? 0));
      }
      expect(acknowledged).toBe(4);
      // 4's first refusal (a gap, behind the rate limit) was answered by nothing: the client had been told.
      expect(a.pending.filter((frame) => frame.type === 'error')).toEqual([]);
    } finally {
      for (const entry of instances.splice(0)) {
        await entry.server.close();
        await entry.redis.close();
      }
      await proxy.close();
    }
  });

  it('keeps hostile-frame handling: bad JSON, schema violations and sequence gaps get their errors', async () => {
    const server = await instance();
    const peer = await raw(server.url);
    peer.send('{nope');
    expect(await peer.nextOfType('error')).toMatchObject({ code: 'bad-json' });
    const joined = await peer.join(`hostile-${Date.now()}`);
    expect(joined).toMatchObject({ type: 'joined', epoch: expect.any(String) });
    peer.send({ type: 'candidate', seq: 1, candidate: 'not a candidate' });
    expect(await peer.nextOfType('error')).toMatchObject({ code: 'schema-violation' });
    peer.send({ type: 'candidate', seq: 3, candidate: candidate(1) });
    expect(await peer.nextOfType('error')).toMatchObject({ code: 'sequence-gap', expectedSeq: 1 });
    peer.send({ type: 'candidate', seq: 1, candidate: candidate(1) });
    expect(await peer.nextOfType('error')).toMatchObject({ code: 'no-peer' });
  });

  it('after Redis lost its state: resume-failed with reason state-lost, and the client starts over with a reset', async () => {
    const server = await instance();
    const room = `epoch-${Date.now()}`;
    const { a, b, checker } = watchedPair(room, { url: server.url, restartOnSessionLost: true }, { url: server.url, restartOnSessionLost: true });
    await a.connect();
    await b.connect();
    const resets = [a, b].map((c) => new Promise<{ reason: string }>((resolve) => c.once('reset', resolve)));
    const rejoined = [a, b].map((c) => new Promise<void>((resolve) => c.on('joined', (info) => !info.resumed && resolve())));
    await flush(); // as a restart without persistence would: every key gone, epoch included
    // The next write finds the epoch gone: the instance drops every connection with state-lost.
    checker.send(a, room, 'a');
    const [resetA, resetB] = await within(Promise.all(resets), 10_000, 'both clients to reset');
    expect(resetA?.reason).toBe('state-lost');
    expect(resetB?.reason).toBe('state-lost');
    await within(Promise.all(rejoined), 10_000, 'both clients to join afresh');
    // The message sent into the lost session is gone, and said to be: the checker saw the reset.
    expect(checker.resets()).toBeGreaterThan(0);
    // A raw resume with an old token says why it failed.
    const peer = await raw(server.url);
    expect(await peer.join(room, { resume: 'old-epoch.abcdefabcdefabcdefabcdef', ack: 0 })).toMatchObject({ code: 'resume-failed', reason: 'state-lost' });
  });

  it('a killed subscriber connection resubscribes and backfills what was published meanwhile', async () => {
    const [one, two] = [await instance(), await instance()];
    const room = `subkill-${Date.now()}`;
    const { a, b, checker } = watchedPair(room, { url: one.url }, { url: two.url });
    await a.connect();
    await b.connect();
    const admin = createClient({ url: redis.url });
    admin.on('error', () => undefined);
    await admin.connect();
    const resynced = new Promise<void>((resolve) => instances[1]!.redis.bus.onResync(resolve));
    try {
      // Kill both subscribers, and keep them out (maxclients = the connections left) until a's
      // messages are stored: what is published meanwhile is lost to Pub/Sub, not to the outbox.
      const list = String(await admin.sendCommand(['CLIENT', 'LIST', 'TYPE', 'pubsub']));
      const subscriberIds = list
        .split('\n')
        .filter((line) => line.includes('name=nat-probe-signaling-sub'))
        .map((line) => /id=(\d+)/.exec(line)![1]!);
      expect(subscriberIds.length).toBe(2);
      const connected = String(await admin.sendCommand(['CLIENT', 'LIST'])).trim().split('\n').length;
      await admin.sendCommand(['CONFIG', 'SET', 'maxclients', String(connected - 2)]);
      for (const id of subscriberIds) await admin.sendCommand(['CLIENT', 'KILL', 'ID', id]);
      for (let i = 0; i < 20; i++) checker.send(a, room, 'a');
      const outbox = `np:${instances[1]!.redis.epoch()}:o:${b.peerId}`;
      for (let round = 0; round < 5_000 && (await admin.zCard(outbox)) < 20; round++);
      expect(await admin.zCard(outbox)).toBe(20);
      expect(checker.complete()).toBe(false); // nothing could reach b yet
    } finally {
      await admin.sendCommand(['CONFIG', 'SET', 'maxclients', '10000']);
      await admin.quit();
    }
    await within(resynced, 5_000, 'the subscriber to come back');
    const done = new Promise<void>((resolve) => {
      const poll = (): void => (checker.complete() ? resolve() : undefined);
      poll();
      b.on('message', poll);
    });
    await within(done, 5_000, 'every message to arrive after the resubscribe');
    expect(checker.check()).toEqual([]);
  });

  it('while Redis is down, a new join gets store-unavailable; once it is back, joins work again', async () => {
    const server = await instance();
    const shared = instances[0]!.redis;
    const down = new Promise<void>((resolve) => shared.once('unavailable', () => resolve()));
    await redis.kill();
    const back = new Promise<void>((resolve) => shared.once('available', () => resolve()));
    try {
      await within(down, 5_000, 'the instance to notice Redis is gone');
      const peer = await raw(server.url);
      expect(await peer.join('during-outage')).toMatchObject({ type: 'error', code: 'store-unavailable' });
    } finally {
      await redis.restart();
    }
    // The instance reconnects on its own (backoff up to 1 s) and settles a new epoch.
    await within(back, 10_000, 'the instance to reconnect to Redis');
    const peer = await raw(server.url);
    expect(await peer.join('after-outage')).toMatchObject({ type: 'joined' });
  });

  it('behind a slow Redis (30 ms each way) joins and relays slow down but stay exactly once, messages share batches, and the latency hook shows it', async () => {
    const proxy = await CuttableProxy.start(redis.port, { delayMs: 30 });
    try {
      const latencies: number[] = [];
      let batches = 0;
      let batchDone = (): void => undefined;
      const firstBatch = new Promise<void>((resolve) => (batchDone = resolve));
      const shared = await connectRedisSignaling({
        url: `redis://127.0.0.1:${proxy.port}`,
        onCommand: (name, seconds) => {
          latencies.push(seconds);
          if (name !== 'batch') return;
          batches++;
          batchDone();
        },
      });
      const server = await startSignalingServer({ store: shared.store, bus: shared.bus });
      instances.push({ server, redis: shared });
      const fast = await instance();
      const room = `slow-${Date.now()}`;
      const { a, b, checker } = watchedPair(room, { url: server.url, connectTimeoutMs: 5_000 }, { url: fast.url });
      await a.connect();
      await b.connect();
      for (let i = 0; i < 30; i++) {
        checker.send(a, room, 'a');
        checker.send(b, room, 'b');
      }
      const done = new Promise<void>((resolve) => {
        const poll = (): void => (checker.complete() ? resolve() : undefined);
        poll();
        a.on('message', poll);
        b.on('message', poll);
      });
      await within(done, 15_000, 'every message through the slow Redis');
      expect(checker.check()).toEqual([]);
      // a's 30 messages reached the slow instance at once: while one batch was out, the rest
      // gathered for the next, so they took fewer round trips than messages (and acks rode along).
      // (b hears them before the slow reply is back with the instance, so wait for that.)
      await within(firstBatch, 5_000, 'the first batch reply through the slow Redis');
      expect(batches).toBeLessThan(30);
      expect(Math.min(...latencies)).toBeGreaterThanOrEqual(0.055); // two 30 ms hops, minus timer slack
    } finally {
      for (const entry of instances.splice(0)) {
        await entry.server.close();
        await entry.redis.close();
      }
      await proxy.close();
    }
  });

  it('a session in flight when Redis goes away: its next message closes it with store-unavailable; when Redis returns empty, the client is reset, never silently continued', async () => {
    const server = await instance();
    const shared = instances[0]!.redis;
    const room = `inflight-${Date.now()}`;
    const a = client({ url: server.url, room, restartOnSessionLost: true, reconnect: { maxAttempts: 30, initialDelayMs: 50, maxDelayMs: 200 } });
    const b = client({ url: server.url, room, restartOnSessionLost: true, reconnect: { maxAttempts: 30, initialDelayMs: 50, maxDelayMs: 200 } });
    await a.connect();
    await b.connect();
    const down = new Promise<void>((resolve) => shared.once('unavailable', () => resolve()));
    const back = new Promise<void>((resolve) => shared.once('available', () => resolve()));
    const dropped = new Promise<unknown>((resolve) => a.once('reconnecting', ({ cause }) => resolve(cause)));
    const reset = new Promise<{ reason: string; dropped: number }>((resolve) => a.once('reset', resolve));
    const rejoined = new Promise<void>((resolve) => a.on('joined', (info) => !info.resumed && resolve()));
    await redis.kill();
    await within(down, 5_000, 'the instance to notice Redis is gone');
    a.send({ type: 'candidate', candidate: candidate(1) });
    // The server could not take the message: it closes the connection, and the client reconnects.
    await within(dropped, 5_000, 'a to be disconnected with store-unavailable');
    expect(a.unacknowledged).toBe(1);
    await redis.restart();
    await within(back, 10_000, 'the instance to reconnect to the fresh Redis');
    const { reason, dropped: lost } = await within(reset, 10_000, 'a to be told its session is gone');
    expect(reason).toBe('state-lost');
    expect(lost).toBe(1); // the unacknowledged message is reported dropped with the old session, not re-sent into the new one
    await within(rejoined, 5_000, 'a to join afresh');
    expect(a.state).toBe('open');
  });

  it('an unreachable Redis at start is a RedisUnreachableError with the reason', async () => {
    const port = await freePort();
    await expect(connectRedisSignaling({ url: `redis://127.0.0.1:${port}`, connectTimeoutMs: 1_000 })).rejects.toThrow(RedisUnreachableError);
    await expect(connectRedisSignaling({ url: `redis://127.0.0.1:${port}`, connectTimeoutMs: 1_000 })).rejects.toThrow(/unreachable.*ECONNREFUSED/);
  });
});
