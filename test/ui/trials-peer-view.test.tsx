import { render } from 'ink-testing-library';
import { createElement } from 'react';
import { describe, expect, it } from 'vitest';
import type { PeerEvent } from '../../src/events.js';
import { buildPeerReport as buildReport } from '../../src/report/peer-report.js';
import { describePeerSession } from '../../src/peer/session-view.js';
import { PeerView } from '../../src/ui/PeerView.js';
import { initialPeerViewState, reducePeerEvent, withPeerReport } from '../../src/ui/peer-state.js';
import { connectedSession } from '../peer/trials-fixtures.js';

const events: PeerEvent[] = [
  { type: 'peer-phase', at: 0, trial: 0, phase: 'joined', room: 'lab', role: 'controlling' },
  { type: 'ice-candidate', at: 1, trial: 0, side: 'local', candidateType: 'host', address: '10.0.0.1:5000', priority: 2130706431 },
  { type: 'ice-candidate', at: 1, trial: 0, side: 'local', candidateType: 'srflx', address: '203.0.113.1:5000', priority: 1694498815 },
  { type: 'ice-candidate', at: 1, trial: 0, side: 'local', candidateType: 'host', address: '10.0.0.1:5000', priority: 2130706431 }, // repeated
  { type: 'ice-candidate', at: 2, trial: 0, side: 'remote', candidateType: 'srflx', address: '203.0.113.2:6000', priority: 1694498815 },
  { type: 'ice-state', at: 3, trial: 0, state: 'checking' },
  { type: 'ice-pair', at: 3, trial: 0, pairId: 'a', local: '10.0.0.1:5000', remote: '203.0.113.2:6000', localType: 'host', remoteType: 'srflx', state: 'in-progress', attempts: 1 },
  { type: 'ice-check-sent', at: 3, trial: 0, pairId: 'a', attempt: 1, triggered: false, useCandidate: false, rtoMs: 500 },
  { type: 'ice-pair', at: 4, trial: 0, pairId: 'b', local: '203.0.113.1:5000', remote: '203.0.113.2:6000', localType: 'srflx', remoteType: 'srflx', state: 'failed', attempts: 7, failureReason: 'timeout' },
  { type: 'ice-pair', at: 5, trial: 0, pairId: 'a', local: '10.0.0.1:5000', remote: '203.0.113.2:6000', localType: 'host', remoteType: 'srflx', state: 'succeeded', attempts: 2, rttMs: 1.25, nominated: true },
  { type: 'ice-selected-pair', at: 5, trial: 0, pairId: 'a', local: '10.0.0.1:5000', remote: '203.0.113.2:6000', localType: 'host', remoteType: 'srflx', nominated: true, rttMs: 1.25, timeToConnectMs: 5 },
  { type: 'ice-state', at: 6, trial: 0, state: 'connected', selectedPairId: 'a' },
];

/** The report as `nat-probe peer` builds it: from the session and the engine's view of it. */
const buildPeerReport = (session: Parameters<typeof buildReport>[0], meta: Parameters<typeof buildReport>[2]) => buildReport(session, describePeerSession(session), meta);

describe('peer-state reducer', () => {
  it('lists candidates once, keeps pairs in first-seen order with their latest state, and tracks the selection', () => {
    const state = events.reduce(reducePeerEvent, initialPeerViewState());
    expect(state.candidates).toHaveLength(3);
    expect(state.pairs.map((p) => [p.pairId, p.state, p.attempts])).toEqual([
      ['a', 'succeeded', 2],
      ['b', 'failed', 7],
    ]);
    expect(state).toMatchObject({ iceState: 'connected', selectedPairId: 'a', phase: 'joined', role: 'controlling', checksSent: 1, elapsedMs: 6 });
  });
});

describe('PeerView', () => {
  it('shows candidates and the pair table live, with states, RTTs and attempts', () => {
    const state = events.reduce(reducePeerEvent, initialPeerViewState());
    const { lastFrame, unmount } = render(createElement(PeerView, { state }));
    const frame = lastFrame()!;
    expect(frame).toContain('ICE connected');
    expect(frame).toContain('Local candidates (2)');
    expect(frame).toContain('Remote candidates (1)');
    expect(frame).toMatch(/host\/srflx\s+10\.0\.0\.1:5000\s+203\.0\.113\.2:6000\s+succeeded ★\s+1\.3 ms\s+2/);
    expect(frame).toMatch(/srflx\/srflx.*failed\s+—\s+7 timeout/);
    unmount();
  });

  it('ends with the verdict from the report', () => {
    const report = buildPeerReport({ ...connectedSession({ ttc: 4 }), room: 'lab' }, { version: '0', startedAt: new Date(0), durationMs: 9, mode: 'connect' });
    const { lastFrame, unmount } = render(createElement(PeerView, { state: withPeerReport(initialPeerViewState(), report) }));
    expect(lastFrame()).toContain('Connected in 4.0 ms over host/host 127.0.0.1:40000 → 127.0.0.1:40001');
    unmount();
  });
});
