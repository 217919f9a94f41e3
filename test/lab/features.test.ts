/**
 * Lab options and read-back: hairpinning, loss, the sequential build strategy, and labStatus.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildLab, destroyAllLabs, destroyLab, labStatus, listLabs, type Lab, type LabSpec } from '../../src/lab/index.js';
import { labGate, primaryServer, runFixture, startCoturn } from './helpers.js';

const PREFIX = 'nptf-';

const runLab = await labGate('lab features suite', ['turnserver', 'conntrack']);

describe.skipIf(!runLab)('lab options and status', () => {
  const labs: Record<'hairpin' | 'plain' | 'lossy' | 'sequential', Lab | undefined> = { hairpin: undefined, plain: undefined, lossy: undefined, sequential: undefined };
  let pidDir = '';

  beforeAll(async () => {
    pidDir = mkdtempSync(join(tmpdir(), 'nat-probe-lab-'));
    const specs: Record<keyof typeof labs, LabSpec> = {
      hairpin: { a: 'port-restricted', b: 'symmetric', hairpin: true, prefix: PREFIX },
      plain: { a: 'port-restricted', b: 'full-cone', prefix: PREFIX },
      lossy: { a: 'port-restricted', b: 'none', lossPercent: 100, prefix: PREFIX },
      sequential: { a: 'full-cone', b: 'restricted', cgn: 'port-restricted', prefix: PREFIX },
    };
    const results = await Promise.allSettled(
      (Object.keys(specs) as (keyof typeof labs)[]).map(async (name) => {
        const lab = await buildLab(specs[name], { strategy: name === 'sequential' ? 'sequential' : 'parallel' });
        labs[name] = lab;
        await startCoturn(lab, join(pidDir, `${name}.pid`));
      }),
    );
    const failure = results.find((result) => result.status === 'rejected');
    if (failure) throw failure.reason;
  });

  afterAll(async () => {
    await Promise.all(Object.values(labs).map((lab) => (lab ? destroyLab(lab) : undefined)));
    await destroyAllLabs(PREFIX);
    if (pidDir !== '') rmSync(pidDir, { recursive: true, force: true });
  });

  it('hairpins only when asked (RFC 4787 §6)', async () => {
    const hairpinLab = labs.hairpin!;
    const plainLab = labs.plain!;
    type Hairpin = { mapped: string | null; hairpin: boolean };
    const [withA, withB, withoutA, withoutB] = await Promise.all([
      runFixture<Hairpin>(hairpinLab.a, ['hairpin', primaryServer(hairpinLab)]),
      runFixture<Hairpin>(hairpinLab.b!, ['hairpin', primaryServer(hairpinLab)]),
      runFixture<Hairpin>(plainLab.a, ['hairpin', primaryServer(plainLab)]),
      runFixture<Hairpin>(plainLab.b!, ['hairpin', primaryServer(plainLab)]),
    ]);
    expect([withA, withB, withoutA, withoutB].map((result) => result.mapped === null)).toEqual([false, false, false, false]);
    expect({ portRestricted: withA.hairpin, symmetric: withB.hairpin }).toEqual({ portRestricted: true, symmetric: true });
    expect({ portRestricted: withoutA.hairpin, fullCone: withoutB.hairpin }).toEqual({ portRestricted: false, fullCone: false });
  });

  it('drops every packet at 100 % loss, behind a router and on a bridged client alike', async () => {
    const lab = labs.lossy!;
    type Probe = { mapped: (string | null)[] };
    const [natted, bridged] = await Promise.all([runFixture<Probe>(lab.a, ['probe', primaryServer(lab)]), runFixture<Probe>(lab.b!, ['probe', primaryServer(lab)])]);
    expect({ natted: natted.mapped, bridged: bridged.mapped }).toEqual({ natted: [null], bridged: [null] });
  });

  it('builds a working lab one command at a time (the benchmark baseline)', async () => {
    const lab = labs.sequential!;
    const probe = await runFixture<{ mapped: (string | null)[] }>(lab.a, ['probe', primaryServer(lab)]);
    expect(probe.mapped[0]?.split(':')[0]).toBe(lab.a.publicAddress);
  });

  it('reads back topology, nft ruleset and conntrack entries', async () => {
    const lab = labs.plain!;
    const probe = await runFixture<{ localPort: number; mapped: (string | null)[] }>(lab.b!, ['probe', primaryServer(lab)]);
    expect(probe.mapped[0]).not.toBeNull();
    const status = await labStatus(lab);
    const of = (namespace: string) => status.namespaces.find((ns) => ns.namespace === namespace)!;

    expect(status.namespaces.map((ns) => ns.namespace)).toEqual(lab.namespaces);
    expect(status.namespaces.every((ns) => ns.exists)).toBe(true);
    expect(of(lab.public.namespace).links.find((link) => link.name === 'br0')?.addresses).toEqual(['203.0.113.1/24', '203.0.113.2/24']);
    expect(of(lab.public.namespace).pids.length).toBeGreaterThan(0); // coturn
    expect(of(lab.b!.client.namespace).routes).toContain('default via 198.51.100.17 dev eth0');

    const router = of(lab.b!.router!.namespace);
    expect(router.nft?.tables).toEqual(['ip natprobe']);
    expect(router.nft?.sets).toContainEqual({ table: 'natprobe', name: 'mappings', elements: expect.any(Number) });
    expect(router.nft?.sets.find((set) => set.name === 'mappings')!.elements).toBeGreaterThan(0);
    expect(router.conntrack).toContainEqual(
      expect.objectContaining({
        protocol: 'udp',
        original: { src: lab.b!.client.address, dst: lab.public.primaryAddress, sport: probe.localPort, dport: 3478 },
        reply: { src: lab.public.primaryAddress, dst: lab.b!.publicAddress, sport: 3478, dport: Number(probe.mapped[0]!.split(':')[1]) },
      }),
    );

    expect((await listLabs(PREFIX)).map((found) => found.id)).toContain(lab.id);
    expect((await listLabs(PREFIX)).find((found) => found.id === lab.id)?.namespaces).toEqual([...lab.namespaces].sort());
  });

  it('reports namespaces that no longer exist', async () => {
    const status = await labStatus({ namespaces: [`${PREFIX}gone-pub`] });
    expect(status.namespaces).toEqual([{ namespace: `${PREFIX}gone-pub`, exists: false, links: [], routes: [], nft: undefined, conntrack: undefined, pids: [] }]);
  });
});
