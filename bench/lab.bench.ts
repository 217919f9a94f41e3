/**
 * Lab bring-up: median time for buildLab({ a, b }) (public namespace with the server addresses,
 * two routers, two clients, nft rulesets, links verified up), against the same topology built
 * one command at a time (strategy 'sequential') in the same run. Target: ≤ 1000 ms median.
 * Runs alternate between the two strategies so machine load affects both alike.
 */
import { median, percentile, type Bench, type BenchResult } from './harness.js';
import { buildLab, destroyAllLabs, destroyLab, labAvailable, spawnInNamespace, type LabSpec } from '../src/lab/index.js';

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

const bench: Bench = async () => {
  const availability = await labAvailable();
  if (!availability.ok) throw new Error(`the lab cannot run here: ${availability.reason}`);
  const parallel: number[] = [];
  const sequential: number[] = [];
  const teardown: number[] = [];
  try {
    await timeBuild('parallel'); // warm-up: module loading, first nft/ip invocations
    for (let run = 0; run < RUNS; run++) {
      const p = await timeBuild('parallel');
      parallel.push(p.buildMs);
      teardown.push(p.destroyMs);
      sequential.push((await timeBuild('sequential')).buildMs);
    }
  } finally {
    await destroyAllLabs(PREFIX);
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
  ];
  return results;
};

export default bench;
