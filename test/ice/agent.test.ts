/**
 * IceAgent on loopback: two real agents (sockets on 127.0.0.0/8) checking each other, and a raw
 * socket standing in for a misbehaving peer where one is needed. Runs that wait for timeouts use
 * a FakeClock and `drive`, so simulated seconds pass in milliseconds.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { IceAgent } from '../../src/ice/agent.js';
import type { Candidate } from '../../src/ice/candidate.js';
import { encodeCheckRequest } from '../../src/ice/check-codec.js';
import {
  attr,
  decodeMessage,
  encodeMessage,
  getAttribute,
  newTransactionId,
  shortTermKey,
  StunMethod,
  verifyMessageIntegrity,
  type DecodedStunMessage,
} from '../../src/stun/index.js';
import { FakeClock } from '../../src/transport/fake-clock.js';
import { SystemClock, UdpEndpoint } from '../../src/transport/index.js';
import { closeAgents, drive, introduce, ioTurns, loopbackAgent } from './agent-helpers.js';

const sockets: UdpEndpoint[] = [];
afterEach(async () => {
  await closeAgents();
  await Promise.all(sockets.splice(0).map((socket) => socket.close()));
});

async function rawSocket(address = '127.0.0.1'): Promise<UdpEndpoint> {
  const socket = await UdpEndpoint.bind({ address, port: 0 });
  sockets.push(socket);
  return socket;
}

/** A port on 127.0.0.1 where nothing listens: bound, then closed. */
async function deadPort(): Promise<number> {
  const socket = await UdpEndpoint.bind({ address: '127.0.0.1', port: 0 });
  const port = socket.local.port;
  await socket.close();
  return port;
}

function hostCandidate(address: string, port: number, foundation: string): Candidate {
  return { foundation, component: 1, transport: 'udp', priority: 2_130_706_431, address, port, type: 'host', family: 4 };
}

/** Resolves with the next datagram the socket receives, decoded. */
function nextMessage(socket: UdpEndpoint): Promise<{ message: DecodedStunMessage; from: { address: string; port: number } }> {
  return new Promise((resolve) => {
    const stop = socket.onDatagram((datagram) => {
      stop();
      resolve({ message: decodeMessage(datagram.data), from: datagram.from });
    });
  });
}

const fast = { taMs: 5 };

