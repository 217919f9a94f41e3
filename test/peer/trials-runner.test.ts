import { startBuiltInServers } from '../../src/cli/embedded-servers.js';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { PeerEvent, SourcedPeerEvent, TrialEvent, TrialDoneEvent } from '../../src/events.js';
import { runTrials, type PeerSessionRunner, type TrialSessionOptions } from '../../src/peer/trials.js';
import { FakeClock } from '../../src/transport/fake-clock.js';
import { withinMs } from '../helpers/events.js';
import { connectedSession, failedSession } from './trials-fixtures.js';

/**
 * A fake pairing: each session waits until the other session of its room has started, as real
 * peers wait for each other on the signaling server. It records how many rooms are live at once.
 */
function pairingSessions(decide: (room: string) => 'connect' | 'fail' = () => 'connect') {
  const waiting = new Map<string, () => void>();
  const live = new Set<string>();
  const calls: TrialSessionOptions[] = [];
  let maxLive = 0;
  const run: PeerSessionRunner = async (options) => {
    calls.push(options);
    live.add(options.room);
    maxLive = Math.max(maxLive, live.size);
    const other = waiting.get(options.room);
    if (other) {
      waiting.delete(options.room);
      other();
    } else {
      await new Promise<void>((resolve) => waiting.set(options.room, resolve));
    }
    options.onEvent?.({ type: 'ice-state', at: 2, trial: 0, state: 'connected', selectedPairId: 'p1' });
    await Promise.resolve();
    live.delete(options.room);
    return decide(options.room) === 'connect' ? connectedSession({ ttc: 3 }) : failedSession([]);
  };
  return { run, calls, maxLive: () => maxLive };
}

