/**
 * `nat-probe detect` against real kernel NAT: for every NAT type the lab builds, our detect
 * (a separate process in the client namespace) probing our own server (`nat-probe serve`, a
 * separate process in the public namespace) must give the mapping, filtering, classic name and
 * port allocation that the type was built to have.
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildLab, destroyAllLabs, destroyLab, EXPECTED_BEHAVIOUR, DETECT_CLASSIC_NAME, type Lab, type LabSide, type NatType } from '../../src/lab/index.js';
import type { DetectReport } from '../../src/report/detect-report.js';
import { firstLine, runCli, spawnCli, stopProcess } from '../helpers/cli.js';
import { labGate } from './helpers.js';

const PREFIX = 'nptd-';
const PAIRS: [NatType, NatType][] = [
  ['none', 'firewall'],
  ['full-cone', 'restricted'],
  ['port-restricted', 'addr-dependent'],
  ['symmetric', 'symmetric-sequential'],
];

const runLab = await labGate('detect-in-lab suite');

/** Our server in the lab's public namespace, as a separate process; resolves once it listens. */
async function startServe(lab: Lab): Promise<ChildProcess> {
  const server = spawnCli(['serve', '--primary', lab.public.primaryAddress, '--alternate', lab.public.alternateAddress, '--port', '3478', '--json'], {
    namespace: lab.public.namespace,
  });
  const ready = JSON.parse(await firstLine(server)) as { stun: { primary: string } };
  expect(ready.stun.primary).toBe(`${lab.public.primaryAddress}:3478`);
  return server;
}

async function detectIn(lab: Lab, side: LabSide, extra: string[] = []): Promise<DetectReport> {
  const run = await runCli(['detect', '--server', `${lab.public.primaryAddress}:3478`, '--json', ...extra], { namespace: side.client.namespace });
  expect([0, 1], `${side.natType}: ${run.stderr}`).toContain(run.code);
  return JSON.parse(run.stdout) as DetectReport;
}

describe.skipIf(!runLab)('nat-probe detect in the NAT lab', () => {
  const labs: Lab[] = [];
  const servers: ChildProcess[] = [];

  beforeAll(async () => {
    const built = await Promise.allSettled(PAIRS.map(([a, b]) => buildLab({ a, b, prefix: PREFIX })));
    for (const result of built) if (result.status === 'fulfilled') labs.push(result.value);
    const failure = built.find((result) => result.status === 'rejected');
    if (failure) throw failure.reason;
    servers.push(...(await Promise.all(labs.map(startServe))));
  }, 60_000);

  afterAll(async () => {
    await Promise.all(servers.map((server) => stopProcess(server)));
    await Promise.all(labs.map((lab) => destroyLab(lab)));
    await destroyAllLabs(PREFIX);
  });

  const sides = (): { lab: Lab; side: LabSide }[] => labs.flatMap((lab) => [lab.a, lab.b!].map((side) => ({ lab, side })));

  it('gives the built mapping, filtering, classic name and port allocation for every NAT type', async () => {
    const runs = await Promise.all(
      sides().map(async ({ lab, side }) => {
        const run = await runCli(['detect', '--server', `${lab.public.primaryAddress}:3478`, '--json'], { namespace: side.client.namespace });
        return { side, run };
      }),
    );
    for (const { side, run } of runs) {
      const expected = EXPECTED_BEHAVIOUR[side.natType];
      expect(run.code, `${side.natType}: ${run.stderr}`).toBe(0);
      const report = JSON.parse(run.stdout) as DetectReport;
      const verdict = report.results[0]!.verdict;
      expect(
        { type: side.natType, mapping: verdict.mapping, filtering: verdict.filtering, classic: verdict.classicName, ports: verdict.portAllocation.kind },
        verdict.reasons.join('\n'),
      ).toEqual({ type: side.natType, mapping: expected.mapping, filtering: expected.filtering, classic: DETECT_CLASSIC_NAME[expected.classicName], ports: expected.ports });
      expect(verdict.kind).toBe(expected.translates ? 'nat' : expected.filtering === 'endpoint-independent' ? 'no-nat' : 'firewall');
      expect(verdict.confidence).toBe('high');
      if (expected.translates) expect(verdict.publicAddresses).toEqual([side.publicAddress]);
    }
    expect(runs.map((r) => r.side.natType).sort()).toEqual(PAIRS.flat().sort());
  }, 60_000);
});

describe.skipIf(!runLab)('nat-probe detect: hairpinning and packet loss in the lab', () => {
  const labs: Lab[] = [];
  const servers: ChildProcess[] = [];

  afterAll(async () => {
    await Promise.all(servers.map((server) => stopProcess(server)));
    await Promise.all(labs.map((lab) => destroyLab(lab)));
    await destroyAllLabs(PREFIX);
  });

  it('reports hairpinning supported only where the NAT hairpins', async () => {
    const [hairpin, plain] = await Promise.all([
      buildLab({ a: 'port-restricted', hairpin: true, prefix: PREFIX }),
      buildLab({ a: 'port-restricted', prefix: PREFIX }),
    ]);
    labs.push(hairpin, plain);
    servers.push(...(await Promise.all([hairpin, plain].map(startServe))));
    const [withHairpin, without] = await Promise.all([detectIn(hairpin, hairpin.a, ['--hairpin']), detectIn(plain, plain.a, ['--hairpin'])]);
    expect(withHairpin.results[0]!.verdict.hairpinning).toBe('supported');
    expect(without.results[0]!.verdict.hairpinning).toBe('unsupported');
    expect(without.results[0]!.verdict.classicName).toBe('port-restricted-cone');
  }, 60_000);

  it('under 20% packet loss, every verdict is right or inconclusive: never a wrong guess', async () => {
    const lab = await buildLab({ a: 'port-restricted', b: 'symmetric', lossPercent: 20, prefix: PREFIX });
    labs.push(lab);
    servers.push(await startServe(lab));
    const RUNS = 4;
    const reports = await Promise.all(
      [lab.a, lab.b!].flatMap((side) => Array.from({ length: RUNS }, async () => ({ side, report: await detectIn(lab, side) }))),
    );
    let right = 0;
    for (const { side, report } of reports) {
      const verdict = report.results[0]!.verdict;
      const expected = EXPECTED_BEHAVIOUR[side.natType];
      if (verdict.kind === 'inconclusive' || verdict.kind === 'udp-blocked') {
        expect(verdict.reasons.length).toBeGreaterThan(0);
        continue;
      }
      expect({ type: side.natType, classic: verdict.classicName, mapping: verdict.mapping }, verdict.reasons.join('\n')).toEqual({
        type: side.natType,
        classic: DETECT_CLASSIC_NAME[expected.classicName],
        mapping: expected.mapping,
      });
      if (verdict.filtering !== 'unknown') expect(verdict.filtering).toBe(expected.filtering);
      right++;
    }
    // Retransmission makes a right verdict the norm even at 20% loss each way.
    expect(right).toBeGreaterThanOrEqual(RUNS);
  }, 60_000);
});
