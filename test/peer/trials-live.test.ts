/**
 * runTrials with real peer sessions (src/peer/session.ts) against the built-in signaling and
 * STUN servers on loopback: what `nat-probe trials` and `npm start` run.
 */
import { startBuiltInServers } from '../../src/cli/embedded-servers.js';
import { describe, expect, it } from 'vitest';
import type { PeerEvent, TrialEvent } from '../../src/events.js';
import { runTrials } from '../../src/peer/trials.js';
import { systemClock, SystemClock } from '../../src/transport/clock.js';

function handleCounts(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}
const clockTimers = (): number => (systemClock as SystemClock).pendingTimers;

/** Handle kinds of which there are more now than in `before`. */
function newHandles(before: Record<string, number>): Record<string, number> {
  const extra: Record<string, number> = {};
  for (const [kind, count] of Object.entries(handleCounts())) if (count > (before[kind] ?? 0)) extra[kind] = count - (before[kind] ?? 0);
  return extra;
}

/**
 * Node emits 'close' for sockets and servers a tick before libuv has released the handle (it
 * goes in the loop's close phase), so give the loop a bounded number of turns to get there.
 */
async function untilNoNewHandles(before: Record<string, number>, turns = 10): Promise<Record<string, number>> {
  let extra = newHandles(before);
  for (let turn = 0; turn < turns && Object.keys(extra).length > 0; turn++) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    extra = newHandles(before);
  }
  return extra;
}

describe('runTrials with real peer sessions on loopback', () => {
  it('connects every pairing, reports pair types and times, and leaves no socket or timer behind', async () => {
    const handlesBefore = handleCounts();
    const timersBefore = clockTimers();
    const events: Array<TrialEvent | PeerEvent> = [];
    const result = await runTrials({ embeddedServers: startBuiltInServers, runs: 6, concurrency: 3, bindAddress: '127.0.0.1', timeoutMs: 5000, onEvent: (e) => events.push(e) });

    expect(result.summary).toMatchObject({ runs: 6, succeeded: 6, successRate: 1, failureReasons: [] });
    expect(result.summary.byPairType).toEqual([{ pairType: 'host/host', trials: 6, share: 1 }]);
    expect(result.summary.timeToConnectMs?.count).toBe(6);
    for (const outcome of result.outcomes) {
      expect(outcome.selectedPair?.local).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(outcome.peers.map((p) => p.role).sort()).toEqual(['controlled', 'controlling']);
      expect(outcome.timeToConnectMs).toBeGreaterThan(0);
    }
    // Six rooms, each used by one pairing.
    expect(new Set(result.outcomes.map((o) => o.room)).size).toBe(6);

    // The first peer's events arrive tagged with their trial, inside that trial's start and end.
    const candidates = events.filter((e): e is Extract<PeerEvent, { type: 'ice-candidate' }> => e.type === 'ice-candidate');
    expect(new Set(candidates.map((e) => e.trial))).toEqual(new Set([1, 2, 3, 4, 5, 6]));
    for (const trial of [1, 2, 3, 4, 5, 6]) {
      const start = events.find((e) => e.type === 'trial-started' && e.trial === trial)!;
      const end = events.find((e) => e.type === 'trial-done' && e.trial === trial)!;
      const own = events.filter((e) => e.type !== 'trial-started' && e.type !== 'trial-done' && e.trial === trial);
      expect(own.length).toBeGreaterThan(0);
      expect(own.every((e) => e.at >= start.at && e.at <= end.at)).toBe(true);
    }

    // Servers closed and sessions cleaned up: no new handles, no armed timers.
    expect(await untilNoNewHandles(handlesBefore)).toEqual({});
    expect(clockTimers()).toBe(timersBefore);
  });

  it('in survey mode checks every pair, and counts them by type', async () => {
    const result = await runTrials({ embeddedServers: startBuiltInServers, runs: 2, concurrency: 2, mode: 'survey', bindAddress: '127.0.0.1', timeoutMs: 5000, peerEvents: false });
    expect(result.summary.successRate).toBe(1);
    const hostPairs = result.summary.pairChecks.find((row) => row.pairType === 'host/host');
    expect(hostPairs).toBeDefined();
    expect(hostPairs!.succeeded).toBe(hostPairs!.checked);
    for (const outcome of result.outcomes) {
      expect(outcome.pairs.every((p) => p.state === 'succeeded')).toBe(true);
    }
  });
});
