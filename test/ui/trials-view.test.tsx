import { render } from 'ink-testing-library';
import { createElement } from 'react';
import { describe, expect, it } from 'vitest';
import type { PeerEvent, SourcedPeerEvent, TrialEvent } from '../../src/events.js';
import { buildTrialsReport } from '../../src/report/trials-report.js';
import { TrialsView } from '../../src/ui/TrialsView.js';
import { initialTrialsViewState, MAX_SAMPLES, reduceTrialsEvent, withTrialsReport } from '../../src/ui/trials-state.js';
import { sampleResult } from '../report/trials-fixtures.js';

const started = (trial: number, at = trial): TrialEvent => ({ type: 'trial-started', at, trial });
function done(trial: number, finished: number, succeeded: number, fields: Partial<Extract<TrialEvent, { type: 'trial-done' }>> = {}): TrialEvent {
  return { type: 'trial-done', at: 10 * trial, trial, connected: true, timeToConnectMs: 2 + trial, pairType: 'host/host', finished, planned: 4, succeeded, ...fields };
}
const candidate = (trial: number, side: 'local' | 'remote', address: string): PeerEvent => ({ type: 'ice-candidate', at: 1, trial, side, candidateType: 'host', address, priority: 2130706431 });
const pairEvent = (trial: number, state: 'in-progress' | 'succeeded', rttMs?: number): PeerEvent => ({
  type: 'ice-pair',
  at: 2,
  trial,
  pairId: 'p1',
  local: '127.0.0.1:5000',
  remote: '127.0.0.1:6000',
  localType: 'host',
  remoteType: 'host',
  state,
  attempts: 1,
  rttMs,
});

describe('trials-state reducer', () => {
  it('counts progress, successes, pair types and failure reasons', () => {
    const events: TrialEvent[] = [started(1), started(2), done(1, 1, 1), done(2, 2, 1, { connected: false, timeToConnectMs: undefined, pairType: undefined, failureReason: 'timeout' }), started(3)];
    const state = events.reduce(reduceTrialsEvent, initialTrialsViewState(4));
    expect(state).toMatchObject({ planned: 4, started: 3, finished: 2, succeeded: 1, inFlight: [3], timesToConnectMs: [3], pairTypes: { 'host/host': 1 }, failureReasons: { timeout: 1 } });
    expect(state.recent.map((r) => r.trial)).toEqual([1, 2]);
  });

  it('watches one trial until it ends, then follows the next one started', () => {
    let state = initialTrialsViewState(4);
    for (const event of [started(1), started(2), candidate(1, 'local', '127.0.0.1:5000'), candidate(2, 'local', '127.0.0.1:7000'), pairEvent(1, 'in-progress')]) {
      state = reduceTrialsEvent(state, event);
    }
    expect(state.watched?.trial).toBe(1);
    expect(state.watched?.candidates.map((c) => c.address)).toEqual(['127.0.0.1:5000']);
    state = reduceTrialsEvent(state, pairEvent(1, 'succeeded', 0.3));
    expect(state.watched?.pairs).toHaveLength(1);
    expect(state.watched?.pairs[0]).toMatchObject({ state: 'succeeded', rttMs: 0.3 });
    state = reduceTrialsEvent(state, done(1, 1, 1));
    expect(state.watched?.trial).toBe(1); // still shown until another trial starts
    state = reduceTrialsEvent(state, started(3));
    expect(state.watched?.trial).toBe(3);
    expect(state.watched?.candidates).toEqual([]);
  });

  it('shows both peers of the watched trial, each from its own events (peer 0 and 1)', () => {
    const events: Array<TrialEvent | SourcedPeerEvent> = [
      started(1),
      { ...candidate(1, 'local', '127.0.0.1:5000'), peer: 0 },
      { ...candidate(1, 'local', '127.0.0.1:6000'), peer: 1 },
      { type: 'peer-phase', at: 1, trial: 1, peer: 0, phase: 'joined', room: 'r', role: 'controlling' },
      { type: 'peer-phase', at: 1, trial: 1, peer: 1, phase: 'joined', room: 'r', role: 'controlled' },
      { type: 'peer-done', at: 3, trial: 1, peer: 0, connected: true, timeToConnectMs: 3, selectedPairType: 'host/host' },
      { type: 'peer-done', at: 4, trial: 1, peer: 1, connected: false, failureReason: 'timeout' },
    ];
    const state = events.reduce(reduceTrialsEvent, initialTrialsViewState(1));
    expect(state.watched?.candidates.map((c) => c.address)).toEqual(['127.0.0.1:5000']);
    expect(state.watchedOther?.candidates.map((c) => c.address)).toEqual(['127.0.0.1:6000']);
    const { lastFrame, unmount } = render(createElement(TrialsView, { state }));
    const frame = lastFrame()!;
    expect(frame).toMatch(/peer 1 · connected in 3\.0 ms · controlling/);
    expect(frame).toMatch(/peer 2 · not connected: timeout · controlled/);
    unmount();
  });

  it('keeps a bounded number of time-to-connect samples', () => {
    let state = initialTrialsViewState(MAX_SAMPLES + 10);
    for (let i = 1; i <= MAX_SAMPLES + 10; i++) state = reduceTrialsEvent(state, done(i, i, i, { timeToConnectMs: i }));
    expect(state.timesToConnectMs).toHaveLength(MAX_SAMPLES);
    expect(state.timesToConnectMs[0]).toBe(11);
  });
});

