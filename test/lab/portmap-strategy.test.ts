/**
 * The `portmap` traversal strategy through real kernel NAT and a real gateway: miniupnpd in both
 * lab routers (`startLabServers(…, { portmap: true })`), one peer session per client namespace
 * (test/lab/fixtures/strategy-peer.mts). symmetric ↔ symmetric is the cell plain ICE cannot
 * connect and no probing reaches (relay-only; test/lab/strategies.test.ts): here each side's
 * gateway maps its ICE socket's port (NAT-PMP), the mapped address goes to the other side as a
 * server-reflexive candidate, and ordinary ICE checks to it get in. Afterwards no mapping may be
 * left on either gateway. Namespaces use the prefix np11s- (portmap.test.ts has np11p-).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildLab, destroyAllLabs, destroyLab, execInNamespace, type Lab } from '../../src/lab/index.js';
import { startLabServers, type LabServers } from '../../src/lab/servers.js';
import type { TraversalReport } from '../../src/traversal/types.js';
import { assertBuilt } from '../helpers/cli.js';
import { labGate } from './helpers.js';

const PREFIX = 'np11s-';
const PEER = fileURLToPath(new URL('./fixtures/strategy-peer.mts', import.meta.url));
const runLab = await labGate('portmap strategy lab suite', ['miniupnpd']);

interface PeerOutcome {
  state: 'connected' | 'failed';
  selected: string | null;
  selectedRemote: string | null;
  traversal: TraversalReport;
  udpHandlesOpen: number;
}

describe.skipIf(!runLab)('the portmap strategy through miniupnpd in the lab routers', () => {
  let lab: Lab;
  let servers: LabServers;

  beforeAll(async () => {
    assertBuilt();
    lab = await buildLab({ a: 'symmetric', b: 'symmetric', prefix: PREFIX });
    servers = await startLabServers(lab, { portmap: true });
    expect(servers.portMappers!.map((m) => m.forwarding)).toEqual(['enabled', 'enabled']);
  }, 60_000);

  afterAll(async () => {
    await servers?.stop();
    if (lab) await destroyLab(lab);
    await destroyAllLabs(PREFIX);
  });

  async function sessions(room: string, strategies: string, timeoutMs: number): Promise<[PeerOutcome, PeerOutcome]> {
    const args = ['--import', 'tsx', PEER, servers.signal, room, servers.stun, strategies, '1024', String(timeoutMs)];
    const runs = await Promise.all([lab.a, lab.b!].map((side) => execInNamespace(side.client.namespace, process.execPath, args, { timeoutMs: timeoutMs + 15_000 })));
    return runs.map((run) => JSON.parse(run.stdout.trim().split('\n').at(-1)!) as PeerOutcome) as [PeerOutcome, PeerOutcome];
  }

  async function miniupnpdRules(side: 'a' | 'b'): Promise<string> {
    const router = side === 'a' ? lab.a.router! : lab.b!.router!;
    return (await execInNamespace(router.namespace, 'nft', ['list', 'table', 'inet', 'miniupnpd'])).stdout;
  }

  it('plain ICE cannot connect symmetric ↔ symmetric even with the gateways there (they are asked nothing)', async () => {
    const outcomes = await sessions('ice-only', 'ice', 4_000);
    for (const outcome of outcomes) {
      expect(outcome.state).toBe('failed');
      expect(outcome.traversal.portmap).toBeUndefined();
    }
    for (const mapper of servers.portMappers!) expect(readFileSync(mapper.logFile, 'utf8')).not.toContain('NAT-PMP port mapping request');
  }, 30_000);

  it('--strategy portmap connects: each gateway maps the ICE port, the mapped address is an srflx candidate, the pair through it wins, and the mappings are deleted', async () => {
    const outcomes = await sessions('portmap', 'portmap', 15_000);
    for (const [i, outcome] of outcomes.entries()) {
      expect(outcome.state, JSON.stringify(outcome.traversal)).toBe('connected');
      expect(outcome.traversal.plan.technique).toBe('portmap');
      expect(outcome.traversal.winner).toBe('portmap');
      const portmap = outcome.traversal.portmap!;
      expect(portmap).toMatchObject({ protocol: 'nat-pmp', gateway: i === 0 ? '198.51.100.1' : '198.51.100.17', mapped: true, externalAddress: i === 0 ? '203.0.113.10' : '203.0.113.20', lifetimeSeconds: 120, deleted: true });
      expect(portmap.error).toBeUndefined();
      // Both gateways mapped, so both sides advertise (plan duty "opener" on each).
      expect(outcome.traversal.plan).toMatchObject({ localDuty: 'opener', remoteDuty: 'opener' });
      expect(portmap.advertised).toBe(true);
      expect(outcome.udpHandlesOpen).toBe(0);
    }
    // The selected pair goes to the other side's mapped address on at least one end.
    const mappedOf = (o: PeerOutcome): string => `${o.traversal.portmap!.externalAddress}:${o.traversal.portmap!.externalPort}`;
    expect([outcomes[0].selectedRemote, outcomes[1].selectedRemote]).toSatisfy(
      (remotes: (string | null)[]) => remotes[0] === mappedOf(outcomes[1]) || remotes[1] === mappedOf(outcomes[0]),
    );
    // miniupnpd granted and removed exactly these mappings; none is left in its nft chains.
    for (const [i, side] of (['a', 'b'] as const).entries()) {
      const log = readFileSync(servers.portMappers![i]!.logFile, 'utf8');
      const outcome = outcomes[i]!;
      const port = outcome.traversal.portmap!.externalPort!;
      expect(log).toMatch(new RegExp(`NAT-PMP port mapping request : ${port}->198\\.51\\.100\\.${i === 0 ? 2 : 18}:${outcome.traversal.portmap!.internalPort} udp lifetime=120s`));
      expect(log).toContain(`NAT-PMP UDP port ${port} mapping removed`);
      expect(await miniupnpdRules(side)).not.toMatch(/dnat/);
    }
  }, 60_000);

  it('with NAT-PMP and PCP silenced on both routers, portmap falls back to UPnP AddPortMapping, connects, and deletes the mappings', async () => {
    // The routers' own input chain drops the NAT-PMP/PCP port: the gateways speak only UPnP now.
    for (const router of [lab.a.router!, lab.b!.router!]) {
      await execInNamespace(router.namespace, 'nft', ['insert', 'rule', 'ip', 'natprobe', 'input', 'udp', 'dport', '5351', 'drop']);
    }
    const outcomes = await sessions('upnp', 'portmap', 15_000);
    for (const [i, outcome] of outcomes.entries()) {
      expect(outcome.state, JSON.stringify(outcome.traversal)).toBe('connected');
      expect(outcome.traversal.plan.technique).toBe('portmap');
      expect(outcome.traversal.winner).toBe('portmap');
      expect(outcome.traversal.portmap).toMatchObject({ protocol: 'upnp', mapped: true, externalAddress: i === 0 ? '203.0.113.10' : '203.0.113.20', deleted: true, advertised: true });
    }
    for (const [i, side] of (['a', 'b'] as const).entries()) {
      const log = readFileSync(servers.portMappers![i]!.logFile, 'utf8');
      expect(log).toContain('AddPortMapping');
      expect(log).toContain('DeletePortMapping');
      expect(await miniupnpdRules(side)).not.toMatch(/dnat/);
    }
  }, 60_000);
});
