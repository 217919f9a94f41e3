/**
 * Bad input and a wrong environment get one precise line and exit 2, and create nothing:
 * unknown NAT types, a CGN that does not translate, a bad prefix or loss, no root (a real
 * unprivileged process via setpriv), coturn missing from PATH, an unknown exec target.
 */
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { destroyAllLabs, listNamespaces, NAT_TYPES } from '../../src/lab/index.js';
import { removeLabFiles } from '../../src/lab/state.js';
import { runCli } from '../helpers/cli.js';
import { NOBODY_SKIP_REASON, nobodyCanRunCli, runAsNobody } from '../helpers/nobody.js';
import { findTool } from '../helpers/tools.js';
import { labGate } from './helpers.js';

const PREFIX = 'npcc-';
const runLab = await labGate('lab CLI errors suite');

async function labNamespaces(): Promise<string[]> {
  return (await listNamespaces()).filter((name) => name.startsWith(PREFIX));
}

const nobodyCanRun = runLab && nobodyCanRunCli();
if (runLab && !nobodyCanRun) process.stderr.write(`skipping the no-root cases: ${NOBODY_SKIP_REASON}\n`);

describe.skipIf(!runLab)('nat-probe lab: bad input and environment', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'npc-path-'));

  afterAll(async () => {
    rmSync(scratch, { recursive: true, force: true });
    await runCli(['lab', 'down', '--prefix', PREFIX]).catch(() => undefined);
    await destroyAllLabs(PREFIX);
    await removeLabFiles(PREFIX);
  });

  it.each([
    [['--a', 'bogus'], /Unknown NAT type "bogus" for "a"\. Use one of: none, firewall, full-cone, restricted, port-restricted, addr-dependent, symmetric, symmetric-sequential\. \[lab-bad-spec\]/],
    [['--a', 'symmetric', '--b', 'cone'], /Unknown NAT type "cone" for "b"/],
    [['--a', 'symmetric', '--cgn', 'firewall'], /A carrier-grade NAT must translate; "firewall" does not/],
    [['--a', 'symmetric', '--loss', '101'], /--loss must be a whole number from 0 to 100, got "101"/],
    [['--a', 'symmetric', '--prefix', 'NP'], /Invalid lab prefix "NP"/],
    [['--a', 'symmetric', '--delay', '5001'], /--delay must be a whole number from 0 to 5000, got "5001"/],
    [['--a', 'symmetric', '--delay', '10', '--jitter', '20'], /The jitter \(jitterMs, --jitter\) must be from 0 to the delay \(10 ms\), got 20.*\[lab-bad-spec\]/],
    [[], /required option '--a <type>' not specified/],
  ])('lab up %j exits 2 with one clear line and builds nothing', async (args, message) => {
    const run = await runCli(['lab', 'up', ...args, ...(args.includes('--prefix') ? [] : ['--prefix', PREFIX])]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(run.stdout).toBe('');
    expect(await labNamespaces()).toEqual([]);
  });

  it('lists every valid type in the unknown-type message', async () => {
    const run = await runCli(['lab', 'up', '--a', 'nat', '--prefix', PREFIX]);
    for (const type of NAT_TYPES) expect(run.stderr).toContain(type);
  });

  it.skipIf(!nobodyCanRun).each([
    ['up', ['lab', 'up', '--a', 'symmetric', '--prefix', PREFIX]],
    ['down', ['lab', 'down', '--prefix', PREFIX]],
    ['status', ['lab', 'status', '--prefix', PREFIX]],
    ['exec', ['lab', 'exec', 'a', '--prefix', PREFIX, '--', 'true']],
  ])('lab %s without root exits 2 with "needs root … sudo"', async (_, args) => {
    const run = await runAsNobody(args);
    expect(run.stderr).toMatch(/needs root\. Re-run as root \(e\.g\. with sudo\)\. \[lab-needs-root\]/);
    expect(run.code).toBe(2);
    expect(await labNamespaces()).toEqual([]);
  });

  it('lab up without coturn on PATH exits 2 naming the package; --no-turn does not need it', async () => {
    // A PATH holding only the tools the lab itself needs.
    for (const tool of ['ip', 'nft', 'sysctl']) symlinkSync(findTool(tool)!, join(scratch, tool));
    const run = await runCli(['lab', 'up', '--a', 'symmetric', '--prefix', PREFIX], { env: { PATH: scratch } });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/needs turnserver, which is not installed\. Install it with: apt-get install coturn \[lab-missing-tool\]/);
    expect(await labNamespaces()).toEqual([]);

    const noTurn = await runCli(['lab', 'up', '--a', 'none', '--no-turn', '--prefix', PREFIX, '--json'], { env: { PATH: scratch } });
    expect(noTurn.stderr).toBe('');
    expect(noTurn.code).toBe(0);
    const up = JSON.parse(noTurn.stdout) as { servers: { turn: unknown; pids: number[] } };
    expect(up.servers.turn).toBeNull();
    expect(up.servers.pids).toHaveLength(1);
  });

  it('lab exec rejects an unknown place and a side the lab does not have, with exit 2', async () => {
    // Uses the one-sided --no-turn lab of the previous test.
    const unknown = await runCli(['lab', 'exec', 'c', '--prefix', PREFIX, '--', 'true']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/Unknown place "c" for lab exec: use one of a, b, pub, ra, rb, ca\. \[lab-bad-spec\]/);
    const missing = await runCli(['lab', 'exec', 'b', '--prefix', PREFIX, '--', 'true']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/has no "b" \(it has a, pub\)/);
    const down = await runCli(['lab', 'down', '--prefix', PREFIX]);
    expect(down.code).toBe(0);
    expect(await labNamespaces()).toEqual([]);
  });
});