describe('IceAgent: connect mode', () => {
  it('selects the host pair on loopback, both sides, and tells the story as events', async () => {
    const a = await loopbackAgent({ role: 'controlling', scheduler: fast });
    const b = await loopbackAgent({ role: 'controlled', scheduler: fast });
    expect(a.agent.localParameters.pwd.length).toBeGreaterThanOrEqual(22);
    expect(a.agent.localParameters.ufrag).not.toBe(b.agent.localParameters.ufrag);
    await introduce(a.agent, b.agent);
    const [ra, rb] = await Promise.all([a.agent.done, b.agent.done]);

    for (const [result, self, other] of [
      [ra, a.agent, b.agent],
      [rb, b.agent, a.agent],
    ] as const) {
      expect(result).toMatchObject({ state: 'connected', outcome: 'connected', mode: 'connect' });
      expect(result.selectedPair).toMatchObject({
        nominated: true,
        local: { type: 'host', address: '127.0.0.1', port: self.localCandidates[0]!.port },
        remote: { type: 'host', address: '127.0.0.1', port: other.localCandidates[0]!.port },
      });
      expect(result.selectedPair!.rttMs).toBeGreaterThanOrEqual(0);
      expect(result.timeToConnectMs).toBeGreaterThan(0);
      expect(result.pairs).toHaveLength(1);
      expect(result.pairs[0]).toMatchObject({ state: 'succeeded', valid: true, nominated: true });
      expect(result.pairs[0]!.attempts).toBeGreaterThanOrEqual(1);
    }
    expect(ra.role).toBe('controlling');
    expect(rb.role).toBe('controlled');
    // The controlling side's nomination carried USE-CANDIDATE (§8.1.1).
    const checks = a.events.filter((e) => e.type === 'ice-check-sent');
    expect(checks.some((e) => e.type === 'ice-check-sent' && e.useCandidate)).toBe(true);
    expect(b.events.filter((e) => e.type === 'ice-check-sent').every((e) => e.type === 'ice-check-sent' && !e.useCandidate)).toBe(true);
    // Event order on each side: gathering → candidate → checking → … → selected pair → connected.
    const types = a.events.map((e) => (e.type === 'ice-state' ? `state:${e.state}` : e.type));
    expect(types.indexOf('state:gathering')).toBeLessThan(types.indexOf('ice-candidate'));
    expect(types.indexOf('state:checking')).toBeLessThan(types.indexOf('ice-check-sent'));
    expect(types.indexOf('ice-selected-pair')).toBeLessThan(types.indexOf('state:connected'));
    const pairEvents = a.events.filter((e) => e.type === 'ice-pair');
    expect(pairEvents.at(-1)).toMatchObject({ state: 'succeeded', localType: 'host', remoteType: 'host', nominated: true });
  });

  it('answers checks that arrive before start() and replays them as triggered checks (§7.3.1.4)', async () => {
    const a = await loopbackAgent({ role: 'controlling', scheduler: fast });
    const b = await loopbackAgent({ role: 'controlled', scheduler: fast });
    const [ca, cb] = await Promise.all([a.agent.gather(), b.agent.gather()]);
    a.agent.setRemoteParameters(b.agent.localParameters);
    b.agent.setRemoteParameters(a.agent.localParameters);
    cb.forEach((c) => a.agent.addRemoteCandidate(c));
    ca.forEach((c) => b.agent.addRemoteCandidate(c));
    a.agent.endOfRemoteCandidates();
    b.agent.endOfRemoteCandidates();
    a.agent.start();
    // B has not started: it must still answer A's check, and remember it.
    await a.waitFor((e) => e.type === 'ice-pair' && e.state === 'succeeded');
    expect(b.agent.state).not.toBe('checking');
    b.agent.start();
    const [ra, rb] = await Promise.all([a.agent.done, b.agent.done]);
    expect(ra.state).toBe('connected');
    expect(rb.state).toBe('connected');
    expect(rb.counters.requestsReceived).toBeGreaterThanOrEqual(2);
  });
});

describe('IceAgent: peer-reflexive candidates', () => {
  it('learns a remote peer-reflexive candidate from a check whose source was never signalled (§7.3.1.3)', async () => {
    const a = await loopbackAgent({ role: 'controlling', scheduler: fast });
    const b = await loopbackAgent({ role: 'controlled', scheduler: fast });
    const [, cb] = await Promise.all([a.agent.gather(), b.agent.gather()]);
    a.agent.setRemoteParameters(b.agent.localParameters);
    b.agent.setRemoteParameters(a.agent.localParameters);
    cb.forEach((c) => a.agent.addRemoteCandidate(c)); // B never hears of A's candidates
    a.agent.endOfRemoteCandidates();
    a.agent.start();
    b.agent.start();
    const [ra, rb] = await Promise.all([a.agent.done, b.agent.done]);
    expect(ra.state).toBe('connected');
    expect(rb.state).toBe('connected');
    expect(rb.selectedPair!.remote).toMatchObject({ type: 'prflx', address: '127.0.0.1', port: a.agent.localCandidates[0]!.port });
    expect(rb.remoteCandidates.map((c) => c.type)).toEqual(['prflx']);
    expect(b.events).toContainEqual(expect.objectContaining({ type: 'ice-candidate', side: 'remote', candidateType: 'prflx' }));
  });

  it('learns a local peer-reflexive candidate from a mapped address no local candidate has (§7.2.5.3.1)', async () => {
    const clock = new FakeClock(0);
    const a = await loopbackAgent({ role: 'controlling', mode: 'survey', clock, scheduler: fast });
    const peer = await rawSocket();
    const remotePwd = 'abcdefghijklmnopqrstuvwx';
    const natMapping = { family: 4 as const, address: '127.0.0.1', port: 1_024 }; // what a NAT would have shown
    peer.onDatagram((datagram) => {
      const request = decodeMessage(datagram.data);
      const response = encodeMessage(
        { class: 'successResponse', method: StunMethod.binding, transactionId: request.transactionId, attributes: [attr('XOR-MAPPED-ADDRESS', natMapping)] },
        { integrityKey: shortTermKey(remotePwd), fingerprint: true },
      );
      void peer.send(response, datagram.from);
    });
    a.agent.setRemoteParameters({ ufrag: 'peer', pwd: remotePwd });
    a.agent.addRemoteCandidate(hostCandidate('127.0.0.1', peer.local.port, 'fake'));
    a.agent.endOfRemoteCandidates();
    a.agent.start();
    const result = await drive(clock, a.agent.done);
    const host = a.agent.localCandidates[0]!;
    expect(result.selectedPair!.local).toMatchObject({ type: 'prflx', address: '127.0.0.1', port: 1_024, relatedAddress: host.address, relatedPort: host.port });
    expect(result.localCandidates.map((c) => c.type)).toEqual(['host', 'prflx']);
    expect(a.events).toContainEqual(expect.objectContaining({ type: 'ice-candidate', side: 'local', candidateType: 'prflx', address: '127.0.0.1:1024' }));
  });
});

