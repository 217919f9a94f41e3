/**
 * The portmap strategy's mapping life (src/traversal/portmap.ts) against a fake NAT-PMP gateway
 * on loopback: asked for with the external address, renewed at half the granted lifetime (the
 * FakeClock moves time, nothing sleeps), deleted once, and a refusal or silence reported as such.
 * Against miniupnpd in the lab: test/lab/portmap-strategy.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SessionPortMapping } from '../../src/traversal/portmap.js';
import { FakeClock } from '../../src/transport/fake-clock.js';
import { UdpEndpoint } from '../../src/transport/index.js';
import { driveUntilSettled } from '../helpers/drive-clock.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** RFC 6886 gateway stand-in: external address 203.0.113.10; maps port p to p + 1000 for the lifetime asked (capped), or refuses. */
async function fakeGateway(options: { refuse?: boolean; maxLifetime?: number; silent?: boolean; noAddress?: boolean } = {}): Promise<{ port: number; requests: { op: number; internal: number; suggested: number; lifetime: number }[]; searches: () => number }> {
  const endpoint = await UdpEndpoint.bind({ address: '127.0.0.1' });
  const requests: { op: number; internal: number; suggested: number; lifetime: number }[] = [];
  let searches = 0;
  endpoint.onDatagram(({ data, from }) => {
    // Neither fake speaks UPnP: an M-SEARCH (the discovery once NAT-PMP is silent) stays unanswered.
    if (data[0] === 0x4d) searches++;
    if (options.silent || data[0] === 0x4d) return;
    if (data[1] === 0) {
      requests.push({ op: 0, internal: 0, suggested: 0, lifetime: 0 });
      // noAddress: result 3 (Network Failure), the 8-byte error form (RFC 6886 §3.5).
      void endpoint.send(options.noAddress ? Buffer.from([0, 128, 0, 3, 0, 0, 0, 7]) : Buffer.from([0, 128, 0, 0, 0, 0, 0, 7, 203, 0, 113, 10]), from);
      return;
    }
    const internal = data.readUInt16BE(4);
    const lifetime = data.readUInt32BE(8);
    requests.push({ op: 1, internal, suggested: data.readUInt16BE(6), lifetime });
    const out = Buffer.alloc(16);
    out[1] = 129;
    if (options.refuse) out.writeUInt16BE(3, 2);
    out.writeUInt16BE(internal, 8);
    out.writeUInt16BE(lifetime === 0 ? 0 : internal + 1000, 10);
    out.writeUInt32BE(Math.min(lifetime, options.maxLifetime ?? lifetime), 12);
    void endpoint.send(out, from);
  });
  cleanups.push(() => endpoint.close());
  return { port: endpoint.local.port, requests, searches: () => searches };
}

