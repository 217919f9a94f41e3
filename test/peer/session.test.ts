/**
 * Peer sessions end to end on loopback: a real signaling server and STUN server in this process,
 * two sessions (or one session and a hand-driven SignalingClient) joining the same room.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { PeerEvent } from '../../src/events.js';
import { runPeerSession, type PeerResult, type PeerSessionOptions } from '../../src/peer/session.js';
import { startStunServer, type StunServer } from '../../src/server/index.js';
import { SignalingClient, startSignalingServer, type SignalingServer } from '../../src/signaling/index.js';
import { SystemClock } from '../../src/transport/index.js';
import { isNatProbeError } from '../../src/errors.js';
import { IceAgent } from '../../src/ice/agent.js';
import { peerCheckWaitMs } from '../../src/ice/scheduler.js';
import { parseCandidate } from '../../src/ice/sdp-candidate.js';
import { describePeerSession } from '../../src/peer/session-view.js';
import { buildPeerReport } from '../../src/report/peer-report.js';
import { renderPeerTable } from '../../src/report/peer-table.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function servers(): Promise<{ signaling: SignalingServer; stun: StunServer }> {
  const signaling = await startSignalingServer({ host: '127.0.0.1', port: 0 });
  cleanups.push(() => signaling.close());
  const stun = await startStunServer({ primary: '127.0.0.1', port: 0, rateLimit: false });
  cleanups.push(() => stun.close());
  return { signaling, stun };
}

/** Starts a session and resolves `joined` once it has joined the room (so join order is known). */
function session(options: PeerSessionOptions): { result: Promise<PeerResult>; joined: Promise<void>; events: PeerEvent[] } {
  const events: PeerEvent[] = [];
  let markJoined!: () => void;
  const joined = new Promise<void>((resolve) => (markJoined = resolve));
  const result = runPeerSession({
    ...options,
    onEvent: (event) => {
      events.push(event);
      if (event.type === 'peer-phase' && event.phase === 'joined') markJoined();
    },
  });
  result.catch(() => markJoined());
  return { result, joined, events };
}

async function errorOf(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (isNatProbeError(error)) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected the session to fail');
}

/** A few event-loop turns: closed sockets release their handles one turn after close() resolves. */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

function udpHandles(): number {
  return process.getActiveResourcesInfo().filter((name) => name === 'UDPWrap').length;
}

