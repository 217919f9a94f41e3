/**
 * probeGateway end to end on loopback, against small fakes that answer as RFC 6886, RFC 6887
 * and UDA 1.1 say (the real gateway, miniupnpd, is exercised in the lab suite). Nothing here
 * goes to the host's gateway or to multicast: every port, the SSDP "group" included, is on
 * 127.0.0.0/8.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { probeGateway, type GatewayEvent } from '../../src/gateway/index.js';
import { UdpEndpoint } from '../../src/transport/index.js';
import { FakeClock } from '../../src/transport/fake-clock.js';
import { driveUntilSettled } from '../helpers/drive-clock.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function udp(address: string, answer: (data: Buffer) => Uint8Array | string | undefined): Promise<UdpEndpoint & { received: Buffer[] }> {
  const endpoint = (await UdpEndpoint.bind({ address })) as UdpEndpoint & { received: Buffer[] };
  endpoint.received = [];
  endpoint.onDatagram(({ data, from }) => {
    endpoint.received.push(data);
    const reply = answer(data);
    if (reply !== undefined) void endpoint.send(typeof reply === 'string' ? Buffer.from(reply) : reply, from);
  });
  cleanups.push(() => endpoint.close());
  return endpoint;
}

/** A NAT-PMP + PCP responder on one port, as miniupnpd is: version 0 → NAT-PMP, 2 → PCP. */
function portMappingAnswer(externalAddress: string) {
  return (data: Buffer): Uint8Array | undefined => {
    if (data[0] === 0 && data[1] === 0 && data.length === 2) {
      const out = Buffer.alloc(12);
      out[1] = 128;
      out.writeUInt32BE(4242, 4);
      externalAddress.split('.').forEach((p, i) => (out[8 + i] = Number(p)));
      return out;
    }
    if (data[0] === 2 && data.length === 24) {
      const out = Buffer.alloc(24);
      out[0] = 2;
      out[1] = 0x80 | (data[1]! & 0x7f);
      out.writeUInt32BE(4242, 8);
      return out;
    }
    return undefined;
  };
}

async function igdHttp(externalAddress: string): Promise<{ server: Server; base: string; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      requests.push(`${req.method} ${req.url} ${req.headers.soapaction ?? ''}`);
      if (req.url === '/rootDesc.xml') {
        res.end(`<root><URLBase></URLBase><device><deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:1</deviceType><friendlyName>fake</friendlyName>
          <deviceList><device><deviceList><device><serviceList><service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType>
          <controlURL>/ctl/IPConn</controlURL></service></serviceList></device></deviceList></device></deviceList></device></root>`);
      } else if (req.url === '/ctl/IPConn' && body.includes('GetExternalIPAddress')) {
        res.end(`<s:Envelope><s:Body><u:GetExternalIPAddressResponse><NewExternalIPAddress>${externalAddress}</NewExternalIPAddress></u:GetExternalIPAddressResponse></s:Body></s:Envelope>`);
      } else {
        res.statusCode = 500;
        res.end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => server.close(() => resolve())));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

