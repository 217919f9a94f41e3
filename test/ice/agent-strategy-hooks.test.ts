/**
 * The agent hooks the traversal strategies use, with real sockets on loopback: probe-only bases,
 * one-shot probes to an address the peer never signalled, the completion hold, and local
 * candidates added after the checks started.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { formatTransportAddress } from '../../src/ice/candidate.js';
import { FakeClock } from '../../src/transport/fake-clock.js';
import { UdpEndpoint } from '../../src/transport/index.js';
import { closeAgents, ioTurns, loopbackAgent } from './agent-helpers.js';

const endpoints: UdpEndpoint[] = [];
afterEach(async () => {
  await closeAgents();
  await Promise.all(endpoints.splice(0).map((e) => e.close()));
});

/** `promise`, or a rejection after `ms` of real time (bounded waits, never a sleep). */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

describe('probe-only bases and probes', () => {
  it('a probe to an unsignalled socket becomes a peer-reflexive ICE path on both sides', async () => {
    const a = await loopbackAgent({ role: 'controlling', scheduler: { taMs: 5 } });
    const b = await loopbackAgent({ role: 'controlled', scheduler: { taMs: 5 } });
    await Promise.all([a.agent.gather(), b.agent.gather()]);
    // Parameters only: neither side knows a single candidate of the other.
    a.agent.setRemoteParameters(b.agent.localParameters);
    b.agent.setRemoteParameters(a.agent.localParameters);
    a.agent.endOfRemoteCandidates();
    b.agent.endOfRemoteCandidates();
    const probeSocket = await UdpEndpoint.bind({ address: '127.0.0.1', port: 0 });
    const probeCandidate = b.agent.addProbeSocket(probeSocket);
    const probeKey = formatTransportAddress(probeCandidate);
    expect(b.agent.isProbeBase(probeKey)).toBe(true);
    const releaseA = a.agent.hold();
    const releaseB = b.agent.hold();
    const arrivals: string[] = [];
    b.agent.onIncomingCheck((check) => arrivals.push(`${check.baseKey}:${check.probeBase}`));
    a.agent.start();
    b.agent.start();
    // Held, with no pair at all, neither has failed.
    await ioTurns();
    expect(a.agent.state).toBe('checking');
    expect(b.agent.state).toBe('checking');
    expect(a.agent.sendProbe({ address: probeCandidate.address, port: probeCandidate.port })).toBe(true);
    const [resultA, resultB] = await within(Promise.all([a.agent.done, b.agent.done]), 5_000, 'connecting through the probe');
    releaseA();
    releaseB();
    expect(arrivals[0]).toBe(`${probeKey}:true`);
    expect(resultA.state).toBe('connected');
    expect(resultB.state).toBe('connected');
    expect(resultA.selectedPair!.remote).toMatchObject({ type: 'prflx', port: probeCandidate.port });
    expect(resultB.selectedPair!.local.port).toBe(probeCandidate.port);
    // The probe socket is never signalled or reported as a candidate of its own.
    expect(b.agent.localCandidates.some((c) => c.port === probeCandidate.port)).toBe(false);
    expect(b.events.some((e) => e.type === 'ice-candidate' && e.side === 'local' && e.address.endsWith(`:${probeCandidate.port}`))).toBe(false);
  });

  it('sendProbe refuses before the remote parameters are known', async () => {
    const a = await loopbackAgent({ role: 'controlling' });
    expect(a.agent.sendProbe({ address: '127.0.0.1', port: 9 })).toBe(false);
  });

  it('closes its probe sockets with itself', async () => {
    const a = await loopbackAgent({ role: 'controlling' });
    const socket = await UdpEndpoint.bind({ address: '127.0.0.1', port: 0 });
    a.agent.addProbeSocket(socket);
    await a.agent.close();
    expect(socket.isClosed).toBe(true);
  });
});

describe('hold', () => {
  it('keeps a run with nothing left to check from failing until released', async () => {
    const clock = new FakeClock();
    const a = await loopbackAgent({ role: 'controlling', clock });
    const b = await loopbackAgent({ role: 'controlled', clock });
    a.agent.setRemoteParameters(b.agent.localParameters);
    a.agent.endOfRemoteCandidates();
    const release = a.agent.hold(); // before start(): applied when the checks start
    a.agent.start();
    clock.advance(1_000);
    await ioTurns();
    expect(a.agent.state).toBe('checking');
    release();
    const result = await a.agent.done;
    expect(result.state).toBe('failed');
    expect(result.outcome).toBe('failed');
  });
});

describe('local candidates after start', () => {
  it('pairs a late local candidate with the remote candidates and checks it', async () => {
    const a = await loopbackAgent({ role: 'controlling', scheduler: { taMs: 5 } });
    const b = await loopbackAgent({ role: 'controlled', scheduler: { taMs: 5 } });
    const [aCandidates, bCandidates] = await Promise.all([a.agent.gather(), b.agent.gather()]);
    a.agent.setRemoteParameters(b.agent.localParameters);
    b.agent.setRemoteParameters(a.agent.localParameters);
    for (const c of bCandidates) a.agent.addRemoteCandidate(c);
    for (const c of aCandidates) b.agent.addRemoteCandidate(c);
    a.agent.endOfRemoteCandidates();
    b.agent.endOfRemoteCandidates();
    const hold = a.agent.hold();
    a.agent.start();
    const late = await UdpEndpoint.bind({ address: '127.0.0.1', port: 0 });
    endpoints.push(late);
    const candidate = { ...aCandidates[0]!, port: late.local.port, priority: aCandidates[0]!.priority - 1 };
    a.agent.addLocalCandidate(candidate, late);
    b.agent.start();
    await within(Promise.all([a.agent.done, b.agent.done]), 5_000, 'connecting');
    hold();
    const latePairs = a.events.filter((e) => e.type === 'ice-pair' && e.local === `127.0.0.1:${late.local.port}`);
    expect(latePairs.length).toBeGreaterThan(0);
  });
});
