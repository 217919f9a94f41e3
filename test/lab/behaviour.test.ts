/**
 * Validates the lab against theory: each NAT type, built with real kernel NAT, must show the
 * mapping/filtering behaviour `expected.ts` claims, according to an independent RFC 5780 client
 * (coturn's turnutils_natdiscovery), and the port allocation pattern, seen by the udp-peer fixture.
 * Two types share each lab (sides A and B); the four labs are built and probed concurrently.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildLab, destroyAllLabs, destroyLab, EXPECTED_BEHAVIOUR, type Lab, type LabSide, type NatType } from '../../src/lab/index.js';
import { labGate, natDiscovery, primaryServer, runFixture, startCoturn, STUN_PORT } from './helpers.js';

const PREFIX = 'nptb-';
const PAIRS: [NatType, NatType][] = [
  ['full-cone', 'restricted'],
  ['port-restricted', 'addr-dependent'],
  ['symmetric', 'symmetric-sequential'],
  ['none', 'firewall'],
];

const runLab = await labGate('lab behaviour suite', ['turnserver', 'turnutils_natdiscovery']);

describe.skipIf(!runLab)('lab NAT types against expected.ts', () => {
  const labs: Lab[] = [];
  let pidDir = '';

  beforeAll(async () => {
    pidDir = mkdtempSync(join(tmpdir(), 'nat-probe-lab-'));
    const built = await Promise.allSettled(PAIRS.map(([a, b]) => buildLab({ a, b, prefix: PREFIX })));
    for (const result of built) if (result.status === 'fulfilled') labs.push(result.value);
    const failure = built.find((result) => result.status === 'rejected');
    if (failure) throw failure.reason;
    await Promise.all(labs.map((lab, index) => startCoturn(lab, join(pidDir, `coturn-${index}.pid`))));
  });

  afterAll(async () => {
    await Promise.all(labs.map((lab) => destroyLab(lab)));
    await destroyAllLabs(PREFIX); // anything a failed build left behind
    if (pidDir !== '') rmSync(pidDir, { recursive: true, force: true });
  });

  const sides = (): { lab: Lab; side: LabSide }[] => labs.flatMap((lab) => [lab.a, lab.b!].map((side) => ({ lab, side })));

  it('matches coturn natdiscovery mapping and filtering verdicts for every type', async () => {
    const verdicts = await Promise.all(sides().map(async ({ lab, side }) => ({ type: side.natType, verdict: await natDiscovery(lab, side) })));
    for (const { type, verdict } of verdicts) {
      const expected = EXPECTED_BEHAVIOUR[type];
      expect({ type, mapping: verdict.mapping, filtering: verdict.filtering }, verdict.output).toEqual({ type, mapping: expected.mapping, filtering: expected.filtering });
    }
    expect(verdicts.map((v) => v.type).sort()).toEqual(PAIRS.flat().sort());
  }, 30_000);

  it('shows each type’s mapping and port allocation to one socket probing four server endpoints', async () => {
    const results = await Promise.all(
      sides().map(async ({ lab, side }) => {
        const servers = [primaryServer(lab), `${lab.public.primaryAddress}:${STUN_PORT + 1}`, `${lab.public.alternateAddress}:${STUN_PORT}`, `${lab.public.alternateAddress}:${STUN_PORT + 1}`];
        const probe = await runFixture<{ localPort: number; mapped: (string | null)[] }>(side, ['probe', ...servers]);
        return { side, probe };
      }),
    );
    for (const { side, probe } of results) {
      const type = side.natType;
      const expected = EXPECTED_BEHAVIOUR[type];
      const addresses = probe.mapped.map((mapped) => mapped?.split(':')[0]);
      const ports = probe.mapped.map((mapped) => Number(mapped?.split(':')[1]));
      expect({ type, addresses }).toEqual({ type, addresses: Array(4).fill(side.publicAddress) });
      const distinct = new Set(ports).size;
      if (expected.mapping === 'endpoint-independent') expect({ type, distinct }).toEqual({ type, distinct: 1 });
      if (expected.mapping === 'address-dependent') {
        // Same server address → same port, other address → another port (RFC 4787 §4.1).
        expect({ type, samePerAddress: ports[0] === ports[1] && ports[2] === ports[3], differs: ports[0] !== ports[2] }).toEqual({ type, samePerAddress: true, differs: true });
      }
      if (expected.mapping === 'address-and-port-dependent') expect({ type, distinct }).toEqual({ type, distinct: 4 });
      if (expected.ports === 'preserved') expect({ type, port: ports[0] }).toEqual({ type, port: probe.localPort });
      if (expected.ports === 'sequential') expect({ type, steps: ports.slice(1).map((port, i) => port - ports[i]!) }).toEqual({ type, steps: [1, 1, 1] });
      if (expected.ports === 'random') expect({ type, sequential: ports.slice(1).every((port, i) => port - ports[i]! === 1) }).toEqual({ type, sequential: false });
    }
  });

  it('gives symmetric-sequential consecutive ports across new sockets too', async () => {
    const { lab, side } = sides().find(({ side }) => side.natType === 'symmetric-sequential')!;
    const result = await runFixture<{ sockets: { localPort: number; mapped: string | null }[] }>(side, ['sockets', primaryServer(lab), '4']);
    const ports = result.sockets.map((socket) => Number(socket.mapped?.split(':')[1]));
    expect(ports.slice(1).map((port, i) => port - ports[i]!)).toEqual([1, 1, 1]);
  });
});
