/**
 * Time to connect counts from what the user waits on (issue 13): both peers joined, not the
 * checks' start, and says what it was spent on, so a silent TURN server cannot hide 5 s.
 */
import { describe, expect, it } from 'vitest';
import { trialOutcome } from '../../src/peer/trials-outcome.js';
import { summarizeTrials } from '../../src/peer/trials-summary.js';
import type { ConnectTime } from '../../src/peer/trials-types.js';
import { connectedSession } from './trials-fixtures.js';
import { runTrials } from '../../src/peer/trials.js';
import { UdpEndpoint } from '../../src/transport/index.js';
import { startBuiltInServers } from '../../src/cli/embedded-servers.js';

const waitedOnTurn: ConnectTime = { sincePeerJoinedMs: 5012, parametersMs: 12, gatheringMs: 4990, checksMs: 10, waitedForRelays: true };
const quick: ConnectTime = { sincePeerJoinedMs: 30, parametersMs: 15, gatheringMs: 1, checksMs: 14, waitedForRelays: false };

describe('time to connect from both peers joined', () => {
  it('takes the slower peer’s time since both joined, with its breakdown, over the checks’ own time', () => {
    const outcome = trialOutcome({
      trial: 1,
      room: 'r',
      durationMs: 5100,
      sessions: [
        { ok: true, result: { ...connectedSession({ ttc: 10 }), connectTime: waitedOnTurn } },
        { ok: true, result: { ...connectedSession({ ttc: 14, role: 'controlled' }), connectTime: quick } },
      ],
    });
    expect(outcome.timeToConnectMs).toBe(5012);
    expect(outcome.connectTime).toEqual(waitedOnTurn);
    expect(outcome.peers.map((peer) => peer.timeToConnectMs)).toEqual([5012, 30]);
    const summary = summarizeTrials([outcome]);
    expect(summary.timeToConnectMs?.p50).toBe(5012);
    expect(summary.spentOnMs).toEqual({ parameters: 12, gathering: 4990, checks: 10, trialsWaitingForRelays: 1 });
  });

  it('falls back to the checks’ time for results without a breakdown', () => {
    const outcome = trialOutcome({
      trial: 1,
      room: 'r',
      durationMs: 20,
      sessions: [
        { ok: true, result: connectedSession({ ttc: 4 }) },
        { ok: true, result: connectedSession({ ttc: 7, role: 'controlled' }) },
      ],
    });
    expect(outcome.timeToConnectMs).toBe(7);
    expect(outcome.connectTime).toBeUndefined();
    expect(summarizeTrials([outcome]).spentOnMs).toBeUndefined();
  });
});

describe('a silent TURN server in a real run', () => {
  it('no longer holds up the checks: the trial connects long before the allocation could end, and no TURN wait is in the figure', async () => {
    const silent = await UdpEndpoint.bind({ address: '127.0.0.1', port: 0 });
    let allocates = 0;
    silent.onDatagram(() => allocates++);
    try {
      // The allocation's bound is longer than the whole session: had the checks waited for it,
      // no time would have been left for them and the trial could not connect.
      const result = await runTrials({
        embeddedServers: startBuiltInServers,
        runs: 1,
        concurrency: 1,
        bindAddress: '127.0.0.1',
        timeoutMs: 4000,
        peerEvents: false,
        turnServers: [{ url: `turn:127.0.0.1:${silent.local.port}`, username: 'u', credential: 'p' }],
        turnTimeoutMs: 10_000,
      });
      const [trial] = result.outcomes;
      expect(allocates).toBeGreaterThan(0);
      expect(trial!.connected).toBe(true);
      const time = trial!.connectTime!;
      expect(time.waitedForRelays).toBe(false);
      expect(trial!.timeToConnectMs).toBeCloseTo(time.parametersMs + time.gatheringMs + time.checksMs, 6);
    } finally {
      await silent.close();
    }
  });
});