describe('IceAgent: survey mode', () => {
  it('reports every pair: working ones succeed, a dead remote candidate fails with timeout', async () => {
    const clock = new FakeClock(1_000);
    const survey = { ...fast, pairTimeoutMs: 2_000 };
    const a = await loopbackAgent({ role: 'controlling', mode: 'survey', clock, scheduler: survey, hostAddresses: ['127.0.0.1', '127.0.0.2'] });
    const b = await loopbackAgent({ role: 'controlled', mode: 'survey', clock, scheduler: survey, hostAddresses: ['127.0.0.1'] });
    const dead = hostCandidate('127.0.0.1', await deadPort(), 'dead');
    a.agent.addRemoteCandidate(dead);
    await introduce(a.agent, b.agent);
    const [ra, rb] = await drive(clock, Promise.all([a.agent.done, b.agent.done]));

    expect(ra).toMatchObject({ state: 'connected', outcome: 'surveyed', mode: 'survey' });
    expect(ra.pairs).toHaveLength(4);
    const toDead = ra.pairs.filter((p) => p.remote.port === dead.port);
    const toB = ra.pairs.filter((p) => p.remote.port !== dead.port);
    expect(toDead).toHaveLength(2);
    for (const pair of toDead) {
      expect(pair).toMatchObject({ state: 'failed', failureReason: 'timeout', valid: false });
      expect(pair.attempts).toBeGreaterThan(1); // retransmitted before giving up
    }
    expect(toB.map((p) => p.state)).toEqual(['succeeded', 'succeeded']);
    expect(new Set(toB.map((p) => p.local.address))).toEqual(new Set(['127.0.0.1', '127.0.0.2']));
    // Nothing is nominated in a survey; the best valid pair is still named.
    expect(ra.pairs.every((p) => !p.nominated)).toBe(true);
    expect(ra.selectedPair).toMatchObject({ nominated: false });
    expect(rb.pairs.map((p) => p.state)).toEqual(['succeeded', 'succeeded']);
    const failedEvents = a.events.filter((e) => e.type === 'ice-pair' && e.state === 'failed');
    expect(failedEvents.every((e) => e.type === 'ice-pair' && e.failureReason === 'timeout')).toBe(true);
    expect(failedEvents).toHaveLength(2);
  });
});

describe('IceAgent: role conflicts (§7.3.1.1, §7.2.5.1)', () => {
  it('both controlling: the smaller tie-breaker becomes controlled, and they connect', async () => {
    const a = await loopbackAgent({ role: 'controlling', tieBreaker: 1n << 63n, scheduler: fast });
    const b = await loopbackAgent({ role: 'controlling', tieBreaker: 7n, scheduler: fast });
    await introduce(a.agent, b.agent);
    const [ra, rb] = await Promise.all([a.agent.done, b.agent.done]);
    expect(ra).toMatchObject({ state: 'connected', role: 'controlling' });
    expect(rb).toMatchObject({ state: 'connected', role: 'controlled' });
    expect(b.events).toContainEqual(expect.objectContaining({ type: 'ice-role', from: 'controlling', to: 'controlled' }));
    expect(a.events.some((e) => e.type === 'ice-role')).toBe(false);
    expect(ra.selectedPair!.id).toBe(`${formatPort(ra.selectedPair!.local)}->${formatPort(ra.selectedPair!.remote)}`);
  });

  it('both controlled: the larger tie-breaker becomes controlling, and they connect', async () => {
    const a = await loopbackAgent({ role: 'controlled', tieBreaker: 1n << 63n, scheduler: fast });
    const b = await loopbackAgent({ role: 'controlled', tieBreaker: 7n, scheduler: fast });
    await introduce(a.agent, b.agent);
    const [ra, rb] = await Promise.all([a.agent.done, b.agent.done]);
    expect(ra).toMatchObject({ state: 'connected', role: 'controlling' });
    expect(rb).toMatchObject({ state: 'connected', role: 'controlled' });
    expect(a.events).toContainEqual(expect.objectContaining({ type: 'ice-role', to: 'controlling' }));
  });
});

