/**
 * Symmetric ↔ symmetric through real kernel NAT, which fails direct (traversal.test.ts), connects
 * through a TURN relay: `nat-probe serve` and coturn (REST API secret, relay on 203.0.113.1) run
 * in the lab's public namespace (src/lab/servers.ts), each `nat-probe peer` runs as its own
 * process in its client namespace with --turn and --turn-secret. RFC 8656, RFC 8445 §5.1.1.2.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { buildLab, destroyAllLabs, destroyLab, expectDirectSuccess, type Lab } from '../../src/lab/index.js';
import { startLabServers, type LabServers } from '../../src/lab/servers.js';
import type { PeerReport } from '../../src/report/peer-report.js';
import { runCli } from '../helpers/cli.js';
import { labGate } from './helpers.js';

const PREFIX = 'npr-';
const runLab = await labGate('lab relay suite', ['turnserver']);

describe.skipIf(!runLab)('TURN relay through real kernel NAT', () => {
  const labs: Lab[] = [];
  const servers: LabServers[] = [];

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await Promise.all(labs.map((lab) => destroyLab(lab)));
    await destroyAllLabs(PREFIX);
  });

  /** Both peers as separate processes in their namespaces; resolves with both reports. */
  /** `turnUrl` null: no TURN flags, the peers use what serve hands out in `config`. */
  async function pair(lab: Lab, served: LabServers, room: string, extra: string[], turnUrl: string | null = served.turn!.url): Promise<[PeerReport, PeerReport, string]> {
    const turn = turnUrl === null ? [] : ['--turn', turnUrl, '--turn-secret', served.turn!.secret];
    const args = ['peer', '--signal', served.signal, '--room', room, '--stun', served.stun, ...turn, '--timeout', '20000', '--json', ...extra];
    const runs = await Promise.all([lab.a, lab.b!].map((side) => runCli(args, { namespace: side.client.namespace, timeoutMs: 30_000 })));
    const reports = runs.map((run) => {
      const report = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as PeerReport;
      expect(run.code, run.stderr).toBe(report.connected ? 0 : 1);
      return report;
    }) as [PeerReport, PeerReport];
    return [...reports, runs.map((run) => run.stdout + run.stderr).join('\n')];
  }

  it('symmetric ↔ symmetric connects through the relay, and the report says the selected pair is relay', async () => {
    expect(expectDirectSuccess('symmetric', 'symmetric')).toBe(false);
    const lab = await buildLab({ a: 'symmetric', b: 'symmetric', prefix: PREFIX });
    labs.push(lab);
    const served = await startLabServers(lab, { turn: true });
    servers.push(served);

    // Default policy: every candidate type is checked; only the relayed paths can work.
    const [a, b, output] = await pair(lab, served, 'sym-sym-relay', []);
    for (const report of [a, b]) {
      expect(report.connected, JSON.stringify(report.pairs)).toBe(true);
      expect(report.selectedPair!.pairType.split('/'), report.selectedPair!.pairType).toContain('relay');
      expect(report.relays).toHaveLength(1);
      expect(report.relays[0]!.error).toBeUndefined();
      // The relayed address is on the TURN server, the mapped one is the side's NAT (RFC 8839 raddr).
      expect(report.relays[0]!.relayed).toMatch(/^203\.0\.113\.1:\d+$/);
      // On failure, show each peer's gathering (its candidate and srflx events) to say which step missed.
      const gathering = output.split('\n').filter((line) => /srflx|gather|stun/i.test(line)).join('\n');
      expect(report.localCandidates.map((c) => c.type), gathering).toEqual(expect.arrayContaining(['host', 'srflx', 'relay']));
      // No direct pair worked: every host/srflx-only pair failed.
      const direct = report.pairs.filter((p) => p.localType !== 'relay' && p.remoteType !== 'relay' && p.state === 'succeeded');
      expect(direct).toEqual([]);
    }
    expect(output).not.toContain(served.turn!.secret);

    // Relay only: relay ↔ relay, the path a browser with iceTransportPolicy "relay" takes.
    const [ra, rb] = await pair(lab, served, 'sym-sym-relay-only', ['--relay-only']);
    for (const report of [ra, rb]) {
      expect(report.connected, JSON.stringify(report.pairs)).toBe(true);
      expect(report.selectedPair!.pairType).toBe('relay/relay');
    }

    // TURN over TCP (RFC 8656 §3.1), for networks that block UDP: the allocation's 5-tuple is a TCP connection through the NAT.
    const [ta, tb] = await pair(lab, served, 'sym-sym-relay-tcp', ['--relay-only'], `${served.turn!.url}?transport=tcp`);
    for (const report of [ta, tb]) {
      expect(report.connected, JSON.stringify(report.pairs)).toBe(true);
      expect(report.selectedPair!.pairType).toBe('relay/relay');
      expect(report.relays[0]).toMatchObject({ transport: 'tcp' });
    }

    // No TURN flags: serve (started with --turn-url/--turn-secret by startLabServers) hands each peer its credentials.
    const [sa, sb] = await pair(lab, served, 'sym-sym-relay-signaled', [], null);
    for (const report of [sa, sb]) {
      expect(report.connected, JSON.stringify(report.pairs)).toBe(true);
      expect(report.selectedPair!.pairType.split('/')).toContain('relay');
      expect(report.relays[0]).toMatchObject({ source: 'signaling' });
    }

    // --strategy all: the plan is relay-only, so the direct attempt would be abandoned, but the
    // relay ladder's allocations may still add relayed candidates (each side says so in its
    // behaviour): the session waits for them and connects through the relay.
    const [la, lb] = await pair(lab, served, 'sym-sym-relay-ladder', ['--strategy', 'all'], null);
    for (const report of [la, lb]) {
      expect(report.connected, JSON.stringify(report.pairs)).toBe(true);
      expect(report.traversal?.plan.technique).toBe('relay-only');
      expect(report.selectedPair!.pairType.split('/')).toContain('relay');
      expect(report.traversal?.winner).toMatch(/^relay/);
    }
  }, 120_000);
});
