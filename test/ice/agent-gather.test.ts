/** Gathering (RFC 8445 §5.1.1): which addresses get host candidates, and srflx candidates from a STUN server. */
import type { NetworkInterfaceInfo } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { IceAgent } from '../../src/ice/agent.js';
import { computePriority, type Candidate } from '../../src/ice/candidate.js';
import { IceOptionError } from '../../src/ice/errors.js';
import { hostAddresses, initialRtoFromGathering } from '../../src/ice/gather.js';
import { startStunServer, type StunServer } from '../../src/server/index.js';
import { attr, decodeMessage, encodeMessage, StunMethod } from '../../src/stun/index.js';
import { UdpEndpoint } from '../../src/transport/index.js';
import { FakeClock } from '../../src/transport/fake-clock.js';
import { driveUntilSettled } from '../helpers/drive-clock.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function iface(address: string, family: 'IPv4' | 'IPv6', internal = false): NetworkInterfaceInfo {
  return { address, family, internal, netmask: '', mac: '00:00:00:00:00:00', cidr: null, ...(family === 'IPv6' ? { scopeid: 0 } : {}) } as NetworkInterfaceInfo;
}

describe('hostAddresses', () => {
  const table = {
    lo: [iface('127.0.0.1', 'IPv4', true), iface('::1', 'IPv6', true)],
    eth0: [iface('192.0.2.10', 'IPv4'), iface('fe80::1', 'IPv6'), iface('2001:db8::10', 'IPv6')],
    wlan0: [iface('198.51.100.20', 'IPv4')],
  };

  it('takes every non-internal address except IPv6 link-local, in interface order', () => {
    expect(hostAddresses({ interfaces: table })).toEqual([
      { address: '192.0.2.10', family: 4, interfaceRank: 1 },
      { address: '2001:db8::10', family: 6, interfaceRank: 1 },
      { address: '198.51.100.20', family: 4, interfaceRank: 2 },
    ]);
    expect(hostAddresses({ interfaces: table, family: 6 }).map((h) => h.address)).toEqual(['2001:db8::10']);
  });

  it('falls back to loopback on a loopback-only host, and honours bindAddress', () => {
    expect(hostAddresses({ interfaces: { lo: table.lo } }).map((h) => h.address)).toEqual(['127.0.0.1', '::1']);
    expect(hostAddresses({ interfaces: table, bindAddress: '127.0.0.1' })).toEqual([{ address: '127.0.0.1', family: 4, interfaceRank: 0 }]);
    expect(hostAddresses({ interfaces: table, bindAddress: '0.0.0.0' }).length).toBe(3);
    expect(() => hostAddresses({ bindAddress: 'localhost' })).toThrow(IceOptionError);
    expect(() => hostAddresses({ bindAddress: '::1', family: 4 })).toThrow(/IPv6/);
  });
});

async function agent(options: Partial<Parameters<typeof IceAgent.create>[0]> = {}): Promise<IceAgent> {
  const created = await IceAgent.create({ role: 'controlling', bindAddress: '127.0.0.1', ...options });
  cleanups.push(() => created.close());
  return created;
}

describe('initialRtoFromGathering', () => {
  const attempt = (rttMs?: number) => ({ base: '10.0.0.1:1', server: '203.0.113.1:3478', redundant: false, ...(rttMs !== undefined ? { rttMs } : {}) });
  const bounds = { minRtoMs: 100, maxRtoMs: 500 };

  it('starts checks from the slowest measured server RTT (3 × RTT for one sample), within the bounds', () => {
    expect(initialRtoFromGathering([attempt(40), attempt(60)], bounds)).toBe(180);
    expect(initialRtoFromGathering([attempt(0.4)], bounds)).toBe(100); // a sub-millisecond path: the floor
    expect(initialRtoFromGathering([attempt(400)], bounds)).toBe(500); // never later than the default
  });

  it('gives nothing when no server answered, so the scheduler keeps its default', () => {
    expect(initialRtoFromGathering([], bounds)).toBeUndefined();
    expect(initialRtoFromGathering([attempt()], bounds)).toBeUndefined();
  });
});