describe('SessionPortMapping', () => {
  it('maps the port with the external address, renews at half the granted lifetime, and deletes once', async () => {
    const gateway = await fakeGateway({ maxLifetime: 10 });
    const clock = new FakeClock();
    const abort = new AbortController();
    const { value: mapping } = await driveUntilSettled(
      clock,
      SessionPortMapping.acquire({ gateway: '127.0.0.1', port: gateway.port, ssdpPort: gateway.port, internalPort: 40_000, bindAddress: '127.0.0.1', clock, signal: abort.signal }),
    );
    expect(mapping.offer()).toEqual({ mapped: true, protocol: 'nat-pmp', address: '203.0.113.10', port: 41_000 });
    expect(mapping.report()).toMatchObject({ mapped: true, externalAddress: '203.0.113.10', externalPort: 41_000, lifetimeSeconds: 10, renewals: 0, deleted: false, advertised: false });
    // NAT-PMP answered within its first timeout: no UPnP search was sent.
    expect(gateway.searches()).toBe(0);
    // 120 s asked, 10 s granted: renewals every 5 s, each suggesting the port it has.
    await driveUntilSettled(clock, new Promise<void>((resolve) => clock.setTimeout(resolve, 11_000)), { stepMs: 100 });
    await driveUntilSettled(clock, (async () => { while (mapping.report().renewals < 2) await new Promise<void>((r) => setImmediate(r)); })(), { stepMs: 1, maxSimulatedMs: 2_000 });
    expect(mapping.report().renewals).toBe(2);
    expect(gateway.requests.filter((r) => r.op === 1)).toEqual([
      { op: 1, internal: 40_000, suggested: 40_000, lifetime: 120 },
      { op: 1, internal: 40_000, suggested: 41_000, lifetime: 120 },
      { op: 1, internal: 40_000, suggested: 41_000, lifetime: 120 },
    ]);
    await driveUntilSettled(clock, Promise.all([mapping.release(), mapping.release()]));
    expect(mapping.report()).toMatchObject({ deleted: true, mapped: true });
    expect(mapping.mapped).toBe(false);
    // RFC 6886 §3.4: one deletion (external port 0, lifetime 0), and no renewal after it.
    expect(gateway.requests.filter((r) => r.op === 1 && r.lifetime === 0)).toEqual([{ op: 1, internal: 40_000, suggested: 0, lifetime: 0 }]);
    await driveUntilSettled(clock, new Promise<void>((resolve) => clock.setTimeout(resolve, 20_000)), { stepMs: 500 });
    expect(gateway.requests.filter((r) => r.op === 1)).toHaveLength(4);
  });

  it('offers no mapping when the gateway refuses, and deletes nothing', async () => {
    const gateway = await fakeGateway({ refuse: true });
    const clock = new FakeClock();
    const { value: mapping } = await driveUntilSettled(
      clock,
      SessionPortMapping.acquire({ gateway: '127.0.0.1', port: gateway.port, ssdpPort: gateway.port, internalPort: 40_000, bindAddress: '127.0.0.1', clock, signal: new AbortController().signal }),
    );
    expect(mapping.offer()).toEqual({ mapped: false, reason: 'NAT-PMP refused: 3 Network Failure' });
    await driveUntilSettled(clock, mapping.release());
    expect(mapping.report()).toMatchObject({ mapped: false, deleted: false, renewals: 0, error: 'NAT-PMP refused: 3 Network Failure' });
    expect(gateway.requests.filter((r) => r.op === 1)).toHaveLength(1);
  });

  it('gives a granted port back at once when the gateway will not state its external address (no candidate without it)', async () => {
    const gateway = await fakeGateway({ noAddress: true });
    const clock = new FakeClock();
    const { value: mapping } = await driveUntilSettled(
      clock,
      SessionPortMapping.acquire({ gateway: '127.0.0.1', port: gateway.port, ssdpPort: gateway.port, internalPort: 40_000, bindAddress: '127.0.0.1', clock, signal: new AbortController().signal }),
    );
    expect(mapping.offer()).toMatchObject({ mapped: false });
    expect(mapping.report()).toMatchObject({ externalPort: 41_000, deleted: true, renewals: 0 });
    expect(mapping.report().externalAddress).toBeUndefined();
    // Asked once, deleted once (lifetime 0), never renewed.
    expect(gateway.requests.filter((r) => r.op === 1)).toEqual([
      { op: 1, internal: 40_000, suggested: 40_000, lifetime: 120 },
      { op: 1, internal: 40_000, suggested: 0, lifetime: 0 },
    ]);
    await driveUntilSettled(clock, new Promise<void>((resolve) => clock.setTimeout(resolve, 130_000)), { stepMs: 1_000, maxSimulatedMs: 140_000 });
    expect(gateway.requests.filter((r) => r.op === 1)).toHaveLength(2);
  });

  it('gives up on a silent gateway (NAT-PMP and UPnP silent) after two sends each, the UPnP search starting 250 ms in, within 1.5 s of simulated time', async () => {
    const gateway = await fakeGateway({ silent: true });
    const clock = new FakeClock();
    const { value: mapping, simulatedMs } = await driveUntilSettled(
      clock,
      SessionPortMapping.acquire({ gateway: '127.0.0.1', port: gateway.port, ssdpPort: gateway.port, internalPort: 40_000, bindAddress: '127.0.0.1', clock, signal: new AbortController().signal }),
    );
    expect(mapping.offer()).toEqual({ mapped: false, reason: expect.stringMatching(/^no NAT-PMP answer to 2 mapping request\(s\); UPnP: no SSDP answer to 2 unicast M-SEARCH\(es\)/) });
    expect(gateway.searches()).toBe(2);
    // The UPnP search overlapped NAT-PMP's wait instead of following it (1.25 s + 1.25 s).
    expect(simulatedMs).toBeLessThanOrEqual(1_500);
  });

  it('falls back to PCP MAP when the gateway answers NAT-PMP with Unsupported Version (RFC 6887 §9), and deletes with the same nonce', async () => {
    const endpoint = await UdpEndpoint.bind({ address: '127.0.0.1' });
    cleanups.push(() => endpoint.close());
    const maps: { nonce: string; internal: number; suggested: number; lifetime: number; client: string }[] = [];
    endpoint.onDatagram(({ data, from }) => {
      if (data[0] === 0x4d) return; // M-SEARCH: no UPnP here
      if (data[0] === 0) {
        // PCP-only: a NAT-PMP request gets version 2, UNSUPP_VERSION (result 1).
        const out = Buffer.alloc(24);
        out[0] = 2;
        out[1] = 0x80 | data[1]!;
        out[3] = 1;
        void endpoint.send(out, from);
        return;
      }
      // RFC 6887 §11.1 MAP request: header (24) + nonce (12), protocol, reserved (3), internal port, suggested port, suggested address (16).
      const lifetime = data.readUInt32BE(4);
      maps.push({ nonce: data.subarray(24, 36).toString('hex'), internal: data.readUInt16BE(40), suggested: data.readUInt16BE(42), lifetime, client: [...data.subarray(20, 24)].join('.') });
      const out = Buffer.alloc(60);
      out[0] = 2;
      out[1] = 0x81;
      out.writeUInt32BE(Math.min(lifetime, 30), 4);
      out.writeUInt32BE(99, 8);
      data.copy(out, 24, 24, 40); // nonce, protocol, reserved
      out.writeUInt16BE(data.readUInt16BE(40), 40);
      out.writeUInt16BE(lifetime === 0 ? 0 : data.readUInt16BE(40) + 2000, 42);
      Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 203, 0, 113, 10]).copy(out, 44);
      void endpoint.send(out, from);
    });
    const clock = new FakeClock();
    const { value: mapping } = await driveUntilSettled(
      clock,
      SessionPortMapping.acquire({ gateway: '127.0.0.1', port: endpoint.local.port, ssdpPort: endpoint.local.port, internalPort: 40_000, bindAddress: '127.0.0.1', clock, signal: new AbortController().signal }),
    );
    expect(mapping.offer()).toEqual({ mapped: true, protocol: 'pcp', address: '203.0.113.10', port: 42_000 });
    expect(mapping.report()).toMatchObject({ protocol: 'pcp', externalAddress: '203.0.113.10', externalPort: 42_000, lifetimeSeconds: 30 });
    await driveUntilSettled(clock, mapping.release());
    expect(mapping.report().deleted).toBe(true);
    expect(maps).toHaveLength(2);
    expect(maps[0]).toMatchObject({ internal: 40_000, suggested: 40_000, lifetime: 120, client: '127.0.0.1' });
    // The deletion repeats the mapping's nonce with lifetime 0 (RFC 6887 §15).
    expect(maps[1]).toMatchObject({ nonce: maps[0]!.nonce, internal: 40_000, lifetime: 0 });
    expect(maps[0]!.nonce).toMatch(/^[0-9a-f]{24}$/);
  });
});
