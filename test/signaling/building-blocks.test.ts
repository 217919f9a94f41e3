import { describe, expect, it } from 'vitest';
import { backoffDelayMs } from '../../src/signaling/backoff.js';
import { HeartbeatWheel } from '../../src/signaling/heartbeat-wheel.js';
import { MemorySignalingBus, MemorySignalingStore } from '../../src/signaling/memory-store.js';
import { TokenBucket } from '../../src/signaling/token-bucket.js';
import { FakeClock } from '../../src/transport/fake-clock.js';

const limits = { maxRooms: 10, maxPeers: 10, roomCapacity: 2 };
const add = (store: MemorySignalingStore, room: string, peerId: string, token?: string) =>
  store.addPeer({ room, peerId, resumeTokenHash: `resume-${peerId}`, roomTokenHash: token, now: 0 }, limits);

describe('MemorySignalingStore', () => {
  it('creates a room on first join, holds two peers, and deletes the room with its last peer', async () => {
    const store = new MemorySignalingStore();
    expect(await add(store, 'r', 'a')).toEqual({ ok: true, peers: [] });
    expect(await add(store, 'r', 'b')).toEqual({ ok: true, peers: ['a'] });
    expect(await add(store, 'r', 'c')).toEqual({ ok: false, code: 'room-full' });
    expect(await store.removePeer('a')).toEqual({ room: 'r', remaining: ['b'], roomFreed: false });
    expect(await store.removePeer('b')).toEqual({ room: 'r', remaining: [], roomFreed: true });
    expect(await store.counts()).toEqual({ rooms: 0, peers: 0 });
    expect(await store.findPeerByResumeToken('resume-a')).toBeUndefined();
  });

  it('accepts exactly the next seq and queues its body for the other peer; reports duplicates and gaps', async () => {
    const store = new MemorySignalingStore();
    await add(store, 'r', 'a');
    await add(store, 'r', 'b');
    const message = (seq: number, ack?: number) => ({ seq, ack, body: `{"n":${seq}}` });
    expect(await store.acceptStreamMessage('a', message(1), 5, 10)).toEqual({
      kind: 'accepted',
      partners: 1,
      queued: [{ peerId: 'b', entry: { seq: 1, body: '{"n":1}' } }],
      overflowed: [],
    });
    expect(await store.acceptStreamMessage('a', message(1), 5, 10)).toEqual({ kind: 'duplicate' });
    expect(await store.acceptStreamMessage('a', message(3), 5, 10)).toEqual({ kind: 'gap', expected: 2 });
    expect(await store.acceptStreamMessage('x', message(1), 5, 10)).toEqual({ kind: 'unknown-peer' });
    expect((await store.getPeer('a'))?.lastInSeq).toBe(1);
    // b's piggybacked ack clears b's outbox, even on a message that is itself a duplicate.
    await store.acceptStreamMessage('b', message(1), 5, 10);
    await store.acceptStreamMessage('b', message(1, 1), 5, 10);
    expect(await store.pendingOutbound('b', 0)).toEqual([]);
  });

  it('reports an overflowing partner instead of queueing for it, and relays no body for bye', async () => {
    const store = new MemorySignalingStore();
    await add(store, 'r', 'a');
    await add(store, 'r', 'b');
    await store.acceptStreamMessage('a', { seq: 1, ack: undefined, body: '{}' }, 0, 1);
    expect(await store.acceptStreamMessage('a', { seq: 2, ack: undefined, body: '{}' }, 0, 1)).toMatchObject({ queued: [], overflowed: ['b'] });
    expect(await store.acceptStreamMessage('a', { seq: 3, ack: undefined, body: undefined }, 0, 1)).toMatchObject({ partners: 1, queued: [], overflowed: [] });
  });

  it('numbers outbox entries, forgets acknowledged ones, and refuses past maxPending', async () => {
    const store = new MemorySignalingStore();
    await add(store, 'r', 'a');
    for (const body of ['{"n":1}', '{"n":2}', '{"n":3}']) await store.enqueueOutbound('a', body, 3);
    expect(await store.enqueueOutbound('a', '{"n":4}', 3)).toEqual({ kind: 'overflow' });
    await store.acknowledgeOutbound('a', 2);
    expect(await store.pendingOutbound('a', 0)).toEqual([{ seq: 3, body: '{"n":3}' }]);
    expect(await store.enqueueOutbound('a', '{"n":4}', 3)).toMatchObject({ kind: 'queued', entry: { seq: 4 } });
  });

  it('reports rooms idle since a time; accepting a message refreshes the room', async () => {
    const store = new MemorySignalingStore();
    await add(store, 'quiet', 'a');
    await add(store, 'busy', 'b');
    await store.acceptStreamMessage('b', { seq: 1, ack: undefined, body: undefined }, 100, 10);
    expect(await store.idleRooms(50)).toEqual(['quiet']);
  });

  it('enforces maxRooms and maxPeers', async () => {
    const store = new MemorySignalingStore();
    const tight = { maxRooms: 1, maxPeers: 2, roomCapacity: 2 };
    expect((await store.addPeer({ room: 'r1', peerId: 'a', resumeTokenHash: 'x', roomTokenHash: undefined, now: 0 }, tight)).ok).toBe(true);
    expect(await store.addPeer({ room: 'r2', peerId: 'b', resumeTokenHash: 'y', roomTokenHash: undefined, now: 0 }, tight)).toEqual({ ok: false, code: 'too-many-rooms' });
  });
});

