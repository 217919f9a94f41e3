/**
 * Hole punching ground truth (LAB-NOTES): two clients learn their mapped addresses from coturn,
 * swap them, and punch. Whether direct UDP works must match expectDirectSuccess. The pairs run
 * concurrently, each in its own lab.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildLab, destroyAllLabs, destroyLab, expectDirectSuccess, type Lab, type NatType } from '../../src/lab/index.js';
import { holePunch, labGate, startCoturn } from './helpers.js';

const PREFIX = 'nptp-';
const PUNCH_MS = 1500;

const CASES: { a: NatType; b: NatType; cgn?: NatType; direct: boolean }[] = [
  { a: 'port-restricted', b: 'port-restricted', direct: true },
  { a: 'port-restricted', b: 'symmetric', direct: false },
  { a: 'restricted', b: 'symmetric', direct: true },
  { a: 'full-cone', b: 'symmetric', direct: true },
  { a: 'addr-dependent', b: 'port-restricted', direct: false },
  { a: 'port-restricted', cgn: 'port-restricted', b: 'port-restricted', direct: true },
  { a: 'port-restricted', cgn: 'symmetric', b: 'port-restricted', direct: false },
];

const runLab = await labGate('lab hole-punching suite', ['turnserver']);

describe.skipIf(!runLab)('hole punching through lab NATs', () => {
  const labs = new Map<number, Lab>();
  let pidDir = '';

  beforeAll(async () => {
    pidDir = mkdtempSync(join(tmpdir(), 'nat-probe-lab-'));
    const built = await Promise.allSettled(
      CASES.map(async (c, index) => {
        const lab = await buildLab({ a: c.a, b: c.b, cgn: c.cgn, prefix: PREFIX });
        labs.set(index, lab);
        await startCoturn(lab, join(pidDir, `coturn-${index}.pid`));
      }),
    );
    const failure = built.find((result) => result.status === 'rejected');
    if (failure) throw failure.reason;
  });

  afterAll(async () => {
    await Promise.all([...labs.values()].map((lab) => destroyLab(lab)));
    await destroyAllLabs(PREFIX);
    if (pidDir !== '') rmSync(pidDir, { recursive: true, force: true });
  });

  it('the chosen cases are what expected.ts predicts', () => {
    for (const c of CASES) expect({ ...c, predicted: expectDirectSuccess(c.a, c.b, c.cgn) }).toEqual({ ...c, predicted: c.direct });
  });

  it('direct UDP works exactly where expectDirectSuccess says so', async () => {
    const outcomes = await Promise.all(
      CASES.map(async (c, index) => {
        const result = await holePunch(labs.get(index)!, PUNCH_MS);
        return { pair: `${c.a}${c.cgn ? ` behind ${c.cgn} CGN` : ''} ↔ ${c.b}`, direct: result.direct, detail: result };
      }),
    );
    expect(outcomes.map(({ pair, direct }) => ({ pair, direct }))).toEqual(
      CASES.map((c) => ({ pair: `${c.a}${c.cgn ? ` behind ${c.cgn} CGN` : ''} ↔ ${c.b}`, direct: expectDirectSuccess(c.a, c.b, c.cgn) })),
    );
    // Where it works, the packets came from the peer's public address (no relay, no LAN shortcut).
    for (const [index, outcome] of outcomes.entries()) {
      if (!outcome.direct) continue;
      const lab = labs.get(index)!;
      expect(outcome.detail.a.from.every((from) => from.startsWith(`${lab.b!.publicAddress}:`))).toBe(true);
      expect(outcome.detail.b.from.every((from) => from.startsWith(`${lab.a.publicAddress}:`))).toBe(true);
    }
  }, 20_000);
});
