/**
 * Ctrl-C during `lab up` removes what it had started: the namespaces, the (detached) servers
 * and the state files. The signal is sent on an event — the lab's public namespace appearing
 * in /run/netns — so it lands while the lab is being built and the servers are starting.
 */
import { watch } from 'node:fs';
import { readdirSync, readlinkSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { destroyAllLabs, listNamespaces } from '../../src/lab/index.js';
import { removeLabFiles } from '../../src/lab/state.js';
import { spawnCli } from '../helpers/cli.js';
import { withinMs } from '../helpers/events.js';
import { labGate } from './helpers.js';

const PREFIX = 'npce-';
const runLab = await labGate('lab CLI interrupt suite', ['turnserver']);

/** PIDs of processes holding a file under /run/nat-probe/ with our prefix open (the servers' logs). */
function processesWithLabFilesOpen(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue; // exited, or a kernel thread
    }
    for (const fd of fds) {
      let target = '';
      try {
        target = readlinkSync(`/proc/${entry}/fd/${fd}`);
      } catch {
        continue;
      }
      if (target.startsWith(`/run/nat-probe/${PREFIX}`)) {
        pids.push(Number(entry));
        break;
      }
    }
  }
  return pids;
}

describe.skipIf(!runLab)('Ctrl-C during nat-probe lab up', () => {
  afterAll(async () => {
    await destroyAllLabs(PREFIX);
    await removeLabFiles(PREFIX);
  });

  it('exits 1 saying it was interrupted, and leaves no namespace, server process or state file', async () => {
    const appeared = new Promise<string>((resolve) => {
      const watcher = watch('/run/netns', (_, name) => {
        if (typeof name === 'string' && name.startsWith(PREFIX) && name.endsWith('-pub')) {
          watcher.close();
          resolve(name);
        }
      });
    });
    const child = spawnCli(['lab', 'up', '--a', 'full-cone', '--b', 'symmetric', '--prefix', PREFIX]);
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    const namespace = await withinMs(appeared, 10_000, 'the lab namespace to appear');
    child.kill('SIGINT');
    const code = await withinMs(closed, 20_000, 'lab up to exit after SIGINT');

    expect(stderr).toMatch(/interrupted \(SIGINT\); removed the lab it had started/);
    expect(code).toBe(1);
    expect(namespace.startsWith(PREFIX)).toBe(true);
    expect((await listNamespaces()).filter((name) => name.startsWith(PREFIX))).toEqual([]);
    expect(processesWithLabFilesOpen()).toEqual([]);
    expect(readdirSync('/run/nat-probe').filter((name) => name.startsWith(PREFIX))).toEqual([]);
  });
});