describe('MemorySignalingBus', () => {
  it('delivers to the current subscriber only, and a stale unsubscribe does not remove a newer one', () => {
    const bus = new MemorySignalingBus();
    const first: unknown[] = [];
    const second: unknown[] = [];
    const unsubscribeFirst = bus.subscribe('p', (event) => first.push(event));
    bus.subscribe('p', (event) => second.push(event));
    unsubscribeFirst();
    bus.publish('p', { kind: 'deliver', entry: { seq: 1, body: '{}' } });
    bus.publish('nobody', { kind: 'deliver', entry: { seq: 1, body: '{}' } });
    expect(first).toEqual([]);
    expect(second).toHaveLength(1);
  });
});

describe('TokenBucket', () => {
  it('allows a burst, then refills at the configured rate on the injected clock', () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket({ messagesPerSecond: 10, burst: 3 }, clock);
    expect([bucket.tryTake(), bucket.tryTake(), bucket.tryTake(), bucket.tryTake()]).toEqual([true, true, true, false]);
    expect(bucket.msUntilNextToken()).toBe(100);
    clock.advance(99);
    expect(bucket.tryTake()).toBe(false);
    clock.advance(1);
    expect(bucket.tryTake()).toBe(true);
    clock.advance(10_000);
    expect([bucket.tryTake(), bucket.tryTake(), bucket.tryTake(), bucket.tryTake()]).toEqual([true, true, true, false]);
  });
});

describe('HeartbeatWheel', () => {
  it('visits every member once per interval, spread over slices', () => {
    const clock = new FakeClock();
    const visits: [string, number][] = [];
    const wheel = new HeartbeatWheel<string>(clock, 1_000, (member, now) => visits.push([member, now]), 4);
    for (const member of ['a', 'b', 'c', 'd', 'e']) wheel.add(member);
    wheel.start();
    clock.advance(1_000);
    expect(visits.map(([member]) => member).sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(new Set(visits.map(([, at]) => at))).toEqual(new Set([250, 500, 750, 1_000]));
    wheel.remove('a');
    visits.length = 0;
    clock.advance(1_000);
    expect(visits.map(([member]) => member).sort()).toEqual(['b', 'c', 'd', 'e']);
    wheel.stop();
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('backoffDelayMs', () => {
  it('grows exponentially up to the cap, with half the delay jittered', () => {
    const options = { maxAttempts: 5, initialDelayMs: 100, maxDelayMs: 1_000, factor: 2 };
    expect([1, 2, 3, 4, 5].map((retry) => backoffDelayMs(retry, options, () => 1))).toEqual([100, 200, 400, 800, 1_000]);
    expect(backoffDelayMs(3, options, () => 0)).toBe(200);
  });
});
