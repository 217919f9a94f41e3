/** The exactly-once checker itself: it must see every kind of violation, and accept an announced reset. */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { SignalingClient } from '../../src/signaling/index.js';
import { ExactlyOnceChecker } from './exactly-once.js';

/** Stands in for two SignalingClients: send() on one emits a `result` message on the other. */
function fakePair(): { a: SignalingClient; b: SignalingClient; deliver(to: 'a' | 'b', n: number): void } {
  const a = new EventEmitter() as EventEmitter & { send: (payload: unknown) => number };
  const b = new EventEmitter() as EventEmitter & { send: (payload: unknown) => number };
  a.send = () => 0;
  b.send = () => 0;
  return {
    a: a as unknown as SignalingClient,
    b: b as unknown as SignalingClient,
    deliver(to, n) {
      (to === 'a' ? a : b).emit('message', { type: 'result', seq: n, result: { n, side: to === 'a' ? 'b' : 'a' } });
    },
  };
}

function scenario(received: number[], sent = 3): string[] {
  const checker = new ExactlyOnceChecker();
  const { a, b, deliver } = fakePair();
  checker.watch(a, 'r', 'a', 'b');
  checker.watch(b, 'r', 'b', 'a');
  for (let i = 0; i < sent; i++) checker.send(a, 'r', 'a');
  for (const n of received) deliver('b', n);
  return checker.check();
}

describe('ExactlyOnceChecker', () => {
  it('accepts every message once, in order', () => {
    expect(scenario([1, 2, 3])).toEqual([]);
  });
  it.each([
    ['a gap', [1, 3], /gap: got 3 after 1/],
    ['a duplicate', [1, 2, 2, 3], /duplicate or reordered: got 2 after 2/],
    ['reordering', [2, 1, 3], /gap: got 2 after 0/],
    ['a lost tail', [1, 2], /sent 1\.\.3, received \[1,2\]/],
  ])('finds %s', (_name, received, pattern) => {
    expect(scenario(received).join('\n')).toMatch(pattern);
  });
  it('accepts an explicit reset: numbering starts again and the lost session is not counted', () => {
    const checker = new ExactlyOnceChecker();
    const { a, b, deliver } = fakePair();
    checker.watch(a, 'r', 'a', 'b');
    checker.watch(b, 'r', 'b', 'a');
    checker.send(a, 'r', 'a');
    checker.send(a, 'r', 'a');
    deliver('b', 1);
    (a as unknown as EventEmitter).emit('reset', { reason: 'state-lost', dropped: 1, message: '' });
    checker.send(a, 'r', 'a');
    deliver('b', 1);
    expect(checker.check()).toEqual([]);
    expect(checker.resets()).toBe(2);
  });
});
