/**
 * Lab matrix costs.
 *
 * 1. Per-cell peer overhead. In one lab (port-restricted ↔ port-restricted, servers running),
 *    TRIALS trials run the matrix's way — one long-lived `nat-probe lab _peer` worker per side,
 *    started once, running every session — against the baseline of one `nat-probe peer` process
 *    per side per trial (what a script around `peer` would do). Both in the same run, the
 *    baseline interleaved in the same lab. The worker's figure is split into its start-up
 *    (spawn → ready: node and module loading, paid once per cell and side) and the sessions' own
 *    work, to show the cell's time is the peers' work, not process start-up.
 * 2. The matrix runtime (issue target: the default 8-type matrix < 5 min on 2 cores). By default
 *    a reduced matrix (none, port-restricted, restricted, symmetric: 10 cells) runs; set
 *    LAB_MATRIX_BENCH_FULL=1 for all 36 cells. Baseline: the sum of the cells' own times, which is
 *    what running them one after another would cost.
 *
 * Needs root, iproute2, nftables (and a built dist/). Knobs: LAB_MATRIX_BENCH_TRIALS (6),
 * LAB_MATRIX_BENCH_CONCURRENCY (3), LAB_MATRIX_BENCH_STRATEGY (`--strategy` of the runtime row,
 * e.g. `ice,all`; default plain ICE) and LAB_MATRIX_BENCH_RUNS (trials per cell and variant, 3).
 */
import { median, type BenchResult } from './harness.js';
import { buildLab, destroyAllLabs, destroyLab, labAvailable, NAT_TYPES, spawnInNamespace, startLabServers, type Lab, type NatType } from '../src/lab/index.js';
import { runMatrix } from '../src/lab/matrix.js';
import { DEFAULT_CLI_PATH, startPeerWorker } from '../src/lab/matrix-cell.js';
import { parseStrategyVariants } from '../src/lab/matrix-variants.js';
import { assertBuilt } from '../test/helpers/cli.js';

const PREFIX = 'npxb-';
const TRIALS = Number(process.env.LAB_MATRIX_BENCH_TRIALS ?? 6);
const CONCURRENCY = Number(process.env.LAB_MATRIX_BENCH_CONCURRENCY ?? 3);
const FULL = process.env.LAB_MATRIX_BENCH_FULL === '1';
const STRATEGY = process.env.LAB_MATRIX_BENCH_STRATEGY;
const RUNS = Number(process.env.LAB_MATRIX_BENCH_RUNS ?? 3);
const SESSION_TIMEOUT_MS = 8_000;

function exitOf(child: ReturnType<typeof spawnInNamespace>): Promise<number | null> {
  return new Promise((resolve) => child.once('close', (code) => resolve(code)));
}

/** Two long-lived workers, TRIALS sessions each: start-up, session work, total. */
async function workerRun(lab: Lab, servers: { signal: string; stun: string }): Promise<{ startupMs: number; sessionsMs: number; totalMs: number; connected: number }> {
  const started = performance.now();
  let connected = 0;
  const workers = [lab.a, lab.b!].map((side) =>
    startPeerWorker(side, DEFAULT_CLI_PATH, { signal: servers.signal, stun: servers.stun, runs: TRIALS, timeoutMs: SESSION_TIMEOUT_MS }, (_kind, record) => {
      if (side === lab.a && record.connected) connected++;
    }),
  );
  await Promise.all(workers.map((w) => w.ready));
  const readyAt = performance.now();
  for (const w of workers) w.go();
  const finished = await Promise.all(workers.map((w) => w.finished));
  const end = performance.now();
  if (finished.some((f) => f.exitCode !== 0)) throw new Error(`a worker failed: ${finished.map((f) => f.stderr).join(' | ')}`);
  return { startupMs: readyAt - started, sessionsMs: end - readyAt, totalMs: end - started, connected };
}

/** The baseline: per trial, one `nat-probe peer` process per side. */
async function processPerTrial(lab: Lab, servers: { signal: string; stun: string }, trial: number): Promise<{ ms: number; connected: boolean }> {
  const started = performance.now();
  const room = `baseline-${trial}`;
  const codes = await Promise.all(
    [lab.a, lab.b!].map((side) => {
      const child = spawnInNamespace(side.client.namespace, process.execPath, [DEFAULT_CLI_PATH, 'peer', '--signal', servers.signal, '--room', room, '--stun', servers.stun, '--timeout', String(SESSION_TIMEOUT_MS), '--json'], { stdio: 'ignore' });
      return exitOf(child);
    }),
  );
  return { ms: performance.now() - started, connected: codes.every((code) => code === 0) };
}