describe('IceAgent gathering', () => {
  it('makes one host candidate per address with unique local preferences and per-IP foundations', async () => {
    const a = await agent({ hostAddresses: ['127.0.0.1', '127.0.0.2'] });
    const [first, second] = a.localCandidates as [Candidate, Candidate];
    expect(first).toMatchObject({ type: 'host', address: '127.0.0.1', component: 1, transport: 'udp', priority: computePriority('host', 65_535) });
    expect(second).toMatchObject({ type: 'host', address: '127.0.0.2', priority: computePriority('host', 65_534) });
    expect(first.foundation).not.toBe(second.foundation);
    expect(first.port).toBeGreaterThan(0);
  });

  it('asks the STUN server from each host socket; on loopback the mapped address is the base, so the srflx candidate is redundant (§5.1.3)', async () => {
    const server: StunServer = await startStunServer({ primary: '127.0.0.1', port: 0, rateLimit: false });
    cleanups.push(() => server.close());
    const trickled: Candidate[] = [];
    const a = await agent({ stunServer: server.addresses.primary });
    const all = await a.gather((c) => trickled.push(c));
    expect(all.map((c) => c.type)).toEqual(['host']);
    expect(trickled).toEqual(all);
    expect(server.stats().responses.success).toBe(1);
    const b = await agent({ role: 'controlled' });
    a.setRemoteParameters(b.localParameters);
    a.start();
    const result = await agentResultSoon(a);
    expect(result.gathering).toEqual([
      {
        base: `127.0.0.1:${all[0]!.port}`,
        server: `127.0.0.1:${server.addresses.primary.port}`,
        mapped: `127.0.0.1:${all[0]!.port}`,
        rttMs: expect.any(Number),
        redundant: true,
      },
    ]);
  });

  it('builds a server-reflexive candidate from a mapped address that differs from the base (§5.1.1.2)', async () => {
    // A STUN server stand-in that reports a NAT's public address.
    const fake = await UdpEndpoint.bind({ address: '127.0.0.1', port: 0 });
    cleanups.push(() => fake.close());
    const publicAddress = { family: 4 as const, address: '203.0.113.5', port: 61_000 };
    fake.onDatagram((datagram) => {
      const request = decodeMessage(datagram.data);
      void fake.send(
        encodeMessage({ class: 'successResponse', method: StunMethod.binding, transactionId: request.transactionId, attributes: [attr('XOR-MAPPED-ADDRESS', publicAddress)] }),
        datagram.from,
      );
    });
    const a = await agent({ stunServer: fake.local });
    const trickled: Candidate[] = [];
    const all = await a.gather((c) => trickled.push(c));
    const host = all[0]!;
    const srflx = all.find((c) => c.type === 'srflx');
    expect(srflx).toMatchObject({
      address: '203.0.113.5',
      port: 61_000,
      relatedAddress: host.address,
      relatedPort: host.port,
      priority: computePriority('srflx', 65_535),
    });
    expect(srflx!.foundation).not.toBe(host.foundation);
    expect(trickled.map((c) => c.type)).toEqual(['host', 'srflx']);
  });

  it('records an unreachable STUN server and still gathers host candidates, within the gather bound', async () => {
    const silent = await UdpEndpoint.bind({ address: '127.0.0.1', port: 0 }); // never answers
    cleanups.push(() => silent.close());
    let requests = 0;
    silent.onDatagram(() => requests++);
    const clock = new FakeClock();
    const a = await agent({ stunServer: silent.local, gatherTimeoutMs: 200, gatherRtoMs: 50, clock });
    // Simulated time: gathering ends at its 200 ms bound whatever the machine's load.
    const { value: all, simulatedMs } = await driveUntilSettled(clock, a.gather());
    expect(simulatedMs).toBeGreaterThanOrEqual(150);
    expect(simulatedMs).toBeLessThanOrEqual(210);
    // Sent at 0, 50 and 150 ms (RTO doubling), and no more once the bound passed.
    expect(requests).toBe(3);
    expect(all.map((c) => c.type)).toEqual(['host']);
    const b = await agent({ role: 'controlled' });
    a.setRemoteParameters(b.localParameters);
    a.start();
    const result = await agentResultSoon(a);
    expect(result.gathering[0]).toMatchObject({ redundant: false, error: expect.stringMatching(/No STUN response/) });
  });
});

/** The agent's result after close(): it resolves `done` at once. */
async function agentResultSoon(a: IceAgent) {
  await a.close();
  return a.done;
}