describe('IceAgent: integrity', () => {
  it('rejects checks made with the wrong password (401) and reports the pair as an integrity failure', async () => {
    const clock = new FakeClock(0);
    const a = await loopbackAgent({ role: 'controlling', mode: 'survey', clock, scheduler: fast });
    const b = await loopbackAgent({ role: 'controlled', mode: 'survey', clock, scheduler: fast });
    const [ca, cb] = await Promise.all([a.agent.gather(), b.agent.gather()]);
    a.agent.setRemoteParameters(b.agent.localParameters);
    // B was told a wrong password for A: its checks fail A's MESSAGE-INTEGRITY.
    b.agent.setRemoteParameters({ ufrag: a.agent.localParameters.ufrag, pwd: 'x'.repeat(24) });
    cb.forEach((c) => a.agent.addRemoteCandidate(c));
    ca.forEach((c) => b.agent.addRemoteCandidate(c));
    a.agent.endOfRemoteCandidates();
    b.agent.endOfRemoteCandidates();
    a.agent.start();
    b.agent.start();
    const [ra, rb] = await drive(clock, Promise.all([a.agent.done, b.agent.done]));

    expect(ra.counters.requestsRejected).toBeGreaterThan(0);
    expect(rb.pairs[0]).toMatchObject({ state: 'failed', failureReason: 'integrity', errorCode: 401 });
    expect(rb.pairs[0]!.failureDetail).toMatch(/401/);
    expect(rb.state).toBe('failed');
    // A's own checks were fine: B answers with its own password, which A knows.
    expect(ra.pairs[0]).toMatchObject({ state: 'succeeded' });
  });

  it('discards responses that fail MESSAGE-INTEGRITY, and fails the pair as integrity when they keep coming', async () => {
    const clock = new FakeClock(0);
    const { agent } = await loopbackAgent({ role: 'controlling', mode: 'survey', clock, scheduler: fast });
    const peer = await rawSocket();
    // The fake peer answers every check with a success keyed with the wrong password.
    peer.onDatagram((datagram) => {
      const request = decodeMessage(datagram.data);
      if (request.class !== 'request') return;
      const response = encodeMessage(
        { class: 'successResponse', method: StunMethod.binding, transactionId: request.transactionId, attributes: [attr('XOR-MAPPED-ADDRESS', datagram.from)] },
        { integrityKey: shortTermKey('not-the-password-at-all!'), fingerprint: true },
      );
      void peer.send(response, datagram.from);
    });
    agent.setRemoteParameters({ ufrag: 'peer', pwd: 'theRealPasswordIs24chars' });
    agent.addRemoteCandidate(hostCandidate('127.0.0.1', peer.local.port, 'fake'));
    agent.endOfRemoteCandidates();
    await agent.gather();
    agent.start();
    const result = await drive(clock, agent.done);
    expect(result.pairs[0]).toMatchObject({ state: 'failed', failureReason: 'integrity', valid: false });
    expect(result.counters.responsesUnauthenticated).toBeGreaterThanOrEqual(2);
    expect(result.state).toBe('failed');
  });

  it('fails a pair whose response comes from another address as non-symmetric (§7.2.5.2.1)', async () => {
    const clock = new FakeClock(0);
    const { agent } = await loopbackAgent({ role: 'controlling', mode: 'survey', clock, scheduler: fast });
    const peer = await rawSocket();
    const elsewhere = await rawSocket();
    const remotePwd = 'abcdefghijklmnopqrstuvwx';
    peer.onDatagram((datagram) => {
      const request = decodeMessage(datagram.data);
      const response = encodeMessage(
        { class: 'successResponse', method: StunMethod.binding, transactionId: request.transactionId, attributes: [attr('XOR-MAPPED-ADDRESS', datagram.from)] },
        { integrityKey: shortTermKey(remotePwd), fingerprint: true },
      );
      void elsewhere.send(response, datagram.from); // answered from a different port
    });
    agent.setRemoteParameters({ ufrag: 'peer', pwd: remotePwd });
    agent.addRemoteCandidate(hostCandidate('127.0.0.1', peer.local.port, 'fake'));
    agent.endOfRemoteCandidates();
    agent.start();
    const result = await drive(clock, agent.done);
    expect(result.pairs[0]).toMatchObject({ state: 'failed', failureReason: 'non-symmetric' });
    expect(result.pairs[0]!.failureDetail).toContain(String(elsewhere.local.port));
  });
});