async function perCellOverhead(): Promise<BenchResult[]> {
  const lab = await buildLab({ a: 'port-restricted', b: 'port-restricted', prefix: PREFIX });
  const servers = await startLabServers(lab, {});
  try {
    const worker = await workerRun(lab, servers);
    const baseline: number[] = [];
    let baselineConnected = 0;
    for (let trial = 1; trial <= TRIALS; trial++) {
      const one = await processPerTrial(lab, servers, trial);
      baseline.push(one.ms);
      if (one.connected) baselineConnected++;
    }
    const baselineTotal = baseline.reduce((a, b) => a + b, 0);
    const perSession = worker.sessionsMs / TRIALS;
    return [
      {
        name: `lab matrix cell: peer time per trial, one long-lived worker per side (PR↔PR, ${TRIALS} trials)`,
        value: worker.totalMs / TRIALS,
        unit: 'ms',
        baseline: { label: 'one `nat-probe peer` process per side per trial', value: baselineTotal / TRIALS },
        target: { op: '<=', value: baselineTotal / TRIALS },
        notes: `connected: worker ${worker.connected}/${TRIALS}, baseline ${baselineConnected}/${TRIALS}; baseline median ${median(baseline).toFixed(0)} ms per trial`,
      },
      {
        name: 'lab matrix cell: worker start-up (spawn → ready, both sides at once), paid once per cell',
        value: worker.startupMs,
        unit: 'ms',
        baseline: { label: `the peers' session work in the same cell (${TRIALS} sessions)`, value: worker.sessionsMs },
        notes: `start-up is ${((100 * worker.startupMs) / worker.totalMs).toFixed(0)}% of the peer time when paid alone, as here; in the matrix the workers start while detect runs, so the runtime row's "worker start-up" is only what is left of it after detect; per session ${perSession.toFixed(0)} ms of work, against ${(baselineTotal / TRIALS - perSession).toFixed(0)} ms of start-up per trial in the baseline`,
      },
    ];
  } finally {
    await servers.stop();
    await destroyLab(lab);
  }
}

async function matrixRuntime(): Promise<BenchResult[]> {
  const types: NatType[] = FULL ? [...NAT_TYPES] : ['none', 'port-restricted', 'restricted', 'symmetric'];
  const variants = STRATEGY === undefined ? undefined : parseStrategyVariants(STRATEGY);
  const result = await runMatrix({ types, concurrency: CONCURRENCY, prefix: PREFIX, runs: RUNS, ...(variants !== undefined ? { variants } : {}) });
  const serial = result.cells.reduce((sum, cell) => sum + cell.timings.totalMs, 0);
  const mismatched = result.cells.filter((c) => c.mismatch).map((c) => `${c.plan.id}: ${c.problems.join('; ')}`);
  const startup = result.cells.reduce((sum, c) => sum + c.timings.workerStartupMs, 0);
  const sessions = result.cells.reduce((sum, c) => sum + c.timings.sessionsMs, 0);
  const mix = result.mix?.variants.map((v) => `${v.name} ${(100 * v.success).toFixed(1)}%`).join(', ');
  return [
    {
      name: `lab matrix runtime: ${result.cells.length} cells (${FULL ? 'all eight types' : 'four types; LAB_MATRIX_BENCH_FULL=1 for all 36'}), ${result.config.runs} trials each${variants !== undefined ? ` per variant (${STRATEGY})` : ''}, concurrency ${CONCURRENCY}`,
      value: result.durationMs / 1000,
      unit: 's',
      baseline: { label: 'the same cells one after another (sum of their times)', value: serial / 1000 },
      // The 5-minute target is the default matrix's (plain ICE, 3 trials); variants multiply the trials.
      ...(FULL && variants === undefined && RUNS === 3 ? { target: { op: '<=' as const, value: 300 } } : {}),
      notes: `${result.cells.length - mismatched.length}/${result.cells.length} cells as theory${mismatched.length > 0 ? ` — ${mismatched.join(' | ')}` : ''}; over all cells, worker start-up ${(startup / 1000).toFixed(1)} s vs peer sessions ${(sessions / 1000).toFixed(1)} s${mix !== undefined ? `; realistic mix ${mix}` : ''}`,
    },
  ];
}

export default async function bench(): Promise<BenchResult[]> {
  const availability = await labAvailable();
  if (!availability.ok) throw new Error(`the lab matrix bench needs the NAT lab: ${availability.reason}`);
  assertBuilt();
  try {
    return [...(await perCellOverhead()), ...(await matrixRuntime())];
  } finally {
    await destroyAllLabs(PREFIX);
  }
}
