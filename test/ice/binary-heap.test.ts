import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BinaryHeap } from '../../src/ice/binary-heap.js';

describe('BinaryHeap', () => {
  it('pops in order for any sequence of pushes and pops (property)', () => {
    const op = fc.oneof(fc.integer({ min: -50, max: 50 }).map((n) => ({ push: n })), fc.constant({ pop: true as const }));
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const heap = new BinaryHeap<number>((a, b) => a > b);
        const model: number[] = [];
        for (const o of ops) {
          if ('push' in o) {
            heap.push(o.push);
            model.push(o.push);
            model.sort((a, b) => b - a);
          } else {
            expect(heap.pop()).toBe(model.shift());
          }
          expect(heap.size).toBe(model.length);
          expect(heap.peek()).toBe(model[0]);
        }
      }),
      { numRuns: 200 },
    );
  });
});
