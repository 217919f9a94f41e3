/**
 * Port-mapping probes against a real gateway: miniupnpd (UPnP IGD, NAT-PMP, PCP) in the lab
 * router's namespace, `nat-probe detect` as its own process in the client namespace. This is
 * the only place the gateway probes run against a real implementation, and it is all inside
 * namespaces this suite builds (prefix np11p-).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildLab, destroyAllLabs, destroyLab, execInNamespace, type Lab } from '../../src/lab/index.js';
import { startLabServers, type LabServers } from '../../src/lab/servers.js';
import type { DetectReport } from '../../src/report/detect-report.js';
import { assertBuilt, runCli } from '../helpers/cli.js';
import { labGate } from './helpers.js';

const PREFIX = 'np11p-';
const runLab = await labGate('port-mapping lab suite', ['miniupnpd']);

async function detectIn(lab: Lab, extra: string[] = []): Promise<DetectReport> {
  const run = await runCli(['detect', '--server', `${lab.public.primaryAddress}:3478`, '--json', ...extra], { namespace: lab.a.client.namespace });
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as DetectReport;
}

describe.skipIf(!runLab)('detect asks the lab gateway (miniupnpd) about port mapping', () => {
  let plain: Lab;
  let behindCgn: Lab;
  let bare: Lab;
  const servers: LabServers[] = [];

  beforeAll(async () => {
    assertBuilt();
    [plain, behindCgn, bare] = await Promise.all([
      buildLab({ a: 'port-restricted', prefix: PREFIX }),
      buildLab({ a: 'port-restricted', cgn: 'port-restricted', prefix: PREFIX }),
      buildLab({ a: 'port-restricted', prefix: PREFIX }),
    ]);
    servers.push(
      ...(await Promise.all([
        startLabServers(plain, { portmap: true }),
        startLabServers(behindCgn, { portmap: true }),
        startLabServers(bare, { portmap: false }),
      ])),
    );
  }, 90_000);

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await Promise.all([plain, behindCgn, bare].filter(Boolean).map((lab) => destroyLab(lab)));
    await destroyAllLabs(PREFIX);
  });

  it('finds NAT-PMP, PCP and UPnP IGD on the router, with versions and its public address, and creates no mapping', async () => {
    expect(servers[0]!.portMappers![0]!.forwarding).toBe('enabled');
    const report = await detectIn(plain);
    expect(report.schema).toBe('nat-probe.detect/v2');
    const summary = report.portMapping;
    expect(summary.status).toBe('probed');
    if (summary.status !== 'probed') return;
    expect(summary.gateway.gateway).toBe(plain.a.router!.lanAddress);
    expect(summary.gateway.natPmp).toMatchObject({ present: true, version: '0', result: { code: 0 } });
    expect(summary.gateway.pcp).toMatchObject({ present: true, version: '2', result: { code: 0, name: 'SUCCESS' } });
    expect(summary.gateway.upnp).toMatchObject({ present: true, version: 'IGD:2', upnp: { searchedBy: 'unicast', friendlyName: 'nat-probe lab router a' } });
    // miniupnpd learnt its address by STUN (ext_perform_stun), since 203.0.113.0/24 is
    // documentation space it would not state from the interface; it states the address the
    // STUN servers see, so the gateway is the outer NAT.
    expect(summary.gateway.natPmp.externalAddress).toBe('203.0.113.10');
    expect(summary.gateway.upnp.externalAddress).toBe('203.0.113.10');
    expect(summary.doubleNat.verdict).toBe('single');
    expect(report.results[0]!.verdict.publicAddresses).toEqual(['203.0.113.10']);
    // Asked, and nothing mapped: miniupnpd logs every request it handles.
    const log = readFileSync(servers[0]!.portMappers![0]!.logFile, 'utf8');
    expect(log).toContain('GetExternalIPAddress');
    expect(log).not.toMatch(/AddPortMapping|AddAnyPortMapping|PCP MAP|PCP PEER|NAT-PMP port mapping/i);
  });

  it('behind a CGN miniupnpd finds the restrictive upstream NAT and grants nothing; it states the outer address, and the refused --map makes the verdict "no public address"', async () => {
    // Its STUN test (from 100.64.0.2) got only the plain answer: the CGN filtered the
    // CHANGE-REQUEST ones, so forwarding is off. A mapping on the inner NAT would not help.
    expect(servers[1]!.portMappers![0]!.forwarding).toBe('disabled');
    expect(readFileSync(servers[1]!.portMappers![0]!.logFile, 'utf8')).toContain('with private IP address 100.64.0.2 is now behind restrictive or symmetric NAT with public IP address 203.0.113.10');
    const report = await detectIn(behindCgn, ['--map']);
    const summary = report.portMapping;
    expect(summary.status).toBe('probed');
    if (summary.status !== 'probed') return;
    expect(summary.gateway.natPmp.present && summary.gateway.pcp.present && summary.gateway.upnp.present).toBe(true);
    // What STUN told it, not its WAN address: the stated address matches the STUN verdict, so
    // the stated address alone looks single; the refused mapping (--map) settles it.
    expect(summary.gateway.natPmp.externalAddress).toBe('203.0.113.10');
    expect(summary.map).toMatchObject({ protocol: 'nat-pmp', created: false, error: 'NAT-PMP refused: 3 Network Failure', resultCode: 3 });
    expect(summary.doubleNat.verdict).toBe('gateway-not-public');
    expect(summary.doubleNat.evidence.join(' ')).toContain('refused a NAT-PMP mapping with 3 (Network Failure)');
    expect(summary.doubleNat.meaning).toContain('most likely another NAT');
  });

  it('reports every protocol absent, within the STUN run, when the router runs no port-mapping service', async () => {
    const report = await detectIn(bare);
    const summary = report.portMapping;
    expect(summary.status).toBe('probed');
    if (summary.status !== 'probed') return;
    for (const protocol of [summary.gateway.natPmp, summary.gateway.pcp, summary.gateway.upnp]) expect(protocol.present).toBe(false);
    expect(summary.doubleNat.verdict).toBe('unknown');
    // Given up when the STUN tests ended, not after the 4-send schedule (3.75 s).
    expect(summary.gateway.natPmp.error).toContain('given up when the STUN tests ended');
  });

  it('--map gets a real mapping: an unsolicited STUN answer arrives through it, and it is deleted afterwards', async () => {
    const report = await detectIn(plain, ['--map']);
    const summary = report.portMapping;
    expect(summary.status).toBe('probed');
    if (summary.status !== 'probed') return;
    expect(summary.map).toMatchObject({ protocol: 'nat-pmp', created: true, reachable: true, deleted: true, lifetimeSeconds: 60 });
    expect(summary.map!.externalPort).toBeGreaterThan(0);
    // The mapping an outside answer came through proves the gateway is the outer NAT.
    expect(summary.doubleNat.verdict).toBe('single');
    expect(summary.doubleNat.evidence.at(-1)).toContain('proven by --map');
    const log = readFileSync(servers[0]!.portMappers![0]!.logFile, 'utf8');
    expect(log).toMatch(new RegExp(`NAT-PMP port mapping request : ${summary.map!.externalPort}->198\\.51\\.100\\.2:${summary.map!.internalPort} udp lifetime=60s`));
    expect(log).toContain(`NAT-PMP UDP port ${summary.map!.externalPort} mapping removed`);
    // Nothing left in miniupnpd's nft chains.
    const rules = await execInNamespace(plain.a.router!.namespace, 'nft', ['list', 'table', 'inet', 'miniupnpd']);
    expect(rules.stdout).not.toMatch(/dnat|198\.51\.100\.2/);
  });

  it('PCP MAP (the portmap strategy\'s fallback) is granted by miniupnpd with the public address, and deleted with the same nonce', async () => {
    const fixture = fileURLToPath(new URL('./fixtures/pcp-map.mts', import.meta.url));
    const run = await execInNamespace(plain.a.client.namespace, process.execPath, ['--import', 'tsx', fixture, plain.a.router!.lanAddress, plain.a.client.address], { timeoutMs: 20_000 });
    const result = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { internalPort: number; map: Record<string, unknown>; unmap: Record<string, unknown> };
    // 60 s asked; miniupnpd grants PCP mappings at least 120 s (RFC 6887 §15's minimum lifetime).
    expect(result.map).toMatchObject({ ok: true, externalAddress: '203.0.113.10', lifetimeSeconds: 120 });
    expect(result.map.externalPort).toBeGreaterThan(0);
    expect(result.unmap).toMatchObject({ ok: true });
    const log = readFileSync(servers[0]!.portMappers![0]!.logFile, 'utf8');
    expect(log).toMatch(new RegExp(`PCP MAP: (added|ADDED)?.*${result.internalPort}|MAP.*${result.internalPort}`, 'i'));
    const rules = await execInNamespace(plain.a.router!.namespace, 'nft', ['list', 'table', 'inet', 'miniupnpd']);
    expect(rules.stdout).not.toMatch(/dnat|198\.51\.100\.2/);
  });

  it('UPnP AddPortMapping / DeletePortMapping (the portmap strategy\'s last fallback) work against miniupnpd', async () => {
    const fixture = fileURLToPath(new URL('./fixtures/upnp-map.mts', import.meta.url));
    const run = await execInNamespace(plain.a.client.namespace, process.execPath, ['--import', 'tsx', fixture, plain.a.router!.lanAddress, plain.a.client.address], { timeoutMs: 20_000 });
    const result = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as Record<string, any>;
    expect(result.service, JSON.stringify(result)).toMatchObject({ serviceType: 'urn:schemas-upnp-org:service:WANIPConnection:2' });
    expect(result.address).toEqual({ ok: true, address: '203.0.113.10' });
    expect(result.add).toEqual({ ok: true });
    expect(result.remove).toEqual({ ok: true });
    const log = readFileSync(servers[0]!.portMappers![0]!.logFile, 'utf8');
    expect(log).toContain('AddPortMapping');
    expect(log).toContain('DeletePortMapping');
    const rules = await execInNamespace(plain.a.router!.namespace, 'nft', ['list', 'table', 'inet', 'miniupnpd']);
    expect(rules.stdout).not.toMatch(/dnat|198\.51\.100\.2/);
  });

  it('asks nothing with --no-portmap', async () => {
    const report = await detectIn(plain, ['--no-portmap']);
    expect(report.portMapping).toEqual({ status: 'skipped', because: '--no-portmap' });
  });
});
