/**
 * `peer --hold` through real kernel NAT whose UDP mappings live 3 s (conntrack timeouts in the
 * router namespaces, `--udp-timeout 3/3`): ICE consent checks come every 4–6 s (RFC 7675), so the
 * symmetric side's mapping dies in the first silence. The full-cone side's consent checks then
 * go to a mapping that no longer exists and are never answered: it loses consent after 30 s, and
 * both reports say that consent traffic is too sparse for a 3 s mapping. About 35 s.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { buildLab, destroyAllLabs, destroyLab, type Lab } from '../../src/lab/index.js';
import { startLabServers, type LabServers } from '../../src/lab/servers.js';
import type { PeerReport } from '../../src/report/peer-report.js';
import { assertBuilt, runCli } from '../helpers/cli.js';
import { labGate } from './helpers.js';

const PREFIX = 'np11h-';
const runLab = await labGate('consent-hold lab suite');

describe.skipIf(!runLab)('peer --hold through NAT with 3 s mappings', () => {
  let lab: Lab | undefined;
  let served: LabServers | undefined;

  afterAll(async () => {
    await served?.stop();
    if (lab) await destroyLab(lab);
    await destroyAllLabs(PREFIX);
  });

  it('the path dies in silence: the side whose checks go to the expired mapping loses consent (exit 1), and both say keepalives are needed', async () => {
    assertBuilt();
    lab = await buildLab({ a: 'symmetric', b: 'full-cone', udpTimeout: { oneWay: 3, twoWay: 3 }, prefix: PREFIX });
    served = await startLabServers(lab, { turn: false });
    const args = ['peer', '--signal', served.signal, '--room', 'hold', '--stun', served.stun, '--timeout', '15000', '--hold', '45', '--mapping-lifetime', '3', '--json'];
    const runs = await Promise.all([lab.a, lab.b!].map((side) => runCli(args, { namespace: side.client.namespace, timeoutMs: 80_000 })));
    const [a, b] = runs.map((run) => {
      const report = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as PeerReport;
      expect(run.code, run.stderr).toBe(report.exitCode);
      return report;
    }) as [PeerReport, PeerReport];

    for (const report of [a, b]) {
      expect(report.connected, JSON.stringify(report.pairs)).toBe(true);
      expect(report.hold).toMatchObject({ mappingLifetimeMs: 3000, safeIntervalMs: 2400, keepsMappingAlive: false });
      expect(report.hold!.text).toContain('send keepalives every 2.4 s');
    }
    // Full-cone b: every consent check went to a's first mapping, gone after 3 s of silence.
    expect(b.hold).toMatchObject({ endedBy: 'consent-lost', consentLost: true, checksAnswered: 0 });
    expect(b.hold!.checksSent).toBeGreaterThanOrEqual(4);
    expect(b.exitCode).toBe(1);
    // Symmetric a: its checks open a new mapping each time and reach b's full-cone one, so a keeps
    // consent; its hold ends when b gives up and leaves.
    expect(a.hold).toMatchObject({ consentLost: false, endedBy: 'peer-left' });
    expect(a.exitCode).toBe(0);
  }, 100_000);
});