describe('runPeerSession', () => {
  it('connects two peers through the signaling server, first joiner controlling, srflx asked of the STUN server, results swapped', async () => {
    const { signaling, stun } = await servers();
    const clock = new SystemClock();
    await settle();
    const udpBefore = udpHandles();
    const options = { signalUrl: signaling.url, room: 'pair-1', mode: 'connect' as const, timeoutMs: 10_000, bindAddress: '127.0.0.1', stunServer: stun.addresses.primary, clock };
    const first = session(options);
    await first.joined;
    const second = session(options);
    const [a, b] = await Promise.all([first.result, second.result]);

    expect(a).toMatchObject({ state: 'connected', role: 'controlling', room: 'pair-1' });
    expect(b).toMatchObject({ state: 'connected', role: 'controlled', room: 'pair-1' });
    expect(a.remotePeerId).toBe(b.peerId);
    expect(b.remotePeerId).toBe(a.peerId);
    // Each side's selected pair is the mirror of the other's.
    expect(a.selectedPair!.local.port).toBe(b.selectedPair!.remote.port);
    expect(a.selectedPair!.remote.port).toBe(b.selectedPair!.local.port);
    expect(a.remoteResult).toMatchObject({ state: 'connected', role: 'controlled', selectedPair: { id: b.selectedPair!.id, nominated: true } });
    expect(b.remoteResult).toMatchObject({ state: 'connected', role: 'controlling', selectedPair: { id: a.selectedPair!.id } });
    // Server-reflexive gathering went to our STUN server; on loopback it maps to the base.
    for (const result of [a, b]) {
      expect(result.gathering).toHaveLength(1);
      expect(result.gathering[0]).toMatchObject({ server: `127.0.0.1:${stun.addresses.primary.port}`, redundant: true });
      expect(result.gathering[0]!.mapped).toBe(result.gathering[0]!.base);
      expect(result.signalingMs).toBeLessThanOrEqual(result.totalMs);
      expect(result.timeToConnectMs).toBeLessThan(result.totalMs);
    }
    expect(stun.stats().responses.success).toBe(2);
    const phases = first.events.filter((e) => e.type === 'peer-phase').map((e) => (e.type === 'peer-phase' ? e.phase : ''));
    expect(phases).toEqual(['signaling', 'joined', 'peer-joined', 'checking', 'result-sent', 'remote-result', 'closed']);
    expect(first.events.find((e) => e.type === 'peer-done')).toMatchObject({ connected: true, selectedPairType: 'host/host' });
    expect(first.events.some((e) => e.type === 'ice-selected-pair')).toBe(true);
    // Nothing left behind: sockets closed, timers cleared.
    expect(clock.pendingTimers).toBe(0);
    await settle();
    expect(udpHandles()).toBe(udpBefore);
  });

  it('survey mode: both peers check every pair and report each', async () => {
    const { signaling } = await servers();
    const options = { signalUrl: signaling.url, room: 'survey-1', mode: 'survey' as const, timeoutMs: 10_000, hostAddresses: ['127.0.0.1', '127.0.0.2'] };
    const first = session(options);
    await first.joined;
    const [a, b] = await Promise.all([first.result, session(options).result]);
    for (const result of [a, b]) {
      expect(result).toMatchObject({ state: 'connected', outcome: 'surveyed' });
      expect(result.pairs).toHaveLength(4);
      expect(result.pairs.every((p) => p.state === 'succeeded' && !p.nominated)).toBe(true);
      expect(result.remoteResult?.pairs).toHaveLength(4);
    }
  });

  it('fails with signaling-unreachable when no server listens', async () => {
    const { signaling } = await servers();
    const url = signaling.url;
    await signaling.close();
    const clock = new SystemClock();
    await settle();
    const udpBefore = udpHandles();
    const error = await errorOf(runPeerSession({ signalUrl: url, room: 'r', mode: 'connect', timeoutMs: 3_000, bindAddress: '127.0.0.1', signalingAttempts: 1, clock }));
    expect(error.code).toBe('signaling-unreachable');
    expect(error.message).toMatch(/Check the URL/);
    // The ICE sockets bound meanwhile are closed again, and no timer is left.
    await settle();
    expect(udpHandles()).toBe(udpBefore);
    expect(clock.pendingTimers).toBe(0);
  });

  it('fails with room-full for a third peer; the first two still connect', async () => {
    const { signaling } = await servers();
    const options = { signalUrl: signaling.url, room: 'busy', mode: 'connect' as const, timeoutMs: 10_000, bindAddress: '127.0.0.1' };
    const first = session(options);
    await first.joined;
    const second = session(options);
    await second.joined;
    const error = await errorOf(runPeerSession(options));
    expect(error.code).toBe('room-full');
    expect(error.message).toMatch(/busy/);
    const [a, b] = await Promise.all([first.result, second.result]);
    expect([a.state, b.state]).toEqual(['connected', 'connected']);
  });

  it('fails with peer-never-came when alone in the room until the time bound', async () => {
    const { signaling } = await servers();
    const clock = new SystemClock();
    const error = await errorOf(runPeerSession({ signalUrl: signaling.url, room: 'lonely', mode: 'connect', timeoutMs: 300, bindAddress: '127.0.0.1', clock }));
    expect(error.code).toBe('peer-never-came');
    expect(error.message).toMatch(/lonely/);
    expect(clock.pendingTimers).toBe(0);
  });

  it('fails with peer-left when the other peer leaves before sending its parameters', async () => {
    const { signaling } = await servers();
    const waiting = session({ signalUrl: signaling.url, room: 'flaky', mode: 'connect', timeoutMs: 5_000, bindAddress: '127.0.0.1' });
    await waiting.joined;
    const other = new SignalingClient({ url: signaling.url, room: 'flaky' });
    await other.connect();
    await other.close(); // bye
    const error = await errorOf(waiting.result);
    expect(error.code).toBe('peer-left');
  });

  it('a peer that offers only unusable candidates (mDNS, TCP) but whose checks arrive connects through the peer-reflexive pair, and the skipped candidates are reported', async () => {
    const { signaling } = await servers();
    const waiting = session({ signalUrl: signaling.url, room: 'mdns-checks', mode: 'connect', timeoutMs: 10_000, bindAddress: '127.0.0.1', resultWaitMs: 200 });
    await waiting.joined;
    // The other side: a real agent whose candidates are signalled only as an mDNS name and a TCP
    // candidate, as Chromium does without media permission. It can pair the session's candidates.
    const { agent, other, remoteParams } = await agentPeer(signaling.url, 'mdns-checks');
    const params = agent.localParameters;
    other.send({ type: 'ice-params', ufrag: params.ufrag, pwd: params.pwd, tieBreaker: params.tieBreaker.toString() });
    other.send({ type: 'candidate', candidate: 'candidate:1 1 udp 2130706431 3f1c2a8e-0c1b-4f3e-9a55-5d9a0c1e2b3f.local 50000 typ host' });
    other.send({ type: 'candidate', candidate: 'candidate:2 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active' });
    other.send({ type: 'end-of-candidates' });
    agent.setRemoteParameters(await remoteParams);
    await agent.gather();
    agent.start();
    const [result, theirs] = await Promise.all([waiting.result, agent.done]);
    expect(theirs.state).toBe('connected');
    expect(result).toMatchObject({ state: 'connected', outcome: 'connected' });
    expect(result.selectedPair!.remote).toMatchObject({ type: 'prflx', port: agent.localCandidates[0]!.port });
    expect(result.skippedRemoteCandidates).toEqual([
      { candidate: expect.stringContaining('.local'), reason: 'mdns-hostname', detail: expect.stringContaining('mDNS') },
      { candidate: expect.stringContaining(' tcp '), reason: 'transport', detail: expect.stringContaining('UDP') },
    ]);
    expect(waiting.events.filter((e) => e.type === 'peer-candidate-skipped').map((e) => (e.type === 'peer-candidate-skipped' ? e.reason : ''))).toEqual(['mdns-hostname', 'transport']);
  });

  it('with mdns on, resolves the peer\'s .local host candidate and checks it as a host candidate; an unresolved name is skipped with the reason', async () => {
    const { signaling } = await servers();
    const asked: string[] = [];
    const waiting = session({
      signalUrl: signaling.url,
      room: 'mdns-resolve',
      mode: 'connect',
      timeoutMs: 10_000,
      bindAddress: '127.0.0.1',
      resultWaitMs: 200,
      // The real resolver sends multicast; it is tested inside a namespace (test/ice/mdns-netns.test.ts).
      mdns: {
        timeoutMs: 300,
        resolve: async (name) => {
          asked.push(name);
          return name.startsWith('good-') ? ['127.0.0.1'] : [];
        },
      },
    });
    await waiting.joined;
    const { agent, other, remoteParams } = await agentPeer(signaling.url, 'mdns-resolve');
    const params = agent.localParameters;
    const port = agent.localCandidates[0]!.port;
    other.send({ type: 'ice-params', ufrag: params.ufrag, pwd: params.pwd, tieBreaker: params.tieBreaker.toString() });
    other.send({ type: 'candidate', candidate: `candidate:1 1 udp 2130706431 good-3f1c2a8e.local ${port} typ host` });
    other.send({ type: 'candidate', candidate: 'candidate:2 1 udp 2130706430 gone-5d9a0c1e.local 50001 typ host' });
    other.send({ type: 'end-of-candidates' });
    agent.setRemoteParameters(await remoteParams);
    await agent.gather();
    agent.start();
    const result = await waiting.result;
    expect(asked.sort()).toEqual(['gone-5d9a0c1e.local', 'good-3f1c2a8e.local']);
    expect(result.state).toBe('connected');
    expect(result.remoteCandidates).toContainEqual(expect.objectContaining({ type: 'host', address: '127.0.0.1', port }));
    expect(result.skippedRemoteCandidates).toEqual([{ candidate: expect.stringContaining('gone-5d9a0c1e.local'), reason: 'mdns-hostname', detail: expect.stringContaining('Multicast DNS found no address for it within 300 ms') }]);
  });

  it('a silent peer with only unusable candidates fails after the bounded wait (not at once), and the report names the skipped candidates', async () => {
    const { signaling } = await servers();
    const waiting = session({ signalUrl: signaling.url, room: 'mdns', mode: 'connect', timeoutMs: 10_000, bindAddress: '127.0.0.1', resultWaitMs: 200 });
    await waiting.joined;
    const other = new SignalingClient({ url: signaling.url, room: 'mdns' });
    cleanups.push(() => other.close());
    await other.connect();
    other.send({ type: 'ice-params', ufrag: 'abcd', pwd: 'abcdefghijklmnopqrstuv', tieBreaker: '1' });
    other.send({ type: 'candidate', candidate: 'candidate:1 1 udp 2130706431 3f1c2a8e-0c1b-4f3e-9a55-5d9a0c1e2b3f.local 50000 typ host' });
    other.send({ type: 'end-of-candidates' });
    const result = await waiting.result;
    expect(result).toMatchObject({ state: 'failed', outcome: 'failed', pairs: [] });
    // It waited the bound that scales with the measured signaling RTT, and no less.
    expect(result.signalingRttMs).toBeGreaterThan(0);
    expect(result.peerCheckWaitMs).toBe(peerCheckWaitMs(result.signalingRttMs));
    expect(result.timeToConnectMs).toBeGreaterThanOrEqual(result.peerCheckWaitMs!);
    expect(result.skippedRemoteCandidates).toEqual([{ candidate: expect.stringContaining('.local'), reason: 'mdns-hostname', detail: expect.any(String) }]);
    expect(result.remoteResult).toBeUndefined();
    expect(waiting.events.find((e) => e.type === 'peer-done')).toMatchObject({ connected: false, failureReason: 'no-candidate-pairs' });
    // The report and the table say which candidates were skipped, not that none arrived.
    const view = describePeerSession(result);
    expect(view.failureReason).toBe('no-candidate-pairs');
    expect(view.failureDetail).toMatch(/the peer's 1 remote candidate\(s\) could not be used: udp 3f1c2a8e-[0-9a-f-]+\.local 50000 host \(mdns-hostname\), and no check from the peer arrived within \d+ ms/);
    expect(view.failureDetail).not.toMatch(/no remote candidates arrived/);
    const report = buildPeerReport({ ...result, room: 'mdns' }, view, { version: 'test', startedAt: new Date(0), durationMs: result.totalMs, mode: 'connect' });
    expect(report.skippedRemoteCandidates).toEqual([{ candidate: expect.stringContaining('.local'), reason: 'mdns-hostname' }]);
    const table = renderPeerTable(report);
    expect(table).toContain('Skipped remote');
    expect(table).toContain('mdns-hostname');
    expect(table).toContain('could not be used');
  });
});

/**
 * The other side of a session, driven by hand: a real ICE agent (controlled) behind its own
 * signaling client, which takes the session's candidates as they come; the test decides what
 * this side signals.
 */
async function agentPeer(url: string, room: string): Promise<{ agent: IceAgent; other: SignalingClient; remoteParams: Promise<{ ufrag: string; pwd: string }> }> {
  const agent = await IceAgent.create({ role: 'controlled', mode: 'connect', bindAddress: '127.0.0.1', scheduler: { taMs: 5 } });
  cleanups.push(() => agent.close());
  const other = new SignalingClient({ url, room });
  cleanups.push(() => other.close());
  const remoteParams = new Promise<{ ufrag: string; pwd: string }>((resolve) => {
    other.on('message', (message) => {
      if (message.type === 'ice-params') resolve({ ufrag: message.ufrag, pwd: message.pwd });
      if (message.type === 'candidate') agent.addRemoteCandidate(parseCandidate(message.candidate));
      if (message.type === 'end-of-candidates') agent.endOfRemoteCandidates();
    });
  });
  await other.connect();
  return { agent, other, remoteParams };
}
