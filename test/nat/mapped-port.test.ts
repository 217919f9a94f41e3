/**
 * `detect --map` on loopback: a fake NAT-PMP gateway that grants a port-preserving mapping (so
 * the mapped external port is the listener's own port) and a STUN server that honours
 * RESPONSE-PORT. Against miniupnpd in the lab: test/lab/portmap.test.ts (granted, and refused behind the CGN).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { checkMappedPort } from '../../src/nat/index.js';
import { startStunServer } from '../../src/server/index.js';
import { UdpEndpoint } from '../../src/transport/index.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function fakeNatPmp(grant: boolean): Promise<{ endpoint: UdpEndpoint; requests: Buffer[] }> {
  const endpoint = await UdpEndpoint.bind({ address: '127.0.0.1' });
  const requests: Buffer[] = [];
  endpoint.onDatagram(({ data, from }) => {
    requests.push(data);
    const out = Buffer.alloc(16);
    out[1] = 129;
    if (!grant) out.writeUInt16BE(2, 2); // Not Authorized/Refused
    const internal = data.readUInt16BE(4);
    out.writeUInt16BE(internal, 8);
    out.writeUInt16BE(data.readUInt32BE(8) === 0 ? 0 : internal, 10);
    out.writeUInt32BE(data.readUInt32BE(8), 12);
    void endpoint.send(out, from);
  });
  cleanups.push(() => endpoint.close());
  return { endpoint, requests };
}

describe('checkMappedPort', () => {
  it('maps a fresh port, receives an unsolicited STUN answer through it, and deletes the mapping', async () => {
    const stun = await startStunServer({ primary: '127.0.0.1', port: 0, rateLimit: false });
    cleanups.push(() => stun.close());
    const gateway = await fakeNatPmp(true);
    const report = await checkMappedPort({ gateway: '127.0.0.1', natPmpPort: gateway.endpoint.local.port, server: { label: 'ours', address: stun.addresses.primary }, bindAddress: '127.0.0.1' });
    expect(report).toMatchObject({ protocol: 'nat-pmp', created: true, reachable: true, deleted: true, lifetimeSeconds: 60 });
    expect(report.externalPort).toBe(report.internalPort);
    // A map request with a 60 s lifetime, then the deletion: external port 0, lifetime 0.
    expect(gateway.requests.map((r) => [r[1], r.readUInt16BE(6), r.readUInt32BE(8)])).toEqual([
      [1, report.internalPort, 60],
      [1, 0, 0],
    ]);
  });

  it('reports a refused mapping without testing or deleting anything', async () => {
    const stun = await startStunServer({ primary: '127.0.0.1', port: 0, rateLimit: false });
    cleanups.push(() => stun.close());
    const gateway = await fakeNatPmp(false);
    const report = await checkMappedPort({ gateway: '127.0.0.1', natPmpPort: gateway.endpoint.local.port, server: { label: 'ours', address: stun.addresses.primary }, bindAddress: '127.0.0.1' });
    expect(report).toMatchObject({ created: false, error: 'NAT-PMP refused: 2 Not Authorized/Refused' });
    expect(gateway.requests).toHaveLength(1);
  });
});
