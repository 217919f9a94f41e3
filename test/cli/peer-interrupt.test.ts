import { afterEach, describe, expect, it } from 'vitest';
import { interruptSignal } from '../../src/cli/commands/peer.js';

describe('interruptSignal', () => {
  let dispose: (() => void) | undefined;
  afterEach(() => dispose?.());

  it('aborts on the first SIGINT, keeps its handler installed until disposed, then removes it', () => {
    const before = process.listenerCount('SIGINT');
    const interrupt = interruptSignal();
    dispose = interrupt.dispose;
    expect(process.listenerCount('SIGINT')).toBe(before + 1);
    // Only one emit: a second would (rightly) re-raise the signal and end the test process.
    process.emit('SIGINT', 'SIGINT');
    expect(interrupt.signal.aborted).toBe(true);
    expect(interrupt.signal.reason).toBe('SIGINT');
    // Still installed, so another library's exit hook does not take the first signal as unhandled.
    expect(process.listenerCount('SIGINT')).toBe(before + 1);
    interrupt.dispose();
    expect(process.listenerCount('SIGINT')).toBe(before);
  });

  it('aborts on SIGTERM too', () => {
    const interrupt = interruptSignal();
    dispose = interrupt.dispose;
    process.emit('SIGTERM', 'SIGTERM');
    expect(interrupt.signal.aborted).toBe(true);
  });
});
