/**
 * Mapping lifetime (`detect --lifetime`): total time and probes to find a 30 s one-way UDP
 * mapping (the lab router's conntrack timeout) with the parallel search, beside the sequential
 * doubling-then-bisect search on the same lab in the same run. The target: a 30 s
 * mapping found within ±2 s in at most 45 s. Each search runs once per bench run (they take
 * 35 s and ~2.5 min); run the bench more than once for a range.
 */
import type { Bench, BenchResult } from './harness.js';
import { buildLab, destroyAllLabs, destroyLab, labAvailable } from '../src/lab/index.js';
import type { DetectReport } from '../src/report/detect-report.js';
import { assertBuilt, firstLine, runCli, spawnCli, stopProcess } from '../test/helpers/cli.js';

const PREFIX = 'np11b-';
const LIFETIME_S = 30;

async function search(namespace: string, server: string, how: 'parallel' | 'sequential'): Promise<{ wallMs: number; durationMs: number; mappings: number; packets: number; estimateMs: number; resolutionMs: number }> {
  const run = await runCli(['detect', '--server', server, '--no-portmap', '--lifetime', '--lifetime-case', 'one-way', '--lifetime-max', '64', '--lifetime-search', how, '--json'], { namespace, timeoutMs: 400_000 });
  const report = JSON.parse(run.stdout) as DetectReport;
  const lifetime = report.lifetime;
  if (!lifetime || lifetime.status !== 'measured') throw new Error(`${how}: no lifetime (${run.stderr})`);
  const bracket = lifetime.results[0]!.bracket;
  if (bracket.status !== 'measured') throw new Error(`${how}: ${bracket.status}`);
  return { wallMs: run.durationMs, durationMs: lifetime.durationMs, mappings: lifetime.mappings, packets: lifetime.packetsSent, estimateMs: bracket.estimateMs, resolutionMs: bracket.resolutionMs };
}

const bench: Bench = async () => {
  const availability = await labAvailable();
  if (!availability.ok) throw new Error(`the lab cannot run here: ${availability.reason}`);
  assertBuilt();
  const lab = await buildLab({ a: 'port-restricted', udpTimeout: LIFETIME_S, prefix: PREFIX });
  const serve = spawnCli(['serve', '--primary', lab.public.primaryAddress, '--alternate', lab.public.alternateAddress, '--port', '3478', '--rate-limit', '0', '--json'], { namespace: lab.public.namespace });
  try {
    await firstLine(serve);
    const server = `${lab.public.primaryAddress}:3478`;
    const parallel = await search(lab.a.client.namespace, server, 'parallel');
    const sequential = await search(lab.a.client.namespace, server, 'sequential');
    const found = (r: typeof parallel): string => `${(r.estimateMs / 1000).toFixed(1)} ± ${(r.resolutionMs / 1000).toFixed(1)} s`;
    const results: BenchResult[] = [
      {
        name: `lifetime search: time to find a ${LIFETIME_S} s mapping (parallel)`,
        value: parallel.durationMs / 1000,
        unit: 's',
        baseline: { label: 'sequential doubling then bisect', value: sequential.durationMs / 1000 },
        target: { op: '<=', value: 45 },
        notes: `parallel found ${found(parallel)} (whole process ${(parallel.wallMs / 1000).toFixed(1)} s); sequential found ${found(sequential)} (whole process ${(sequential.wallMs / 1000).toFixed(1)} s)`,
      },
      {
        name: 'lifetime search: mappings made (parallel)',
        value: parallel.mappings,
        unit: 'mappings',
        baseline: { label: 'sequential', value: sequential.mappings },
        notes: `packets sent: parallel ${parallel.packets}, sequential ${sequential.packets}`,
      },
    ];
    return results;
  } finally {
    await stopProcess(serve);
    await destroyLab(lab);
    await destroyAllLabs(PREFIX);
  }
};

export default bench;
