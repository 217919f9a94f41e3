/**
 * Fault tests with real processes: two `nat-probe serve --redis` instances and one redis-server
 * on loopback, many rooms split across the instances, and the exactly-once checker over every
 * message. Bounded in count (rooms × messages) and time.
 */
import type { ChildProcess } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SignalingClient, type SignalingClientOptions } from '../../src/signaling/index.js';
import { runPeerSession, type PeerResult } from '../../src/peer/session.js';
import type { PeerEvent } from '../../src/events.js';
import { firstLine, runCli, spawnCli, stopProcess } from '../helpers/cli.js';
import { freePort, redisGate, RedisProcess } from '../helpers/redis.js';
import { skipUnlessTools } from '../helpers/tools.js';
import { ExactlyOnceChecker } from './exactly-once.js';
import { within } from './helpers.js';

const skip = skipUnlessTools(redisGate, 'signaling failover with Redis');

let redis: RedisProcess | undefined;
const servers: ChildProcess[] = [];
const clients: SignalingClient[] = [];

beforeEach(async () => {
  if (!skip) redis = await RedisProcess.start();
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  for (const server of servers.splice(0)) await stopProcess(server);
  await redis?.stop();
  redis = undefined;
});

async function serve(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawnCli(['serve', '--port', '0', '--no-alternate', '--signal-port', '0', '--redis', redis!.url, '--json']);
  servers.push(child);
  const announced = JSON.parse(await firstLine(child)) as { signaling: { url: string; redis: string } };
  return { child, url: announced.signaling.url };
}

function client(options: Partial<SignalingClientOptions> & { url: string; room: string }): SignalingClient {
  const created = new SignalingClient({ reconnect: { maxAttempts: 8, initialDelayMs: 50, maxDelayMs: 500 }, connectTimeoutMs: 3_000, ...options });
  created.on('warning', () => undefined);
  clients.push(created);
  return created;
}