describe('IceAgent: answering requests (§7.3)', () => {
  async function agentAndPeer(): Promise<{ agent: IceAgent; peer: UdpEndpoint; to: { address: string; port: number } }> {
    const { agent } = await loopbackAgent({ role: 'controlled', scheduler: fast });
    const peer = await rawSocket();
    const local = agent.localCandidates[0]!;
    return { agent, peer, to: { address: local.address, port: local.port } };
  }

  function check(agent: IceAgent, overrides: Partial<Parameters<typeof encodeCheckRequest>[0]> = {}): Buffer {
    return encodeCheckRequest({
      transactionId: newTransactionId(),
      localUfrag: 'peer',
      remoteUfrag: agent.localParameters.ufrag,
      remoteKey: shortTermKey(agent.localParameters.pwd),
      priority: 1_853_824_767,
      role: 'controlling',
      tieBreaker: 42n,
      useCandidate: false,
      ...overrides,
    });
  }

  it('answers a valid check with XOR-MAPPED-ADDRESS, integrity (local password) and FINGERPRINT', async () => {
    const { agent, peer, to } = await agentAndPeer();
    const reply = nextMessage(peer);
    await peer.send(check(agent), to);
    const { message, from } = await reply;
    expect(message.class).toBe('successResponse');
    expect(from).toMatchObject(to);
    expect(getAttribute(message, 'XOR-MAPPED-ADDRESS')).toMatchObject({ address: '127.0.0.1', port: peer.local.port });
    expect(getAttribute(message, 'FINGERPRINT')).toBeDefined();
    expect(verifyMessageIntegrity(message, shortTermKey(agent.localParameters.pwd))).toBe('ok');
  });

  it('answers 401 for the wrong password or ufrag, 400 without PRIORITY or a role, 487 when it wins a role conflict', async () => {
    const { agent, peer, to } = await agentAndPeer();
    const codeFor = async (wire: Buffer): Promise<number | undefined> => {
      const reply = nextMessage(peer);
      await peer.send(wire, to);
      return getAttribute((await reply).message, 'ERROR-CODE')?.code;
    };
    expect(await codeFor(check(agent, { remoteKey: shortTermKey('y'.repeat(24)) }))).toBe(401);
    expect(await codeFor(check(agent, { remoteUfrag: 'nope' }))).toBe(401);
    const noPriority = encodeMessage(
      { class: 'request', method: StunMethod.binding, transactionId: newTransactionId(), attributes: [attr('USERNAME', `${agent.localParameters.ufrag}:peer`), attr('ICE-CONTROLLING', 1n)] },
      { integrityKey: shortTermKey(agent.localParameters.pwd), fingerprint: true },
    );
    expect(await codeFor(noPriority)).toBe(400);
    const noUsername = encodeMessage({ class: 'request', method: StunMethod.binding, transactionId: newTransactionId(), attributes: [attr('PRIORITY', 1)] }, { fingerprint: true });
    expect(await codeFor(noUsername)).toBe(400);
    // Both controlled, and the request's tie-breaker is larger: the agent keeps its role and answers 487 (§7.3.1.1).
    const max = (1n << 64n) - 1n;
    expect(agent.localParameters.tieBreaker).toBeLessThan(max);
    expect(await codeFor(check(agent, { role: 'controlled', tieBreaker: max }))).toBe(487);
    expect(agent.role).toBe('controlled');
  });
});

