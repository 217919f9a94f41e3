/**
 * `nat-probe lab matrix` for real, as a separate process (the built CLI), the reduced matrix CI
 * runs: none, port-restricted, restricted and symmetric (10 cells), plus one carrier-grade NAT
 * case, port-restricted behind a symmetric CGN ↔ port-restricted (LAB-NOTES: fails), each with
 * `--turn`. In every cell the measured direct outcome must match theory, every relay-only trial
 * must connect through the lab's coturn, and detect must name both sides right; the
 * run must leave no namespace of its prefix behind. Bad input exits 2 with one clear line. With
 * `--strategy ice,birthday,all` every cell runs the three variants; plain ICE is still judged by
 * theory, and `all` (with portmap) runs miniupnpd in the routers and reaches every cell.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { destroyAllLabs, expectDirectSuccess, listNamespaces } from '../../src/lab/index.js';
import type { LabMatrixReport } from '../../src/report/lab-matrix-report.js';
import { createInterface } from 'node:readline';
import { runCli, spawnCli } from '../helpers/cli.js';
import { NOBODY_SKIP_REASON, nobodyCanRunCli, runAsNobody } from '../helpers/nobody.js';
import { withinMs } from '../helpers/events.js';
import { labGate } from './helpers.js';

const PREFIX = 'npx-';
const runLab = await labGate('lab matrix suite');
const nobodyCanRun = runLab && nobodyCanRunCli();
if (runLab && !nobodyCanRun) process.stderr.write(`skipping the lab matrix no-root case: ${NOBODY_SKIP_REASON}\n`);

describe('lab matrix: bad input', () => {
  it('an unknown type or a non-translating CGN exits 2 with one line naming the valid types', async () => {
    const unknown = await runCli(['lab', 'matrix', '--types', 'none,cone', '--prefix', PREFIX]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.trim()).toBe(
      'nat-probe: Unknown NAT type "cone" in --types. Use a comma-separated list of: none, firewall, full-cone, restricted, port-restricted, addr-dependent, symmetric, symmetric-sequential (or "all"). [lab-bad-spec]',
    );
    const cgn = await runCli(['lab', 'matrix', '--cgn', 'firewall', '--prefix', PREFIX]);
    expect(cgn.code).toBe(2);
    expect(cgn.stderr).toMatch(/^nat-probe: A carrier-grade NAT must translate; "firewall" does not\..*\[lab-bad-spec\]\n$/);
    const runs = await runCli(['lab', 'matrix', '--runs', '0']);
    expect(runs.code).toBe(2);
    expect(runs.stderr).toContain('--runs must be a whole number from 1 to 1000, got "0".');
    const strategy = await runCli(['lab', 'matrix', '--strategy', 'ice,bday', '--prefix', PREFIX]);
    expect(strategy.code).toBe(2);
    expect(strategy.stderr.trim()).toBe('nat-probe: Unknown strategy "bday": use ice, predict, birthday, relay-ladder, portmap or all, separated by commas. [unknown-strategy]');
  });

  // Like its siblings in cli-errors.test.ts: in a checkout nobody cannot read, node fails with 1 before nat-probe runs.
  it.skipIf(!nobodyCanRun)('without root exits 2 and says so (run as nobody through setpriv)', async () => {
    const { code, stderr } = await runAsNobody(['lab', 'matrix', '--types', 'none', '--prefix', PREFIX]);
    expect(code).toBe(2);
    expect(stderr.trim()).toMatch(/^nat-probe: The NAT lab .* needs root\. Re-run as root \(e\.g\. with sudo\)\. \[lab-needs-root\]$/);
  });
});

describe.skipIf(!runLab)('lab matrix through real kernel NAT (reduced CI matrix)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nat-probe-matrix-'));

  // Leftovers of an earlier run that was killed (SIGKILL, a closed terminal) would fail the checks below.
  beforeAll(() => destroyAllLabs(PREFIX), 30_000);

  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await destroyAllLabs(PREFIX);
  });

  const matrix = async (args: string[]): Promise<{ code: number | null; report: LabMatrixReport; stderr: string }> => {
    const run = await runCli(['lab', 'matrix', ...args, '--prefix', PREFIX, '--json'], { timeoutMs: 240_000 });
    return { code: run.code, report: JSON.parse(run.stdout) as LabMatrixReport, stderr: run.stderr };
  };

  it('Ctrl-C stops starting cells, cuts those in flight short, removes every lab and exits 1', async () => {
    const child = spawnCli(['lab', 'matrix', '--types', 'port-restricted,symmetric', '--runs', '3', '--concurrency', '2', '--prefix', PREFIX]);
    let stdout = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const lines = createInterface({ input: child.stderr! });
    // Interrupt once a cell's peer workers run: the path where processes must be stopped mid-trial.
    const trialsRunning = new Promise<void>((resolve) => lines.on('line', (line) => line.includes('trials running') && resolve()));
    await withinMs(trialsRunning, 30_000, 'the first cell to run its trials');
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    child.kill('SIGINT');
    const code = await withinMs(exited, 30_000, 'the matrix to stop after SIGINT');
    expect(code).toBe(1);
    expect(stdout).toMatch(/cells \(interrupted\) in /);
    expect(stdout).toContain('cell did not run: interrupted');
    expect((await listNamespaces()).filter((name) => name.startsWith(PREFIX))).toEqual([]);
  }, 60_000);

  it('measured direct outcome and detect verdicts match theory in every cell, CGN case included', async () => {
    const html = join(dir, 'matrix.html');
    const [main, cgn] = await Promise.all([
      matrix(['--types', 'none,port-restricted,restricted,symmetric', '--runs', '2', '--concurrency', '3', '--turn', '--html', html]),
      matrix(['--types', 'port-restricted', '--cgn', 'symmetric', '--runs', '2', '--turn']),
    ]);
    for (const { code, report, stderr } of [main, cgn]) {
      const differences = JSON.stringify(report.differences, null, 1);
      expect(report.schema).toBe('nat-probe.lab-matrix/v2');
      for (const cell of report.cells) {
        // Theory comes from the same table the lab was verified against (LAB-NOTES), not from the run.
        expect(cell.theory.direct, cell.id).toBe(expectDirectSuccess(cell.a as never, cell.b as never, (cell.cgn ?? undefined) as never));
        expect({ id: cell.id, succeeded: cell.direct.succeeded, error: cell.error }, differences).toEqual({ id: cell.id, succeeded: cell.theory.direct ? 2 : 0, error: null });
        expect([cell.detect.a.correct, cell.detect.b.correct], `${cell.id}: ${JSON.stringify([cell.detect.a.differences, cell.detect.b.differences])}`).toEqual([true, true]);
        // Through coturn in the public namespace every pair connects, relay to relay (RFC 8656).
        expect({ id: cell.id, relay: cell.relay?.succeeded, types: cell.relay?.pairTypes.map((p) => p.pairType) }, differences).toEqual({ id: cell.id, relay: 2, types: ['relay/relay'] });
        expect(cell.theory.relay).toBe(true);
        if (cell.theory.direct) {
          expect(cell.direct.timeToConnectMs.samples).toHaveLength(2);
          expect(cell.direct.pairTypes.length).toBeGreaterThan(0);
        }
      }
      expect(report.summary.mismatched, differences).toBe(0);
      expect(code, stderr).toBe(0);
    }
    expect(main.report.cells.map((c) => c.id)).toHaveLength(10);
    expect(cgn.report.cells.map((c) => c.id)).toEqual(['port-restricted@symmetric~port-restricted']);
    expect(cgn.report.cells[0]!.theory.direct).toBe(false);
    expect(cgn.report.cells[0]!.detect.a.classicName).toBe('symmetric');
    // Cells a srflx pair serves, and one the open side reaches through a peer-reflexive candidate.
    const pr = main.report.cells.find((c) => c.id === 'port-restricted~port-restricted')!;
    expect(pr.direct.pairTypes.map((p) => p.pairType)).toEqual(['srflx/srflx']);
    // Progress lines went to stderr, one per finished cell.
    expect(main.stderr.match(/^cell +\d+\/10 /gm)).toHaveLength(10);
    // The HTML report was written and holds the grid.
    const page = readFileSync(html, 'utf8');
    expect(page.match(/<td class="cell/g)).toHaveLength(16);
    // Every cell's lab is gone.
    expect((await listNamespaces()).filter((name) => name.startsWith(PREFIX))).toEqual([]);
  }, 300_000);

  it('--strategy ice,birthday,all runs the variants in every cell, side by side, with plain ICE still judged by theory; all brings miniupnpd and portmap', async () => {
    const { code, report, stderr } = await matrix(['--types', 'port-restricted,symmetric', '--runs', '2', '--strategy', 'ice,birthday,all']);
    const differences = JSON.stringify(report.differences, null, 1);
    expect(report.config.variants).toEqual([
      { name: 'ice', strategies: [] },
      { name: 'birthday', strategies: ['birthday'] },
      { name: 'all', strategies: ['predict', 'birthday', 'relay-ladder', 'portmap'] },
    ]);
    expect(report.cells.map((c) => c.id)).toEqual(['port-restricted~port-restricted', 'port-restricted~symmetric', 'symmetric~symmetric']);
    for (const cell of report.cells) {
      expect(cell.error, cell.id).toBeNull();
      const [ice, birthday, all] = cell.variants;
      expect([ice!.name, birthday!.name, all!.name]).toEqual(['ice', 'birthday', 'all']);
      // Plain ICE is the v1 `direct` and goes the way theory says; no variant loses what ICE wins.
      expect({ id: cell.id, ice: ice!.succeeded, direct: cell.direct.succeeded }, differences).toEqual({ id: cell.id, ice: cell.theory.direct ? 2 : 0, direct: cell.theory.direct ? 2 : 0 });
      if (cell.theory.direct) expect([birthday!.succeeded, all!.succeeded], cell.id).toEqual([2, 2]);
      expect(all!.uplift!.points).toBe(100 * (all!.successRate - ice!.successRate));
      expect(all!.trials).toHaveLength(2);
      for (const trial of birthday!.trials) {
        expect(Number.isInteger(trial.probesSent) && trial.probesSent >= 0).toBe(true);
        expect(Number.isInteger(trial.socketsOpened) && trial.socketsOpened >= 0).toBe(true);
      }
      expect(['ice', 'predict', 'birthday', 'relay-only', 'unknown']).toContain(birthday!.plan.technique);
      // Plain ICE asks for no strategy, so its sessions report none.
      expect(ice!.plan.technique).toBe('unknown');
      // all includes portmap: every cell's routers ran miniupnpd, both sides asked, every mapping was deleted.
      expect(all!.portmap, cell.id).toMatchObject({ asked: 4, mapped: 4, deleted: 4 });
      expect(birthday!.portmap).toBeUndefined();
    }
    // Birthday alone cannot reach symmetric ↔ symmetric (random ports on both sides: its plan is
    // relay-only); the gateways' mappings can, so the cell is not relay-only.
    const ss = report.cells.find((c) => c.id === 'symmetric~symmetric')!;
    const [, ssBirthday, ssAll] = ss.variants;
    expect(ssBirthday!.plan.technique).toBe('relay-only');
    expect(ssBirthday!.succeeded).toBe(0);
    expect(ssAll).toMatchObject({ succeeded: 2, plan: { technique: 'portmap' }, winners: [{ winner: 'portmap', count: 2 }] });
    expect(ss.relayOnly).toBeNull();
    expect(report.summary.relayOnly).toBe(0);
    expect(report.mix!.variants.map((v) => v.name)).toEqual(['ice', 'birthday', 'all']);
    expect(report.mix!.allOverIce!.all).toBeGreaterThanOrEqual(report.mix!.allOverIce!.ice);
    expect(report.summary.mismatched, differences).toBe(0);
    expect(code, stderr).toBe(0);
    // One progress line per cell, each with every variant's score.
    expect(stderr.match(/^cell +\d\/3 .*  ice \d\/2 · birthday \d\/2( \([^)]*\))? · all \d\/2/gm)).toHaveLength(3);
    expect((await listNamespaces()).filter((name) => name.startsWith(PREFIX))).toEqual([]);
  }, 240_000);
});
