/** The peer live view shows each TURN allocation, or why it failed, from peer-relay events. */
import { render } from 'ink-testing-library';
import { createElement } from 'react';
import { describe, expect, it } from 'vitest';
import type { PeerEvent } from '../../src/events.js';
import { PeerView } from '../../src/ui/PeerView.js';
import { initialPeerViewState, reducePeerEvent } from '../../src/ui/peer-state.js';

const events: PeerEvent[] = [
  { type: 'peer-relay', at: 3, trial: 0, server: 'turn:203.0.113.1:3478?transport=udp', source: 'options', state: 'allocated', relayed: '203.0.113.1:50000', mapped: '198.51.100.2:4000', allocateMs: 2.5 },
  { type: 'peer-relay', at: 4, trial: 0, server: 'turn:203.0.113.9:3478?transport=tcp', source: 'signaling', state: 'failed', errorCode: 'turn-auth-failed', message: 'Wrong credentials.' },
];

describe('PeerView: TURN allocations', () => {
  it('folds peer-relay events into the state and shows both outcomes', () => {
    const state = events.reduce(reducePeerEvent, initialPeerViewState());
    expect(state.relays.map((r) => [r.server, r.state])).toEqual([
      ['turn:203.0.113.1:3478?transport=udp', 'allocated'],
      ['turn:203.0.113.9:3478?transport=tcp', 'failed'],
    ]);
    expect(state.elapsedMs).toBe(4);
    const { lastFrame, unmount } = render(createElement(PeerView, { state }));
    const frame = lastFrame() ?? '';
    unmount();
    expect(frame).toContain('relayed 203.0.113.1:50000 in 2.5 ms');
    expect(frame).toContain('failed (turn-auth-failed): Wrong credentials.');
  });
});
