/**
 * Traversal between two real peers through real kernel NAT: `nat-probe serve` (STUN + signaling)
 * runs in the lab's public namespace, and each `nat-probe peer` runs as its own process in its
 * client namespace. What must hold (issue: ICE connectivity checks):
 *   port-restricted ↔ port-restricted connects over server-reflexive candidates;
 *   restricted ↔ symmetric connects through a peer-reflexive candidate;
 *   symmetric ↔ symmetric fails without a relay, and the report says why.
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { buildLab, destroyAllLabs, destroyLab, expectDirectSuccess, type Lab, type NatType } from '../../src/lab/index.js';
import type { PeerReport } from '../../src/report/peer-report.js';
import { firstLine, runCli, spawnCli, stopProcess } from '../helpers/cli.js';
import { labGate } from './helpers.js';

const PREFIX = 'nptt-';
const runLab = await labGate('lab traversal suite');

interface Served {
  stun: string;
  signal: string;
}

async function serveIn(lab: Lab, servers: ChildProcess[]): Promise<Served> {
  const child = spawnCli(['serve', '--primary', lab.public.primaryAddress, '--alternate', lab.public.alternateAddress, '--port', '3478', '--signal-port', '8478', '--json'], {
    namespace: lab.public.namespace,
  });
  servers.push(child);
  const announced = JSON.parse(await firstLine(child)) as { stun: { primary: string }; signaling: { url: string } };
  return { stun: announced.stun.primary, signal: announced.signaling.url };
}

/** Both peers, as separate processes in their client namespaces; resolves with both reports. */
async function pair(lab: Lab, served: Served, room: string): Promise<[PeerReport, PeerReport]> {
  const args = ['peer', '--signal', served.signal, '--room', room, '--stun', served.stun, '--timeout', '20000', '--json'];
  const runs = await Promise.all([lab.a, lab.b!].map((side) => runCli(args, { namespace: side.client.namespace, timeoutMs: 30_000 })));
  return runs.map((run) => {
    const lines = run.stdout.trim().split('\n');
    const report = JSON.parse(lines.at(-1)!) as PeerReport;
    expect(run.code, run.stderr).toBe(report.connected ? 0 : 1);
    return report;
  }) as [PeerReport, PeerReport];
}

const types = (report: PeerReport): string[] => report.selectedPair?.pairType.split('/') ?? [];

describe.skipIf(!runLab)('nat-probe peer through real kernel NAT', () => {
  const labs: Lab[] = [];
  const servers: ChildProcess[] = [];

  afterAll(async () => {
    await Promise.all(servers.map((server) => stopProcess(server)));
    await Promise.all(labs.map((lab) => destroyLab(lab)));
    await destroyAllLabs(PREFIX);
  });

  async function scenario(a: NatType, b: NatType): Promise<[PeerReport, PeerReport]> {
    const lab = await buildLab({ a, b, prefix: PREFIX });
    labs.push(lab);
    const served = await serveIn(lab, servers);
    return pair(lab, served, `${a}-${b}`);
  }

  it('port-restricted ↔ port-restricted connects over server-reflexive candidates', async () => {
    expect(expectDirectSuccess('port-restricted', 'port-restricted')).toBe(true);
    const reports = await scenario('port-restricted', 'port-restricted');
    for (const report of reports) {
      expect(report.connected, JSON.stringify(report.pairs)).toBe(true);
      expect(report.localCandidates.map((c) => c.type)).toContain('srflx');
      expect(types(report)).toContain('srflx');
    }
  }, 60_000);

  it('restricted ↔ symmetric connects through a peer-reflexive candidate', async () => {
    expect(expectDirectSuccess('restricted', 'symmetric')).toBe(true);
    const reports = await scenario('restricted', 'symmetric');
    for (const report of reports) expect(report.connected, JSON.stringify(report.pairs)).toBe(true);
    // The symmetric side's port towards the peer is new, so someone learns it from a check.
    expect(reports.flatMap(types)).toContain('prflx');
  }, 60_000);

  it('symmetric ↔ symmetric fails without a relay, and says why', async () => {
    expect(expectDirectSuccess('symmetric', 'symmetric')).toBe(false);
    const reports = await scenario('symmetric', 'symmetric');
    for (const report of reports) {
      expect(report.connected).toBe(false);
      expect(report.selectedPair).toBeNull();
      expect(report.failureReason).toBeTruthy();
      expect(report.pairs.length).toBeGreaterThan(0);
      for (const checked of report.pairs) expect(checked.state).toBe('failed');
    }
  }, 60_000);
});
