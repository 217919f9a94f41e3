/**
 * Lab bring-up: median time for buildLab({ a, b }) (public namespace with the server addresses,
 * two routers, two clients, nft rulesets, links verified up), against the same topology built
 * one command at a time (strategy 'sequential') in the same run. Target: ≤ 1000 ms median.
 * Runs alternate between the two strategies so machine load affects both alike.
 *
 * Then the same with the servers (`nat-probe serve` + coturn, each awaited on its readiness
 * answer): `startLabServers` overlapping the build (servers start once the namespaces exist)
 * against the naive order (sequential build, then the servers); and the user's figure, the whole
 * `nat-probe lab up` process (node start-up included), against `lab up --no-turn` (no coturn).
 */
import { median, percentile, type Bench, type BenchResult } from './harness.js';
import { buildLab, destroyAllLabs, destroyLab, labAvailable, spawnInNamespace, startLabServers, type LabSpec } from '../src/lab/index.js';
import { removeLabFiles } from '../src/lab/state.js';
import { assertBuilt, runCli } from '../test/helpers/cli.js';

const PREFIX = 'npb-';
const RUNS = 7;
const SPEC: LabSpec = { a: 'port-restricted', b: 'symmetric', prefix: PREFIX };

async function timeBuild(strategy: 'parallel' | 'sequential'): Promise<{ buildMs: number; destroyMs: number }> {
  const started = performance.now();
  const lab = await buildLab(SPEC, { strategy });
  const buildMs = performance.now() - started;
  // A placeholder server process in the public namespace, so teardown has something to stop.
  spawnInNamespace(lab.public.namespace, 'sleep', ['60'], { stdio: 'ignore' });
  const destroyStarted = performance.now();
  await destroyLab(lab);
  return { buildMs, destroyMs: performance.now() - destroyStarted };
}

/** Lab + servers ready: overlapped (the `lab up` way) or one phase after the other. */
async function timeWithServers(order: 'overlapped' | 'sequential'): Promise<number> {
  const started = performance.now();
  let lab;
  let servers;
  if (order === 'overlapped') {
    let starting: ReturnType<typeof startLabServers> | undefined;
    const building = buildLab(SPEC, { onNamespacesCreated: (planned) => void (starting = startLabServers(planned, { turn: true, labReady: building })) });
    lab = await building;
    servers = await starting!;
  } else {
    lab = await buildLab(SPEC, { strategy: 'sequential' });
    servers = await startLabServers(lab, { turn: true });
  }
  const elapsed = performance.now() - started;
  await servers.stop();
  await destroyLab(lab);
  return elapsed;
}

/** The whole `nat-probe lab up` process, as a user runs it; then `lab down` (timed too). */
async function timeCli(extra: readonly string[]): Promise<{ upMs: number; downMs: number }> {
  const up = await runCli(['lab', 'up', '--a', 'port-restricted', '--b', 'symmetric', '--prefix', PREFIX, ...extra], { timeoutMs: 30_000 });
  if (up.code !== 0) throw new Error(`lab up failed (${up.code}): ${up.stderr}`);
  const down = await runCli(['lab', 'down', '--prefix', PREFIX], { timeoutMs: 30_000 });
  if (down.code !== 0) throw new Error(`lab down failed (${down.code}): ${down.stderr}`);
  return { upMs: up.durationMs, downMs: down.durationMs };
}

const bench: Bench = async () => {
  const availability = await labAvailable({ tools: ['turnserver'] });
  if (!availability.ok) throw new Error(`the lab cannot run here: ${availability.reason}`);
  const parallel: number[] = [];
  const sequential: number[] = [];
  const teardown: number[] = [];
  const overlapped: number[] = [];
  const naive: number[] = [];
  const cliUp: number[] = [];
  const cliDown: number[] = [];
  const cliNoTurn: number[] = [];
  try {
    await timeBuild('parallel'); // warm-up: module loading, first nft/ip invocations
    for (let run = 0; run < RUNS; run++) {
      const p = await timeBuild('parallel');
      parallel.push(p.buildMs);
      teardown.push(p.destroyMs);
      sequential.push((await timeBuild('sequential')).buildMs);
    }
    await timeWithServers('overlapped'); // warm-up: serve's and coturn's first start (page cache)
    for (let run = 0; run < RUNS; run++) {
      overlapped.push(await timeWithServers('overlapped'));
      naive.push(await timeWithServers('sequential'));
    }
    assertBuilt();
    for (let run = 0; run < RUNS; run++) {
      const full = await timeCli([]);
      cliUp.push(full.upMs);
      cliDown.push(full.downMs);
      cliNoTurn.push((await timeCli(['--no-turn'])).upMs);
    }
  } finally {
    await runCli(['lab', 'down', '--prefix', PREFIX]).catch(() => undefined);
    await destroyAllLabs(PREFIX);
    await removeLabFiles(PREFIX);
  }
  const results: BenchResult[] = [
    {
      name: 'lab: buildLab({ a: port-restricted, b: symmetric }) bring-up, median',
      value: median(parallel),
      unit: 'ms',
      baseline: { label: 'same topology, one command at a time', value: median(sequential) },
      target: { op: '<=', value: 1000 },
      notes: `${RUNS} runs each; parallel p90 ${percentile(parallel, 90).toFixed(0)} ms, sequential p90 ${percentile(sequential, 90).toFixed(0)} ms; destroyLab median ${median(teardown).toFixed(0)} ms`,
    },
    {
      name: 'lab: two sides + nat-probe serve + coturn, ready (in-process), median',
      value: median(overlapped),
      unit: 'ms',
      baseline: { label: 'sequential build, then the servers', value: median(naive) },
      target: { op: '<=', value: 1000 },
      notes: `${RUNS} runs each; servers start once the namespaces exist (ip_nonlocal_bind) and serve ‖ coturn; p90 ${percentile(overlapped, 90).toFixed(0)} ms vs ${percentile(naive, 90).toFixed(0)} ms`,
    },
    {
      name: 'lab: `nat-probe lab up --a port-restricted --b symmetric` (whole process, servers incl. coturn), median',
      value: median(cliUp),
      unit: 'ms',
      baseline: { label: '`lab up --no-turn` (serve only)', value: median(cliNoTurn) },
      target: { op: '<=', value: 1000 },
      notes: `${RUNS} runs each, node start-up included; p90 ${percentile(cliUp, 90).toFixed(0)} ms; \`lab down\` median ${median(cliDown).toFixed(0)} ms`,
    },
  ];
  return results;
};

export default bench;
