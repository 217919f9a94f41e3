/**
 * Peers known only by their checks (RFC 8445 §7.3.1.3–§7.3.1.4): an agent that has no pair of its
 * own (it could use none of the peer's candidates) waits a bounded time for the peer's checks and
 * connects through the peer-reflexive pair they create; a check that came before start() counts;
 * once it has failed it answers nothing more. Real sockets on loopback, time on a FakeClock.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { peerCheckWaitMs, PEER_CHECK_WAIT_BASE_MS, PEER_CHECK_WAIT_CAP_MS } from '../../src/ice/scheduler.js';
import { FakeClock } from '../../src/transport/fake-clock.js';
import { closeAgents, drive, ioTurns, loopbackAgent, type AgentUnderTest } from './agent-helpers.js';

afterEach(() => closeAgents());

/**
 * `lonely` knows the peer's parameters but none of its candidates (as when the peer signalled only
 * mDNS names); `peer` knows all of `lonely`'s. Neither is started.
 */
async function lonelyAndPeer(clock: FakeClock, lonelyOptions: { peerCheckWaitMs?: number } = {}): Promise<{ lonely: AgentUnderTest; peer: AgentUnderTest }> {
  const lonely = await loopbackAgent({ role: 'controlling', clock, scheduler: { taMs: 5, ...lonelyOptions } });
  const peer = await loopbackAgent({ role: 'controlled', clock, scheduler: { taMs: 5 } });
  const [lonelyCandidates] = await Promise.all([lonely.agent.gather(), peer.agent.gather()]);
  lonely.agent.setRemoteParameters(peer.agent.localParameters);
  peer.agent.setRemoteParameters(lonely.agent.localParameters);
  for (const c of lonelyCandidates) peer.agent.addRemoteCandidate(c);
  lonely.agent.endOfRemoteCandidates();
  peer.agent.endOfRemoteCandidates();
  return { lonely, peer };
}

describe('peerCheckWaitMs: the bound on waiting for the peer’s checks', () => {
  it('is 1 s plus 4 signaling RTTs, at most 5 s, and the base alone without a measurement', () => {
    expect(peerCheckWaitMs()).toBe(PEER_CHECK_WAIT_BASE_MS);
    expect(peerCheckWaitMs(Number.NaN)).toBe(1_000);
    expect(peerCheckWaitMs(50)).toBe(1_200);
    expect(peerCheckWaitMs(400)).toBe(2_600);
    expect(peerCheckWaitMs(10_000)).toBe(PEER_CHECK_WAIT_CAP_MS);
  });
});

describe('IceAgent with no pairs of its own', () => {
  it('does not fail at once: it waits for the peer’s checks and connects through the peer-reflexive pair they create', async () => {
    const clock = new FakeClock();
    const { lonely, peer } = await lonelyAndPeer(clock);
    lonely.agent.start();
    await ioTurns();
    clock.advance(PEER_CHECK_WAIT_BASE_MS - 100);
    await ioTurns();
    expect(lonely.agent.state).toBe('checking');
    peer.agent.start();
    const [a, b] = await drive(clock, Promise.all([lonely.agent.done, peer.agent.done]), { stepMs: 1, maxSimulatedMs: 2_000 });
    expect(a.state).toBe('connected');
    expect(b.state).toBe('connected');
    expect(a.selectedPair!.remote.type).toBe('prflx');
    expect(a.selectedPair!.nominated).toBe(true);
    expect(a.pairs).toHaveLength(1);
    // The result says it had to rely on the peer's checks, and for how long it would have waited.
    expect(a.peerCheckWaitMs).toBe(PEER_CHECK_WAIT_BASE_MS);
    expect(lonely.events.some((e) => e.type === 'ice-candidate' && e.side === 'remote' && e.candidateType === 'prflx')).toBe(true);
  });

  it('counts a check that arrived before start(), even with no wait at all', async () => {
    const clock = new FakeClock();
    const { lonely, peer } = await lonelyAndPeer(clock, { peerCheckWaitMs: 0 });
    peer.agent.start();
    await ioTurns();
    // The peer's first check reached the lonely agent before it started; it was answered.
    expect(lonely.agent.state).not.toBe('checking');
    expect((await peer.waitFor((e) => e.type === 'ice-pair' && e.state === 'succeeded')).type).toBe('ice-pair');
    lonely.agent.start();
    const [a, b] = await drive(clock, Promise.all([lonely.agent.done, peer.agent.done]), { stepMs: 1, maxSimulatedMs: 2_000 });
    expect(a.state).toBe('connected');
    expect(b.state).toBe('connected');
    expect(a.selectedPair!.remote.type).toBe('prflx');
  });

  it('fails after the bounded wait when the peer stays silent, then answers no more checks, so both ends fail', async () => {
    const clock = new FakeClock();
    const { lonely, peer } = await lonelyAndPeer(clock, { peerCheckWaitMs: 1_500 });
    lonely.agent.start();
    await ioTurns();
    clock.advance(1_499);
    await ioTurns();
    expect(lonely.agent.state).toBe('checking');
    clock.advance(1);
    const a = await lonely.agent.done;
    expect(a).toMatchObject({ state: 'failed', outcome: 'failed', pairs: [], peerCheckWaitMs: 1_500 });
    expect(a.timeToConnectMs).toBe(1_500);
    // The peer's checks come too late: the failed agent stays silent, so the peer fails too.
    peer.agent.start();
    const b = await drive(clock, peer.agent.done, { stepMs: 50, maxSimulatedMs: 30_000 });
    expect(b.state).toBe('failed');
    expect(b.pairs.every((p) => p.failureReason === 'timeout')).toBe(true);
    const afterFailure = (lonely.agent as unknown as { counters: { requestsIgnoredAfterFailure: number } }).counters.requestsIgnoredAfterFailure;
    expect(afterFailure).toBeGreaterThanOrEqual(1);
  });

  it('an agent with pairs of its own fails as before when they all fail, without the wait', async () => {
    const clock = new FakeClock();
    const lonely = await loopbackAgent({ role: 'controlling', clock, scheduler: { taMs: 5, pairTimeoutMs: 200, peerCheckWaitMs: 5_000 } });
    const other = await loopbackAgent({ role: 'controlled', clock });
    await lonely.agent.gather();
    lonely.agent.setRemoteParameters(other.agent.localParameters);
    // A remote candidate where nothing answers (TEST-NET-1 is never routed here; the send may fail at once).
    lonely.agent.addRemoteCandidate({ foundation: 'x', component: 1, transport: 'udp', priority: 2_130_706_431, address: '127.0.0.1', port: 9, type: 'host', family: 4 });
    lonely.agent.endOfRemoteCandidates();
    lonely.agent.start();
    const a = await drive(clock, lonely.agent.done, { stepMs: 10, maxSimulatedMs: 2_000 });
    expect(a.state).toBe('failed');
    expect(a.peerCheckWaitMs).toBeUndefined();
    expect(a.timeToConnectMs).toBeLessThan(1_000);
  });
});
