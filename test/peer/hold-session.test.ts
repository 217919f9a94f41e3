/**
 * `--hold` end to end on loopback: two real peer sessions (real signaling server, real UDP)
 * connect, then keep the selected pair with consent checks only. Simulated time (FakeClock,
 * driven beside the real sockets) stands in for the tens of seconds a hold lasts, so consent's
 * 4–6 s rhythm is exercised without waiting for it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { PeerEvent } from '../../src/events.js';
import { runPeerSession, type PeerResult, type PeerSessionOptions } from '../../src/peer/session.js';
import { startSignalingServer, type SignalingServer } from '../../src/signaling/index.js';
import { FakeClock } from '../../src/transport/fake-clock.js';
import { buildPeerReport } from '../../src/report/peer-report.js';
import { describePeerSession } from '../../src/peer/session-view.js';
import { renderPeerTable } from '../../src/report/peer-table.js';
import { driveUntilSettled } from '../helpers/drive-clock.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function signaling(): Promise<SignalingServer> {
  const server = await startSignalingServer({ host: '127.0.0.1', port: 0 });
  cleanups.push(() => server.close());
  return server;
}

/** Two sessions in one room on one simulated clock; the first joins before the second starts. */
async function pair(server: SignalingServer, room: string, first: Partial<PeerSessionOptions>, second: Partial<PeerSessionOptions>) {
  const clock = new FakeClock();
  const events: PeerEvent[][] = [[], []];
  const base = { signalUrl: server.url, room, mode: 'connect' as const, timeoutMs: 10_000, bindAddress: '127.0.0.1', clock };
  let joined!: () => void;
  const firstJoined = new Promise<void>((resolve) => (joined = resolve));
  const a = runPeerSession({
    ...base,
    ...first,
    onEvent: (event) => {
      events[0]!.push(event);
      if (event.type === 'peer-phase' && event.phase === 'joined') joined();
    },
  });
  a.catch(() => joined());
  await driveUntilSettled(clock, firstJoined, { maxSimulatedMs: 10_000 });
  const b = runPeerSession({ ...base, ...second, onEvent: (event) => events[1]!.push(event) });
  const { value } = await driveUntilSettled(clock, Promise.all([a, b]), { stepMs: 2, maxSimulatedMs: 120_000 });
  return { results: value as [PeerResult, PeerResult], events };
}

describe('peer --hold: consent freshness on a held path', () => {
  it('both peers hold 20 s: consent checks go out every 4–6 s and are answered; a 30 s mapping is kept, a 5 s one is not', async () => {
    const server = await signaling();
    const { results, events } = await pair(server, 'hold-1', { hold: { ms: 20_000, mappingLifetimeMs: 30_000 } }, { hold: { ms: 20_000, mappingLifetimeMs: 5_000 } });
    for (const result of results) {
      expect(result.state).toBe('connected');
      expect(result.hold).toBeDefined();
      const hold = result.hold!;
      expect(hold.endedBy).toBe('time');
      expect(hold.heldMs).toBeGreaterThanOrEqual(20_000);
      // 20 s at 4–6 s per check: 3 to 5 checks, every one answered by the other peer's agent.
      expect(hold.checksSent).toBeGreaterThanOrEqual(3);
      expect(hold.checksSent).toBeLessThanOrEqual(5);
      expect(hold.checksAnswered).toBe(hold.checksSent);
      expect(hold.largestGapMs).toBeGreaterThanOrEqual(4_000);
      expect(hold.largestGapMs).toBeLessThanOrEqual(6_000 + 10);
      expect(hold.consentLost).toBe(false);
    }
    expect(results[0].hold).toMatchObject({ mappingLifetimeMs: 30_000, keepsMappingAlive: true });
    expect(results[1].hold).toMatchObject({ mappingLifetimeMs: 5_000, keepsMappingAlive: false });
    // The phase and the verdict are events (the lines and the Ink view are made from them).
    expect(events[0]!.some((e) => e.type === 'peer-phase' && e.phase === 'holding')).toBe(true);
    expect(events[1]!.find((e) => e.type === 'peer-hold')).toMatchObject({ keepsMappingAlive: false });

    const report = buildPeerReport(results[1], describePeerSession(results[1]), { version: 'test', startedAt: new Date(0), durationMs: 1, mode: 'connect' });
    expect(report.exitCode).toBe(0);
    expect(report.hold?.text).toContain('too sparse');
    expect(renderPeerTable(report)).toContain('Hold (--hold)');
  });

  it('the other peer does not hold: the hold ends when it leaves, and the report says so', async () => {
    const server = await signaling();
    const { results } = await pair(server, 'hold-2', { hold: { ms: 30_000 } }, {});
    expect(results[1].hold).toBeUndefined();
    const hold = results[0].hold!;
    expect(hold.endedBy).toBe('peer-left');
    expect(hold.heldMs).toBeLessThan(30_000);
    expect(hold.text).toContain('give it --hold too');
  });

  it('a failed session does not hold', async () => {
    const server = await signaling();
    // Nothing connects: the second peer signals no candidate (relay-only with no TURN server).
    const { results } = await pair(server, 'hold-3', { hold: { ms: 30_000 }, hostAddresses: ['127.0.0.1'], timeoutMs: 3_000 }, { hostAddresses: ['127.0.0.1'], timeoutMs: 3_000, relayOnly: true });
    expect(results[0].state).toBe('failed');
    expect(results[0].hold).toBeUndefined();
  });
});
