/** The peer live view folds traversal events: the plan, a progress bar while a strategy runs, how it ended, and the winner in the verdict. */
import { render } from 'ink-testing-library';
import { createElement } from 'react';
import { describe, expect, it } from 'vitest';
import type { PeerEvent } from '../../src/events.js';
import { describePeerSession } from '../../src/peer/session-view.js';
import { buildPeerReport } from '../../src/report/peer-report.js';
import { PeerView } from '../../src/ui/PeerView.js';
import { initialPeerViewState, reducePeerEvent, withPeerReport } from '../../src/ui/peer-state.js';
import { initialTrialsViewState, reduceTrialsEvent } from '../../src/ui/trials-state.js';
import { TrialsView } from '../../src/ui/TrialsView.js';
import { BIRTHDAY_ATTEMPT, BIRTHDAY_PLAN, birthdayEvents, birthdaySession, LOCAL_BEHAVIOUR, REMOTE_BEHAVIOUR } from '../report/traversal-fixtures.js';

function frameOf(element: ReturnType<typeof createElement>): string {
  const { lastFrame, unmount } = render(element);
  const frame = lastFrame() ?? '';
  unmount();
  return frame;
}

describe('peer-state: traversal events', () => {
  it('starts with no plan and no strategies', () => {
    expect(initialPeerViewState()).toMatchObject({ plan: undefined, strategies: [] });
  });

  it('keeps the plan and behaviours, then each strategy’s progress against its budget, then how it ended', () => {
    const [plan, first, second, done] = birthdayEvents();
    let state = reducePeerEvent(initialPeerViewState(), plan!);
    expect(state.plan).toEqual({ plan: BIRTHDAY_PLAN, local: LOCAL_BEHAVIOUR, remote: REMOTE_BEHAVIOUR });
    expect(state.elapsedMs).toBe(110);
    state = reducePeerEvent(state, first!);
    state = reducePeerEvent(state, second!);
    expect(state.strategies).toEqual([{ strategy: 'birthday', probesSent: 256, budget: 1024, socketsOpened: 0, done: undefined }]);
    state = reducePeerEvent(state, done!);
    expect(state.strategies).toEqual([{ strategy: 'birthday', probesSent: 300, budget: 1024, socketsOpened: 0, done: BIRTHDAY_ATTEMPT }]);
    expect(state.elapsedMs).toBe(1320);
  });

  it('lists strategies in the order they started; a done without progress still gets a row', () => {
    const events: PeerEvent[] = [
      { type: 'traversal-progress', at: 1, trial: 0, strategy: 'predict', probesSent: 64, budget: 100, socketsOpened: 0 },
      { type: 'traversal-done', at: 2, trial: 0, attempt: { ...BIRTHDAY_ATTEMPT, hit: false, stopReason: 'refused' } },
      { type: 'traversal-progress', at: 3, trial: 0, strategy: 'predict', probesSent: 100, budget: 100, socketsOpened: 0 },
    ];
    const state = events.reduce(reducePeerEvent, initialPeerViewState());
    expect(state.strategies.map((s) => [s.strategy, s.probesSent, s.budget, s.done?.stopReason])).toEqual([
      ['predict', 100, 100, undefined],
      ['birthday', 300, undefined, 'refused'],
    ]);
  });

  it('the trials dashboard folds the watched trial’s traversal events and counts winners from trial-done', () => {
    let state = reduceTrialsEvent(initialTrialsViewState(2), { type: 'trial-started', at: 0, trial: 1 });
    for (const event of birthdayEvents(1).slice(0, 2)) state = reduceTrialsEvent(state, event);
    expect(state.watched?.plan?.plan.technique).toBe('birthday');
    expect(state.watched?.strategies[0]).toMatchObject({ strategy: 'birthday', probesSent: 64, budget: 1024 });
    state = reduceTrialsEvent(state, { type: 'trial-done', at: 9, trial: 1, connected: true, timeToConnectMs: 1300, pairType: 'srflx/prflx', winner: 'birthday', finished: 1, planned: 2, succeeded: 1 });
    expect(state.winners).toEqual({ birthday: 1 });
    const frame = frameOf(createElement(TrialsView, { state }));
    expect(frame).toContain('won by: birthday 1');
    expect(frame).toContain('Traversal birthday');
  });
});

describe('PeerView: traversal', () => {
  it('shows the plan with its reason and a progress bar for the running strategy', () => {
    const [plan, first, second] = birthdayEvents();
    const state = [plan!, first!, second!].reduce(reducePeerEvent, initialPeerViewState());
    const frame = frameOf(createElement(PeerView, { state }));
    expect(frame).toContain('Traversal birthday · this side probes, the other opens · P≈98.8%');
    expect(frame).toContain('the other side maps per destination with random ports');
    // 256 of 1024 probes: a quarter of the 20-cell bar.
    expect(frame).toMatch(/birthday █{5}░{15} 256\/1024 probes · 0 sockets/);
  });

  it('replaces the bar with how the strategy ended, and names the winning path in the verdict', () => {
    const state = birthdayEvents().reduce(reducePeerEvent, initialPeerViewState());
    const session = birthdaySession();
    const report = buildPeerReport({ ...session, room: 'lab' }, describePeerSession(session), { version: '0', startedAt: new Date(0), durationMs: 1400, mode: 'connect' });
    const frame = frameOf(createElement(PeerView, { state: withPeerReport(state, report) }));
    expect(frame).not.toContain('░');
    expect(frame).toContain('birthday (probes): 300 probes, 0 sockets, hit · stopped: hit');
    expect(frame).toContain('Path won by birthday probing (birthday) (a prflx path)');
  });

  it('shows nothing about traversal without --strategy', () => {
    const frame = frameOf(createElement(PeerView, { state: initialPeerViewState() }));
    expect(frame).not.toContain('Traversal');
  });
});