describe('runTrials', () => {
  it('runs N pairings of two sessions each, in rooms of their own, at most C at once', async () => {
    const fake = pairingSessions();
    const events: Array<TrialEvent | PeerEvent> = [];
    const result = await runTrials({ runs: 10, concurrency: 3, signalUrl: 'ws://127.0.0.1:1/', runSession: fake.run, onEvent: (e) => events.push(e) });
    expect(fake.calls).toHaveLength(20);
    const rooms = new Set(fake.calls.map((c) => c.room));
    expect(rooms.size).toBe(10);
    expect(fake.maxLive()).toBe(3);
    expect(result.outcomes.map((o) => o.trial)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(result.summary.successRate).toBe(1);
    expect(result.aborted).toBe(false);
    expect(result.config).toMatchObject({ runs: 10, concurrency: 3, mode: 'connect', signalUrl: 'ws://127.0.0.1:1/', builtInServers: false });
    // Given a signaling URL and no STUN server, peers get none.
    expect(fake.calls.every((c) => c.stunServer === undefined)).toBe(true);

    const done = events.filter((e): e is TrialDoneEvent => e.type === 'trial-done');
    expect(events.filter((e) => e.type === 'trial-started')).toHaveLength(10);
    expect(done.map((e) => e.finished)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(done.at(-1)).toMatchObject({ planned: 10, succeeded: 10, connected: true, pairType: 'host/host', timeToConnectMs: 3 });
  });

  it('forwards both peers’ session events, tagged with the trial number and which peer sent them', async () => {
    const fake = pairingSessions();
    const events: Array<TrialEvent | SourcedPeerEvent> = [];
    await runTrials({ runs: 4, concurrency: 2, signalUrl: 'ws://127.0.0.1:1/', runSession: fake.run, onEvent: (e) => events.push(e) });
    const ice = events.filter((e): e is SourcedPeerEvent => e.type === 'ice-state');
    expect(ice.map((e) => `${e.trial}:${e.peer}`).sort()).toEqual(['1:0', '1:1', '2:0', '2:1', '3:0', '3:1', '4:0', '4:1']);
    // A trial's ice events come between its start and its end.
    for (const event of ice) {
      const started = events.findIndex((e) => e.type === 'trial-started' && e.trial === event.trial);
      const ended = events.findIndex((e) => e.type === 'trial-done' && e.trial === event.trial);
      expect(started).toBeLessThan(events.indexOf(event));
      expect(events.indexOf(event)).toBeLessThan(ended);
    }
  });

  it('passes mode, timeout, token and STUN server to every session', async () => {
    const fake = pairingSessions();
    await runTrials({ runs: 2, concurrency: 2, signalUrl: 'ws://x/', token: 's3cret', mode: 'survey', timeoutMs: 1234, stunServer: { address: '127.0.0.1', port: 3478 }, runSession: fake.run });
    for (const call of fake.calls) {
      expect(call).toMatchObject({ signalUrl: 'ws://x/', token: 's3cret', mode: 'survey', timeoutMs: 1234, stunServer: { address: '127.0.0.1', port: 3478 } });
    }
  });

  it('counts failed trials and their reasons', async () => {
    const fake = pairingSessions((room) => (room.endsWith('-2') || room.endsWith('-4') ? 'fail' : 'connect'));
    const result = await runTrials({ runs: 5, concurrency: 5, signalUrl: 'ws://x/', runSession: fake.run });
    expect(result.summary.succeeded).toBe(3);
    expect(result.outcomes.filter((o) => !o.connected).map((o) => o.trial)).toEqual([2, 4]);
    expect(result.summary.failureReasons).toEqual([{ reason: 'no-candidate-pairs', count: 2 }]);
  });

  it('starts the injected built-in servers when no URL is given, and closes them after', async () => {
    const fake = pairingSessions();
    const result = await runTrials({ runs: 2, concurrency: 2, runSession: fake.run, embeddedServers: startBuiltInServers });
    expect(result.config.builtInServers).toBe(true);
    expect(result.config.signalUrl).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/$/);
    expect(result.config.stunServer).toMatchObject({ address: '127.0.0.1' });
    expect(fake.calls.every((c) => c.signalUrl === result.config.signalUrl && c.stunServer?.port === result.config.stunServer?.port)).toBe(true);
    // Closed: a new connection is refused.
    const refused = await withinMs(
      new Promise<string>((resolve) => {
        const ws = new WebSocket(result.config.signalUrl);
        ws.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
        ws.on('open', () => {
          ws.close();
          resolve('open');
        });
      }),
      5000,
      'the closed signaling server to refuse',
    );
    expect(refused).toBe('ECONNREFUSED');
  });

  it('settles a trial whose session never ends with trial-timeout, on the injected clock', async () => {
    const clock = new FakeClock();
    const never: PeerSessionRunner = () => new Promise(() => {});
    const run = runTrials({ runs: 1, signalUrl: 'ws://x/', timeoutMs: 1000, clock, runSession: never });
    await Promise.resolve();
    expect(clock.pendingTimers).toBe(2); // one safety bound per session
    await clock.advanceAsync(1000 + 5000);
    const result = await withinMs(run, 2000, 'runTrials to settle');
    expect(result.outcomes[0]).toMatchObject({ connected: false, failureReason: 'trial-timeout' });
    expect(result.outcomes[0]!.durationMs).toBe(6000);
    expect(clock.pendingTimers).toBe(0);
  });

  it('stops starting trials when aborted and reports the ones that ran', async () => {
    const fake = pairingSessions();
    const controller = new AbortController();
    const result = await runTrials({
      runs: 50,
      concurrency: 1,
      signalUrl: 'ws://x/',
      runSession: fake.run,
      signal: controller.signal,
      onEvent: (e) => {
        if (e.type === 'trial-done' && e.trial === 3) controller.abort();
      },
    });
    expect(result.outcomes).toHaveLength(3);
    expect(result.aborted).toBe(true);
  });

  it('rejects runs or concurrency below 1', async () => {
    await expect(runTrials({ runs: 0, signalUrl: 'ws://x/' })).rejects.toMatchObject({ code: 'trials-bad-options' });
    await expect(runTrials({ runs: 1 })).rejects.toMatchObject({ code: 'trials-bad-options' });
    await expect(runTrials({ runs: 1, concurrency: 0, signalUrl: 'ws://x/' })).rejects.toMatchObject({ code: 'trials-bad-options' });
  });
});

describe('runTrials listener errors', () => {
  it('finishes every trial even when the event listener throws', async () => {
    const result = await runTrials({
      runs: 3,
      concurrency: 2,
      signalUrl: 'ws://x/',
      runSession: async () => connectedSession(),
      onEvent: () => {
        throw new Error('listener bug');
      },
    });
    expect(result.summary.succeeded).toBe(3);
  });
});