describe('IceAgent: relayed candidates', () => {
  it('checks a local relay candidate through its own send path', async () => {
    const clock = new FakeClock(0);
    const a = await loopbackAgent({ role: 'controlling', mode: 'survey', clock, scheduler: fast });
    const b = await loopbackAgent({ role: 'controlled', mode: 'survey', clock, scheduler: fast });
    // A stand-in for a TURN allocation: its own socket, labelled as the relayed address.
    const relaySocket = await rawSocket('127.0.0.3');
    let relayedSends = 0;
    const relay: Candidate = {
      foundation: 'relay1',
      component: 1,
      transport: 'udp',
      priority: 16_777_215,
      address: relaySocket.local.address,
      port: relaySocket.local.port,
      type: 'relay',
      relatedAddress: '127.0.0.1',
      relatedPort: 9,
      family: 4,
    };
    a.agent.addLocalCandidate(relay, {
      local: relaySocket.local,
      send: (data, to) => {
        relayedSends++;
        return relaySocket.send(data, to);
      },
      onDatagram: (listener) => relaySocket.onDatagram(listener),
    });
    await introduce(a.agent, b.agent);
    const [ra, rb] = await drive(clock, Promise.all([a.agent.done, b.agent.done]));
    const relayPair = ra.pairs.find((p) => p.local.type === 'relay');
    expect(relayPair).toMatchObject({ state: 'succeeded', valid: true });
    expect(relayedSends).toBeGreaterThan(0);
    expect(rb.pairs.find((p) => p.remote.type === 'relay')).toMatchObject({ state: 'succeeded' });
  });
});

describe('IceAgent: consent freshness (RFC 7675) and clean-up', () => {
  it('reports consent loss 30 s after the peer disappears', async () => {
    const clock = new FakeClock(0);
    const a = await loopbackAgent({ role: 'controlling', clock, scheduler: fast, random: () => 0.5 });
    const b = await loopbackAgent({ role: 'controlled', clock, scheduler: fast, random: () => 0.5 });
    await introduce(a.agent, b.agent);
    await drive(clock, Promise.all([a.agent.done, b.agent.done]));
    // Consent holds while the peer answers, well past the 30 s expiry: each answered check renews it.
    await drive(clock, advanceFor(clock, 45_000), { stepMs: 500, maxSimulatedMs: 50_000 });
    expect(a.agent.consentLost).toBe(false);
    await b.agent.close();
    const lost = a.waitFor((e) => e.type === 'ice-state' && e.state === 'consent-lost');
    await drive(clock, lost, { stepMs: 500, maxSimulatedMs: 40_000 });
    expect(a.agent.consentLost).toBe(true);
  });

  it('leaves no socket and no timer behind after close()', async () => {
    const clock = new SystemClock();
    await ioTurns(); // earlier tests' sockets finish closing
    const udpBefore = udpHandles();
    const a = await loopbackAgent({ role: 'controlling', clock, scheduler: fast });
    const b = await loopbackAgent({ role: 'controlled', clock, scheduler: fast });
    expect(udpHandles()).toBe(udpBefore + 2);
    await introduce(a.agent, b.agent);
    await Promise.all([a.agent.done, b.agent.done]);
    expect(clock.pendingTimers).toBeGreaterThan(0); // consent freshness runs while connected
    await closeAgents();
    expect(clock.pendingTimers).toBe(0);
    await ioTurns();
    expect(udpHandles()).toBe(udpBefore);
    expect(a.agent.state).toBe('closed');
  });
});

function udpHandles(): number {
  return process.getActiveResourcesInfo().filter((name) => name === 'UDPWrap').length;
}

function formatPort(c: Candidate): string {
  return `${c.address}:${c.port}`;
}

/** A promise that resolves once the fake clock has moved `ms` forward from now. */
function advanceFor(clock: FakeClock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimeout(resolve, ms));
}
