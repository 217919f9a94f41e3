/**
 * Relayed candidates in the agent without a TURN server: a UDP socket on another loopback
 * address stands in for the allocation (it is a real CandidateTransport, so the agent's own
 * paths run unchanged). The real TURN path is tested in test/peer/relay-session.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { computePriority, FoundationAllocator, typePreferenceOf } from '../../src/ice/candidate.js';
import { relayedCandidate, type CandidateTransport } from '../../src/ice/gather.js';
import { FakeClock } from '../../src/transport/fake-clock.js';
import { UdpEndpoint } from '../../src/transport/index.js';
import { closeAgents, drive, introduce, loopbackAgent } from './agent-helpers.js';

const fast = { taMs: 5 };
const sockets: UdpEndpoint[] = [];
afterEach(async () => {
  await closeAgents();
  await Promise.all(sockets.splice(0).map((socket) => socket.close()));
});

/** A stand-in relay on `address`, counting what the agent sends through it. */
async function standInRelay(address: string): Promise<{ transport: CandidateTransport; sends: () => number; socket: UdpEndpoint }> {
  const socket = await UdpEndpoint.bind({ address, port: 0 });
  sockets.push(socket);
  let sends = 0;
  return {
    socket,
    sends: () => sends,
    transport: {
      local: socket.local,
      send: (data, to) => {
        sends++;
        return socket.send(data, to);
      },
      onDatagram: (listener) => socket.onDatagram(listener),
    },
  };
}

describe('relayedCandidate (RFC 8445 §5.1.2, RFC 8839 §5.1)', () => {
  const allocation = (transport: 'udp' | 'tcp', port: number) => ({
    relayed: { address: '203.0.113.1', port },
    mapped: { address: '198.51.100.7', port: 40_000 },
    server: { host: '203.0.113.1', transport },
  });

  it('has type preference 0, raddr = the mapped address, and a foundation per server and transport', () => {
    const foundations = new FoundationAllocator();
    const udp = relayedCandidate(allocation('udp', 50_000), foundations, 0);
    expect(udp).toMatchObject({ type: 'relay', address: '203.0.113.1', port: 50_000, relatedAddress: '198.51.100.7', relatedPort: 40_000, family: 4 });
    expect(typePreferenceOf(udp.priority)).toBe(0);
    expect(udp.priority).toBe(computePriority('relay', 65_535));
    const udp2 = relayedCandidate(allocation('udp', 50_002), foundations, 1);
    expect(udp2.foundation).toBe(udp.foundation); // same type, base IP, server and transport (§5.1.1.3)
    expect(udp2.priority).toBeLessThan(udp.priority); // unique local preference (§5.1.2.1)
    const tcp = relayedCandidate(allocation('tcp', 50_004), foundations, 2);
    expect(tcp.foundation).not.toBe(udp.foundation);
    expect(tcp.priority).toBeLessThan(udp2.priority);
    expect(() => relayedCandidate({ ...allocation('udp', 1), relayed: { address: 'relay.example', port: 1 } }, foundations, 0)).toThrow(/not an IP address/);
  });
});

describe('IceAgent: iceTransportPolicy relay', () => {
  it('signals and pairs only the relayed candidate, and connects through it', async () => {
    const clock = new FakeClock(0);
    const a = await loopbackAgent({ role: 'controlling', mode: 'connect', clock, scheduler: fast, iceTransportPolicy: 'relay', stunServer: { address: '127.0.0.1', port: 9 } });
    const b = await loopbackAgent({ role: 'controlled', mode: 'connect', clock, scheduler: fast });
    const relay = await standInRelay('127.0.0.3');
    const candidate = a.agent.addRelayedCandidate(
      { relayed: relay.socket.local, mapped: { address: '127.0.0.1', port: 9 }, server: { host: '127.0.0.1', transport: 'udp' } },
      relay.transport,
    );
    const gathered = await a.agent.gather();
    expect(gathered).toEqual([candidate]); // no host, no srflx attempt
    await introduce(a.agent, b.agent);
    const [ra, rb] = await drive(clock, Promise.all([a.agent.done, b.agent.done]));
    expect(ra.state).toBe('connected');
    expect(ra.selectedPair?.local.type).toBe('relay');
    expect(rb.selectedPair?.remote.type).toBe('relay');
    expect(ra.pairs.every((p) => p.local.type === 'relay')).toBe(true);
    expect(ra.localCandidates.map((c) => c.type)).toEqual(['relay']);
    expect(ra.gathering).toEqual([]);
    expect(relay.sends()).toBeGreaterThan(0);
  });

  it('names a relayed remote by its trickled type when its check arrived first (learned as prflx)', async () => {
    const clock = new FakeClock(0);
    const a = await loopbackAgent({ role: 'controlling', clock, scheduler: fast, iceTransportPolicy: 'relay' });
    const b = await loopbackAgent({ role: 'controlled', clock, scheduler: fast });
    const relay = await standInRelay('127.0.0.3');
    const relayCandidate = a.agent.addRelayedCandidate(
      { relayed: relay.socket.local, mapped: { address: '127.0.0.1', port: 9 }, server: { host: '127.0.0.1', transport: 'udp' } },
      relay.transport,
    );
    await Promise.all([a.agent.gather(), b.agent.gather()]);
    a.agent.setRemoteParameters(b.agent.localParameters);
    b.agent.setRemoteParameters(a.agent.localParameters);
    for (const c of b.agent.localCandidates) a.agent.addRemoteCandidate(c);
    a.agent.endOfRemoteCandidates();
    a.agent.start();
    b.agent.start();
    // b hears a's check before a's candidate: a peer-reflexive remote at the relayed address.
    await drive(clock, b.waitFor((e) => e.type === 'ice-candidate' && e.side === 'remote' && e.candidateType === 'prflx'));
    b.agent.addRemoteCandidate(relayCandidate);
    b.agent.endOfRemoteCandidates();
    const rb = await drive(clock, b.agent.done);
    expect(rb.state).toBe('connected');
    expect(rb.selectedPair?.remote).toMatchObject({ type: 'relay', address: relayCandidate.address, port: relayCandidate.port });
    expect(rb.remoteCandidates.map((c) => c.type)).toEqual(['relay']);
    expect(rb.pairs.every((p) => p.remote.type === 'relay')).toBe(true);
  });

  it('ignores checks that reach a host socket it never signalled', async () => {
    const clock = new FakeClock(0);
    const a = await loopbackAgent({ role: 'controlling', clock, scheduler: fast, iceTransportPolicy: 'relay' });
    const b = await loopbackAgent({ role: 'controlled', clock, scheduler: fast });
    // No relayed candidate: b still learns a's host address out of band and checks it.
    b.agent.setRemoteParameters(a.agent.localParameters);
    a.agent.setRemoteParameters(b.agent.localParameters);
    for (const c of a.agent.localCandidates) b.agent.addRemoteCandidate(c);
    b.agent.endOfRemoteCandidates();
    a.agent.endOfRemoteCandidates();
    await Promise.all([a.agent.gather(), b.agent.gather()]);
    b.agent.start();
    const rb = await drive(clock, b.agent.done);
    expect(rb.state).toBe('failed');
    expect(rb.pairs.every((p) => p.state === 'failed')).toBe(true);
  });
});