describe('TrialsView', () => {
  it('shows progress, success rate with its interval, the histogram and the live pair table', () => {
    const events: Array<TrialEvent | PeerEvent> = [
      started(1),
      started(2),
      done(1, 1, 1, { timeToConnectMs: 2 }),
      started(3),
      done(2, 2, 2, { timeToConnectMs: 8 }),
      candidate(3, 'local', '127.0.0.1:5000'),
      candidate(3, 'remote', '127.0.0.1:6000'),
      pairEvent(3, 'succeeded', 0.25),
    ];
    const state = events.reduce(reduceTrialsEvent, initialTrialsViewState(4));
    const { lastFrame, unmount } = render(createElement(TrialsView, { state }));
    const frame = lastFrame()!;
    expect(frame).toContain('nat-probe trials · 2/4 done · 1 in flight');
    expect(frame).toContain('2/4'); // progress bar
    expect(frame).toContain('Success 100% (2/2) · 95% CI 34.2%–100%');
    expect(frame).toContain('Time to connect');
    expect(frame).toMatch(/2\.0–3\.0 ms █+ 1/);
    expect(frame).toMatch(/7\.0–8\.0 ms █+ 1/);
    expect(frame).toContain('Trial 3');
    expect(frame).toContain('Local candidates (1)');
    expect(frame).toMatch(/host\/host\s+127\.0\.0\.1:5000\s+127\.0\.0\.1:6000\s+succeeded\s+0\.3 ms/);
    unmount();
  });

  it('keeps the last watched trial on screen with its verdict once its session is over', () => {
    const events: Array<TrialEvent | PeerEvent> = [
      started(1),
      pairEvent(1, 'succeeded', 0.25),
      { type: 'ice-state', at: 3, trial: 1, state: 'closed' },
      { type: 'peer-done', at: 3, trial: 1, connected: true, timeToConnectMs: 3, selectedPairType: 'host/host' },
      done(1, 1, 1),
    ];
    const state = events.reduce(reduceTrialsEvent, initialTrialsViewState(1));
    const { lastFrame, unmount } = render(createElement(TrialsView, { state }));
    expect(lastFrame()).toContain('Trial 1 · done');
    expect(lastFrame()).toContain('peer 1 · connected in 3.0 ms');
    expect(lastFrame()).not.toContain('ICE closed');
    unmount();
  });

  it('shows the summary when the run ends', () => {
    const report = buildTrialsReport(sampleResult(), { version: '0', minSuccess: 0.95 });
    const state = withTrialsReport(initialTrialsViewState(10), report);
    const { lastFrame, unmount } = render(createElement(TrialsView, { state }));
    const frame = lastFrame()!;
    expect(frame).toContain('Summary: 80.0% connected (8/10), 95% CI 49.0%–94.3%');
    expect(frame).toContain('below --min-success 95.0%');
    expect(frame).toContain('Time to connect p50 3 ms · p95 4.3 ms · p99 4.3 ms');
    expect(frame).toContain('By pair type: host/host 6, srflx/srflx 2');
    expect(frame).toContain('timeout × 1');
    unmount();
  });
});
