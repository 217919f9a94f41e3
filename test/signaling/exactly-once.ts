/**
 * The exactly-once checker for fault tests. Every application send and receive is recorded per
 * room and direction; check() then asserts, for each direction, that what reached the receiving
 * application is exactly what was sent, in order: no gap, no duplicate, no reordering, unless an
 * explicit reset (the client's `reset` event) was recorded, after which numbering starts again.
 *
 * Senders number their messages themselves (1, 2, 3… per session of a direction) inside the
 * payload, independent of the protocol's seq, so the check sees what the application sees.
 */
import type { SignalingClient } from '../../src/signaling/index.js';

interface Direction {
  /** Numbers sent in the current session of this direction (after the last reset). */
  sent: number;
  /** What the receiving application got, since the last reset. */
  received: number[];
  resets: number;
  /** Problems seen as they happened (a duplicate or gap is reported with its context). */
  problems: string[];
}

export class ExactlyOnceChecker {
  private readonly directions = new Map<string, Direction>();

  private direction(room: string, from: string): Direction {
    const key = `${room} ${from}→`;
    let direction = this.directions.get(key);
    if (direction === undefined) {
      direction = { sent: 0, received: [], resets: 0, problems: [] };
      this.directions.set(key, direction);
    }
    return direction;
  }

  /** Sends the next numbered message from `side` in `room` and records it. */
  send(client: SignalingClient, room: string, side: string): void {
    const direction = this.direction(room, side);
    const n = direction.sent + 1;
    client.send({ type: 'result', result: { n, side } });
    direction.sent = n;
  }

  /** Records every `result` this client's application receives from the other side. */
  watch(client: SignalingClient, room: string, side: string, other: string): void {
    client.on('message', (message) => {
      if (message.type !== 'result') return;
      const { n, side: from } = message.result as { n: number; side: string };
      if (from !== other) return;
      const direction = this.direction(room, from);
      const last = direction.received.at(-1) ?? 0;
      if (n <= last) direction.problems.push(`duplicate or reordered: got ${n} after ${last}`);
      else if (n !== last + 1) direction.problems.push(`gap: got ${n} after ${last}`);
      direction.received.push(n);
    });
    // A reset ends both directions of the room's session: neither side's numbering carries on.
    client.on('reset', () => this.reset(room, [side, other]));
  }

  /** Both directions of a room start over (an explicit, announced reset). */
  reset(room: string, sides: readonly string[]): void {
    for (const side of sides) {
      const direction = this.direction(room, side);
      direction.sent = 0;
      direction.received = [];
      direction.resets++;
      direction.problems = [];
    }
  }

  /** True when every direction received all it was sent. */
  complete(): boolean {
    for (const direction of this.directions.values()) if (direction.received.length !== direction.sent) return false;
    return true;
  }

  /** Problems found: an empty list means exactly once, in order, everywhere. */
  check(): string[] {
    const problems: string[] = [];
    for (const [key, direction] of this.directions) {
      for (const problem of direction.problems) problems.push(`${key}: ${problem}`);
      const expected = Array.from({ length: direction.sent }, (_, i) => i + 1);
      if (direction.received.length !== expected.length || direction.received.some((n, i) => n !== expected[i])) {
        problems.push(`${key}: sent 1..${direction.sent}, received [${summarise(direction.received)}]`);
      }
    }
    return problems;
  }

  /** Resets recorded, summed over directions. */
  resets(): number {
    let total = 0;
    for (const direction of this.directions.values()) total += direction.resets;
    return total;
  }

  get size(): number {
    return this.directions.size;
  }
}

function summarise(numbers: readonly number[]): string {
  return numbers.length <= 12 ? numbers.join(',') : `${numbers.slice(0, 5).join(',')},…(${numbers.length})…,${numbers.slice(-5).join(',')}`;
}
