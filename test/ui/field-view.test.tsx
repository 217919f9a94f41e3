/** The field live view: the link, then each visit from its events (browser, pairs, mapping, the sentence). */
import { render } from 'ink-testing-library';
import { createElement } from 'react';
import { describe, expect, it } from 'vitest';
import type { FieldEvent } from '../../src/field/events.js';
import { FieldView } from '../../src/ui/FieldView.js';
import { FIELD_VIEW_VISITS, initialFieldViewState, reduceFieldEvent } from '../../src/ui/field-state.js';

const gather = { hostCandidates: 1, srflxCandidates: 2, relayCandidates: 0, mdnsHidden: true, hostHidden: false, mapping: 'endpoint-dependent' as const, mappingDetail: 'one socket was seen as 198.51.100.7:40000 and 198.51.100.7:40001 by different servers', stunAnswered: [], relayTransports: [] };
const ice = { connected: true, finalState: 'connected', connectedMs: 80, selectedPairType: 'srflx/host', selectedPair: '198.51.100.7:40000 -> 203.0.113.5:5000', selectedRttMs: 21.5, relayProtocol: null, pairs: [] };

const events: FieldEvent[] = [
  { type: 'field-listening', at: 0, link: 'http://203.0.113.5:8480/p/AAAAAAAAAAAAAAAAAAAAAA', expiresAt: '2026-12-07T12:00:00.000Z', visits: 1 },
  { type: 'field-visit-started', at: 5, visit: 'v1', browser: 'Firefox 133', os: 'Windows', natProbeRole: 'controlled' },
  { type: 'field-peer', at: 6, visit: 'v1', event: { type: 'ice-candidate', at: 1, trial: 0, side: 'local', candidateType: 'host', address: '203.0.113.5:5000', priority: 1 } },
  { type: 'field-peer', at: 7, visit: 'v1', event: { type: 'ice-pair', at: 2, trial: 0, pairId: 'p1', local: '203.0.113.5:5000', remote: '198.51.100.7:40000', localType: 'host', remoteType: 'srflx', state: 'succeeded', attempts: 1, rttMs: 20.04 } },
  { type: 'field-peer', at: 8, visit: 'v1', event: { type: 'ice-pair', at: 3, trial: 0, pairId: 'p2', local: '203.0.113.5:5000', remote: '10.0.0.4:5000', localType: 'host', remoteType: 'host', state: 'failed', attempts: 7, failureReason: 'timeout' } },
  { type: 'field-browser', at: 9, visit: 'v1', userAgent: 'ua', gather, ice },
  { type: 'field-visit-ended', at: 10, visit: 'v1', reason: 'complete', result: { code: 'direct', sentence: 'Direct connections work from your network: calls should connect without help.' } },
  { type: 'field-refused', at: 11, status: 404, why: 'unknown, used or expired link' },
];

describe('FieldView', () => {
  it('shows the link, the visit with its pairs, the browser-side mapping and mDNS, and the sentence', () => {
    const state = events.reduce(reduceFieldEvent, initialFieldViewState());
    expect(state.visits[0]!.pairs.map((p) => p.state)).toEqual(['succeeded', 'failed']);
    const { lastFrame, unmount } = render(createElement(FieldView, { state }));
    const frame = lastFrame() ?? '';
    unmount();
    expect(frame).toContain('http://203.0.113.5:8480/p/AAAAAAAAAAAAAAAAAAAAAA');
    expect(frame).toContain('v1 Firefox 133 on Windows');
    expect(frame).toContain('nat-probe ICE-controlled · ended');
    expect(frame).toContain('mapping endpoint-dependent');
    expect(frame).toContain('mDNS hides host addresses');
    expect(frame).toContain('host/srflx');
    expect(frame).toContain('20.0 ms');
    expect(frame).toContain('(timeout)');
    expect(frame).toContain('Direct connections work from your network');
    expect(frame).toContain('1 request(s) refused');
  });

  it('keeps the last visits only', () => {
    const many: FieldEvent[] = Array.from({ length: FIELD_VIEW_VISITS + 2 }, (_, i) => ({ type: 'field-visit-started', at: i, visit: `v${i + 1}`, browser: 'Chrome 1', os: 'Linux', natProbeRole: 'controlling' }));
    const state = many.reduce(reduceFieldEvent, initialFieldViewState());
    expect(state.visits.map((v) => v.id)).toEqual(['v3', 'v4', 'v5', 'v6']);
  });
});
