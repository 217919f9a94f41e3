/**
 * `nat-probe lab down` after a crash: namespaces with the prefix but no state (a run killed
 * half-way, or a library user that never tore down) are removed with whatever still runs in
 * them, and a stale state file whose PID now belongs to an unrelated process never gets that
 * process killed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { buildLab, destroyAllLabs, listNamespaces, spawnInNamespace } from '../../src/lab/index.js';
import { pidAlive } from '../../src/lab/recorded-pids.js';
import { LAB_STATE_SCHEMA, removeLabFiles, statePath } from '../../src/lab/state.js';
import type { LabDownJson } from '../../src/report/lab-status-report.js';
import { runCli } from '../helpers/cli.js';
import { withinMs } from '../helpers/events.js';
import { labGate } from './helpers.js';

const PREFIX = 'npcb-';
const OTHER = 'npcd-';
const runLab = await labGate('lab CLI leftovers suite');

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

describe.skipIf(!runLab)('nat-probe lab down after a crash', () => {
  const bystanders: ChildProcess[] = [];

  afterAll(async () => {
    for (const child of bystanders) if (child.exitCode === null) child.kill('SIGKILL');
    await destroyAllLabs(PREFIX);
    await destroyAllLabs(OTHER);
    await removeLabFiles(PREFIX);
  });

  it('removes a lab that has namespaces and processes but no state, and no other prefix\'s lab', async () => {
    const crashed = await buildLab({ a: 'full-cone', b: 'symmetric', cgn: 'port-restricted', prefix: PREFIX });
    const other = await buildLab({ a: 'none', prefix: OTHER });
    const inside = spawnInNamespace(crashed.public.namespace, 'sleep', ['600'], { stdio: 'ignore' });
    const otherInside = spawnInNamespace(other.public.namespace, 'sleep', ['600'], { stdio: 'ignore' });
    bystanders.push(otherInside);
    await new Promise((resolve) => inside.once('spawn', resolve));

    // status sees the leftovers and says what to do.
    const status = await runCli(['lab', 'status', '--prefix', PREFIX]);
    expect(status.code).toBe(2);
    expect(status.stderr).toMatch(/namespaces are left from a crashed run .*nat-probe lab down --prefix npcb-/);

    const run = await runCli(['lab', 'down', '--prefix', PREFIX, '--json']);
    expect(run.code).toBe(0);
    const down = JSON.parse(run.stdout) as LabDownJson;
    expect(down.namespaces.sort()).toEqual([...crashed.namespaces].sort());
    await withinMs(exited(inside), 5000, 'the process inside the crashed lab to be killed');

    const left = await listNamespaces();
    expect(left.filter((name) => name.startsWith(PREFIX))).toEqual([]);
    // The other prefix's lab is untouched, process included.
    for (const name of other.namespaces) expect(left).toContain(name);
    expect(otherInside.exitCode).toBeNull();
  });

  it('never signals a recorded PID that is no longer inside the lab (PID reuse), but still removes the stale state', async () => {
    // A process of ours on the host, standing in for an unrelated program that got the old PID.
    const bystander = spawn('sleep', ['600'], { stdio: 'ignore' });
    bystanders.push(bystander);
    await new Promise((resolve) => bystander.once('spawn', resolve));
    const id = 'deadbeef';
    const lab = await buildLab({ a: 'port-restricted', prefix: PREFIX }, { id });
    mkdirSync('/run/nat-probe', { recursive: true });
    const file = statePath(PREFIX, id);
    writeFileSync(
      file,
      JSON.stringify({
        schema: LAB_STATE_SCHEMA,
        createdAt: new Date().toISOString(),
        createdBy: 1,
        lab,
        servers: { stun: '203.0.113.1:3478', signal: 'ws://203.0.113.1:8478/', turn: undefined, pids: [bystander.pid], logFiles: [] },
      }),
    );

    const run = await runCli(['lab', 'down', '--prefix', PREFIX, '--json']);
    expect(run.code).toBe(0);
    const down = JSON.parse(run.stdout) as LabDownJson;
    expect(down.processes.foreign).toEqual([bystander.pid]);
    expect(down.processes.stopped).toEqual([]);
    expect(down.files).toEqual([file]);
    expect(down.namespaces.sort()).toEqual([...lab.namespaces].sort());
    expect(pidAlive(bystander.pid!)).toBe(true);
    expect(bystander.exitCode).toBeNull();
  });
});