/** Lets sockets and timers run between rounds of sends, so messages are in flight at every moment. */
function yieldToIo(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function whenComplete(checker: ExactlyOnceChecker, watched: readonly SignalingClient[]): Promise<void> {
  return new Promise((resolve) => {
    const poll = (): void => (checker.complete() ? resolve() : undefined);
    poll();
    for (const c of watched) c.on('message', poll);
  });
}

interface Pair {
  room: string;
  a: SignalingClient;
  b: SignalingClient;
}

async function pairUp(count: number, urlA: string, urlB: string, extra: Partial<SignalingClientOptions>, checker: ExactlyOnceChecker): Promise<Pair[]> {
  const pairs: Pair[] = [];
  for (let i = 0; i < count; i++) {
    const room = `r${i}-${Date.now()}`;
    const a = client({ url: urlA, fallbackUrls: [urlB], room, ...extra });
    const b = client({ url: urlB, fallbackUrls: [urlA], room, ...extra });
    checker.watch(a, room, 'a', 'b');
    checker.watch(b, room, 'b', 'a');
    pairs.push({ room, a, b });
  }
  await Promise.all(pairs.map((pair) => pair.a.connect()));
  await Promise.all(pairs.map((pair) => pair.b.connect()));
  return pairs;
}

describe.skipIf(skip)('signaling failover across instances', () => {
  it('kill -9 of one instance while 100 rooms exchange messages: every client resumes on the other, nothing lost or doubled', async () => {
    const [one, two] = [await serve(), await serve()];
    const checker = new ExactlyOnceChecker();
    const pairs = await pairUp(100, one.url, two.url, {}, checker);
    const peerLeft: string[] = [];
    const resets: string[] = [];
    for (const { a, b, room } of pairs) {
      for (const side of [a, b]) {
        side.on('message', (message) => message.type === 'peer-left' && peerLeft.push(room));
        side.on('reset', () => resets.push(room));
      }
    }
    const resumedOnTwo = pairs.map(({ a }) => new Promise<void>((resolve) => a.on('joined', (info) => info.resumed && a.url === two.url && resolve())));

    const rounds = 30;
    for (let round = 1; round <= rounds; round++) {
      for (const { room, a, b } of pairs) {
        checker.send(a, room, 'a');
        checker.send(b, room, 'b');
      }
      if (round === rounds / 2) one.child.kill('SIGKILL');
      await yieldToIo();
    }
    await within(Promise.all(resumedOnTwo), 20_000, 'every client of the killed instance to resume on the other');
    await within(whenComplete(checker, pairs.flatMap(({ a, b }) => [a, b])), 20_000, 'every message to arrive');
    expect(checker.check()).toEqual([]);
    expect(checker.size).toBe(200);
    expect(resets).toEqual([]);
    expect(peerLeft).toEqual([]); // the other peer noticed nothing but a delay
  }, 60_000);

  it('peer --signal DEAD,LIVE: two peer processes whose first instance is down meet on the second and connect', async () => {
    const live = await serve();
    const dead = `ws://127.0.0.1:${await freePort()}/`;
    const args = ['peer', '--signal', `${dead},${live.url}`, '--room', `cli-failover-${Date.now()}`, '--bind', '127.0.0.1', '--json', '--timeout', '10000'];
    const [a, b] = await Promise.all([runCli(args), runCli(args)]);
    for (const run of [a, b]) {
      expect(run.code, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout.trim().split('\n').at(-1)!)).toMatchObject({ connected: true });
    }
  }, 30_000);

  it('a Redis restarted without persistence: every client gets the documented reset, then works again; nothing is lost silently', async () => {
    const [one, two] = [await serve(), await serve()];
    const checker = new ExactlyOnceChecker();
    const pairs = await pairUp(20, one.url, two.url, { restartOnSessionLost: true }, checker);
    const everyone = pairs.flatMap(({ a, b }) => [a, b]);
    for (const { room, a, b } of pairs) {
      for (let i = 0; i < 5; i++) {
        checker.send(a, room, 'a');
        checker.send(b, room, 'b');
      }
    }
    await within(whenComplete(checker, everyone), 10_000, 'messages before the restart');
    expect(checker.check()).toEqual([]);

    const resets = everyone.map((c) => new Promise<{ reason: string }>((resolve) => c.once('reset', resolve)));
    // Both sides of every room join afresh; a room is whole again when one side hears peer-joined.
    const repaired = pairs.map(
      ({ a, b }) =>
        new Promise<void>((resolve) => {
          for (const side of [a, b]) side.on('joined', (info) => !info.resumed && info.peers.length > 0 && resolve());
        }),
    );
    await redis!.restart();
    const reasons = await within(Promise.all(resets), 20_000, 'every client to be told its session was lost');
    expect(new Set(reasons.map((r) => r.reason))).toEqual(new Set(['state-lost']));
    await within(Promise.all(repaired), 20_000, 'every room to be paired again');
    // The new sessions carry messages exactly once again.
    for (const { room, a, b } of pairs) {
      for (let i = 0; i < 5; i++) {
        checker.send(a, room, 'a');
        checker.send(b, room, 'b');
      }
    }
    await within(whenComplete(checker, everyone), 10_000, 'messages after the reset');
    expect(checker.check()).toEqual([]);
    expect(checker.resets()).toBeGreaterThanOrEqual(40);
  }, 60_000);

  it('a peer session (as peer and trials run it) whose signaling state Redis lost joins again, re-signals, and still connects', async () => {
    const instance = await serve();
    const room = `session-reset-${Date.now()}`;
    const eventsOf = (events: PeerEvent[], type: string): PeerEvent[] => events.filter((event) => event.type === type);
    const first: PeerEvent[] = [];
    let waiting = (): void => undefined;
    let reset = (): void => undefined;
    const alone = new Promise<void>((resolve) => (waiting = resolve));
    const wasReset = new Promise<void>((resolve) => (reset = resolve));
    const options = { signalUrl: instance.url, room, mode: 'connect' as const, bindAddress: '127.0.0.1', timeoutMs: 25_000 };
    const a: Promise<PeerResult> = runPeerSession({
      ...options,
      onEvent: (event) => {
        first.push(event);
        if (event.type === 'peer-phase' && event.phase === 'joined') waiting();
        if (event.type === 'peer-warning' && event.code === 'signaling-reset') reset();
      },
    });
    await within(alone, 10_000, 'the first peer to join and wait');
    // Its session lives only in Redis: restarted without persistence, the state is gone.
    await redis!.restart();
    await within(wasReset, 20_000, 'the first peer to be told its session was lost and to join again');
    const b = runPeerSession(options);
    const [resultA, resultB] = await Promise.all([a, b]);
    expect(resultA.state).toBe('connected');
    expect(resultB.state).toBe('connected');
    // It reports the reset, and names the peer of its new session, not a stale one.
    expect(resultA.warnings?.map((warning) => warning.code)).toContain('signaling-reset');
    expect(resultA.remotePeerId).toBe(resultB.peerId);
    expect(resultB.remotePeerId).toBe(resultA.peerId);
    expect(eventsOf(first, 'peer-warning').length).toBeGreaterThan(0);
  }, 60_000);
});
