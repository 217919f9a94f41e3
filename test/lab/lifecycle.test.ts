/**
 * Bring-up and teardown: destroyLab must leave no namespace, process or nftables table behind,
 * failed builds clean up after themselves, and prefixes keep labs of other runs untouched.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import {
  buildLab,
  destroyAllLabs,
  destroyLab,
  listNamespaces,
  spawnInNamespace,
  trackedProcesses,
  type Lab,
} from '../../src/lab/index.js';
import { runCommand } from '../../src/lab/run-command.js';
import { labGate } from './helpers.js';

const PREFIX = 'nptl-';
const OTHER_PREFIX = 'nptm-';

const runLab = await labGate('lab lifecycle suite');

function exitOf(child: ChildProcess, timeoutMs: number): Promise<'exited' | 'still running'> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve('exited');
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('still running'), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve('exited');
    });
  });
}

describe.skipIf(!runLab)('lab lifecycle', () => {
  afterAll(async () => {
    await destroyAllLabs(PREFIX);
    await destroyAllLabs(OTHER_PREFIX);
  });

  it('destroyLab leaves no namespace, process or nft table behind', async () => {
    const hostTablesBefore = (await runCommand('nft', ['list', 'tables'])).stdout;
    const lab = await buildLab({ a: 'full-cone', b: 'restricted', cgn: 'port-restricted', hairpin: true, lossPercent: 5, prefix: PREFIX });
    expect(lab.namespaces).toHaveLength(6);
    const present = await listNamespaces();
    for (const ns of lab.namespaces) expect(present).toContain(ns);

    const tracked = [lab.public.namespace, lab.a.client.namespace, lab.b!.router!.namespace].map((ns) => spawnInNamespace(ns, 'sleep', ['300'], { stdio: 'ignore' }));
    // Started by this test but not through spawnInNamespace: teardown finds it with `ip netns pids`.
    const untracked = spawn('ip', ['netns', 'exec', lab.a.cgn!.namespace, 'sleep', '300'], { stdio: 'ignore' });
    await new Promise((resolve) => untracked.once('spawn', resolve));
    expect(trackedProcesses(lab.a.client.namespace)).toHaveLength(1);

    await destroyLab(lab);

    const after = await listNamespaces();
    expect(after.filter((ns) => lab.namespaces.includes(ns))).toEqual([]);
    expect(await Promise.all(tracked.map((child) => exitOf(child, 2000)))).toEqual(['exited', 'exited', 'exited']);
    expect(await exitOf(untracked, 2000)).toBe('exited');
    for (const ns of lab.namespaces) expect(trackedProcesses(ns)).toEqual([]);
    // The rules lived inside the namespaces; the host's own ruleset is untouched.
    expect((await runCommand('nft', ['list', 'tables'])).stdout).toBe(hostTablesBefore);
  });

  it('destroyLab is safe to call twice', async () => {
    const lab = await buildLab({ a: 'none', prefix: PREFIX });
    await destroyLab(lab);
    await expect(destroyLab(lab)).resolves.toBeUndefined();
  });

  it('destroyAllLabs removes every lab with its prefix and nothing else', async () => {
    const mine = await Promise.all([buildLab({ a: 'symmetric', prefix: PREFIX }), buildLab({ a: 'firewall', b: 'none', prefix: PREFIX })]);
    const other = await buildLab({ a: 'port-restricted', prefix: OTHER_PREFIX });
    try {
      const removed = await destroyAllLabs(PREFIX);
      expect(removed.sort()).toEqual(mine.flatMap((lab) => lab.namespaces).sort());
      const left = await listNamespaces();
      expect(left.filter((ns) => ns.startsWith(PREFIX))).toEqual([]);
      for (const ns of other.namespaces) expect(left).toContain(ns);
    } finally {
      await destroyLab(other);
    }
  });

  it('refuses to build over an existing lab and leaves that lab intact', async () => {
    const first = await buildLab({ a: 'port-restricted', prefix: PREFIX });
    try {
      await expect(buildLab({ a: 'port-restricted', prefix: PREFIX }, { id: first.id })).rejects.toMatchObject({ code: 'lab-command-failed' });
      const present = await listNamespaces();
      for (const ns of first.namespaces) expect(present).toContain(ns);
    } finally {
      await destroyLab(first);
    }
  });

  it('removes a half-built lab when a bring-up command fails', async () => {
    // A negative seed renders as "0x-1", which nft rejects while the namespaces already exist.
    const attempt = buildLab({ a: 'addr-dependent', b: 'none', prefix: PREFIX }, { id: 'halfbuilt', hashSeed: -1 });
    await expect(attempt).rejects.toMatchObject({ code: 'lab-command-failed', command: expect.arrayContaining(['nft']) });
    expect((await listNamespaces()).filter((ns) => ns.startsWith(`${PREFIX}halfbuilt-`))).toEqual([]);
  });
});