describe('probeGateway against loopback fakes', () => {
  it('reports NAT-PMP, PCP and UPnP with versions and stated addresses, creating no mapping', async () => {
    const pm = await udp('127.0.0.1', portMappingAnswer('100.64.0.2'));
    const http = await igdHttp('100.64.0.2');
    const ssdp = await udp('127.0.0.1', () => `HTTP/1.1 200 OK\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\nLOCATION: ${http.base}/rootDesc.xml\r\nSERVER: fake\r\n\r\n`);
    const events: GatewayEvent[] = [];
    const report = await probeGateway({
      gateway: '127.0.0.1',
      ports: { natPmp: pm.local.port, pcp: pm.local.port, ssdp: ssdp.local.port },
      multicast: false,
      rtoMs: 20,
      onEvent: (e) => events.push(e),
    });
    expect(report.natPmp).toMatchObject({ present: true, version: '0', externalAddress: '100.64.0.2', epochSeconds: 4242, result: { code: 0 } });
    expect(report.pcp).toMatchObject({ present: true, version: '2', epochSeconds: 4242, result: { code: 0, name: 'SUCCESS' } });
    expect(report.pcp.error).toBeUndefined();
    expect(report.upnp).toMatchObject({ present: true, version: 'IGD:1', externalAddress: '100.64.0.2', upnp: { searchedBy: 'unicast', friendlyName: 'fake', serviceType: 'urn:schemas-upnp-org:service:WANIPConnection:1' } });
    expect(events.map((e) => e.report.protocol).sort()).toEqual(['nat-pmp', 'pcp', 'upnp']);
    // Only state-free requests: the external-address request, ANNOUNCE (opcode 0), the
    // description and GetExternalIPAddress; never a MAP or AddPortMapping.
    expect(pm.received.every((d) => d[1] === 0)).toBe(true);
    expect(http.requests).toEqual(['GET /rootDesc.xml ', 'POST /ctl/IPConn "urn:schemas-upnp-org:service:WANIPConnection:1#GetExternalIPAddress"']);
    // The unicast M-SEARCH carries no MX (UDA 1.1 §1.3.2).
    expect(ssdp.received[0]!.toString()).not.toContain('MX:');
  });

  it('falls back to the multicast search only after the unicast one stays unanswered', async () => {
    const silentSsdp = await udp('127.0.0.1', () => undefined);
    const http = await igdHttp('203.0.113.10');
    // The stand-in for the SSDP group: an IGD at another address answers the multicast search.
    const group = await udp('127.0.0.3', (data) => (data.toString().includes('MX: 1') ? `HTTP/1.1 200 OK\r\nST: x\r\nLOCATION: ${http.base}/rootDesc.xml\r\n\r\n` : undefined));
    const silentPm = await udp('127.0.0.1', () => undefined);
    const report = await probeGateway({
      gateway: '127.0.0.1',
      ports: { natPmp: silentPm.local.port, pcp: silentPm.local.port, ssdp: silentSsdp.local.port },
      multicastTarget: { address: '127.0.0.3', port: group.local.port },
      unicastSsdpWaitMs: 60,
      rtoMs: 20,
      maxAttempts: 2,
    });
    expect(silentSsdp.received.length).toBeGreaterThanOrEqual(1);
    expect(group.received[0]!.toString()).toContain('HOST: 239.255.255.250:1900');
    expect(report.upnp).toMatchObject({ present: true, externalAddress: '203.0.113.10', upnp: { searchedBy: 'multicast' } });
    expect(report.natPmp).toMatchObject({ present: false, sent: 2 });
    expect(report.natPmp.error).toMatch(/no NAT-PMP answer to 2 request\(s\)/);
  });

  it('gives up on silent protocols as soon as the quiet signal fires', async () => {
    const silent = await udp('127.0.0.1', () => undefined);
    const quiet = new AbortController();
    const clock = new FakeClock();
    const probing = probeGateway({ gateway: '127.0.0.1', ports: { natPmp: silent.local.port, pcp: silent.local.port, ssdp: silent.local.port }, multicast: false, quiet: quiet.signal, clock });
    clock.setTimeout(() => quiet.abort(), 30);
    const { value: report, simulatedMs } = await driveUntilSettled(clock, probing, { maxSimulatedMs: 10_000 });
    // Settled at the quiet signal, before the first retransmission (250 ms), far from the 4-send schedule (3.75 s).
    expect(simulatedMs).toBeLessThan(250);
    expect(report.natPmp.sent).toBe(1);
    expect(report.pcp.sent).toBe(1);
    for (const r of [report.natPmp, report.pcp, report.upnp]) {
      expect(r.present).toBe(false);
      expect(r.error).toMatch(/given up when the STUN tests ended|no SSDP answer/);
    }
  });

  it('says NAT-PMP only when a gateway answers PCP with version 0 (RFC 6887 §9)', async () => {
    const pmpOnly = await udp('127.0.0.1', (data) => (data[0] === 0 ? portMappingAnswer('203.0.113.10')(data) : Buffer.from([0, 0x80, 0, 1, 0, 0, 0, 1])));
    const report = await probeGateway({ gateway: '127.0.0.1', ports: { natPmp: pmpOnly.local.port, pcp: pmpOnly.local.port, ssdp: pmpOnly.local.port }, multicast: false, rtoMs: 20, maxAttempts: 1 });
    expect(report.natPmp).toMatchObject({ present: true, externalAddress: '203.0.113.10' });
    expect(report.pcp).toMatchObject({ present: false });
    expect(report.pcp.error).toContain('NAT-PMP only');
  });
});
