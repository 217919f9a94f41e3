/**
 * `detect` whole-process time with the gateway probes on beside off (`--no-portmap`), in a lab
 * client namespace, against the lab's server: (1) the router runs no port-mapping service, so
 * nothing answers the probes — they must not make detect slower; (2) the router runs miniupnpd
 * (`--portmap`), so all three protocols answer. Runs alternate on/off so load hits both alike.
 */
import { median, percentile, type Bench, type BenchResult } from './harness.js';
import { buildLab, destroyAllLabs, destroyLab, labAvailable, startLabServers, type Lab } from '../src/lab/index.js';
import { assertBuilt, runCli } from '../test/helpers/cli.js';

const PREFIX = 'np11d-';
const RUNS = 9;

async function timeDetect(lab: Lab, portmap: boolean): Promise<number> {
  const run = await runCli(['detect', '--server', `${lab.public.primaryAddress}:3478`, '--json', ...(portmap ? [] : ['--no-portmap'])], { namespace: lab.a.client.namespace });
  if (run.code !== 0) throw new Error(`detect failed (${run.code}): ${run.stderr}`);
  return run.durationMs;
}

async function compare(lab: Lab): Promise<{ on: number[]; off: number[] }> {
  const on: number[] = [];
  const off: number[] = [];
  await timeDetect(lab, true); // warm-up
  for (let i = 0; i < RUNS; i++) {
    on.push(await timeDetect(lab, true));
    off.push(await timeDetect(lab, false));
  }
  return { on, off };
}

const bench: Bench = async () => {
  const availability = await labAvailable({ tools: ['miniupnpd'] });
  if (!availability.ok) throw new Error(`the lab cannot run here: ${availability.reason}`);
  assertBuilt();
  const [silent, answering] = await Promise.all([buildLab({ a: 'port-restricted', prefix: PREFIX }), buildLab({ a: 'port-restricted', prefix: PREFIX })]);
  const servers = await Promise.all([startLabServers(silent), startLabServers(answering, { portmap: true })]);
  try {
    const quiet = await compare(silent);
    const loud = await compare(answering);
    const row = (name: string, r: { on: number[]; off: number[] }, withTarget: boolean): BenchResult => ({
      name,
      value: median(r.on),
      unit: 'ms',
      baseline: { label: '--no-portmap', value: median(r.off) },
      ...(withTarget ? { target: { op: '<=' as const, value: Math.round(median(r.off) * 1.1) } } : {}),
      notes: `${RUNS} runs each, alternating; p90 on ${percentile(r.on, 90).toFixed(0)} ms, off ${percentile(r.off, 90).toFixed(0)} ms${withTarget ? '; target: within 10 % of off' : ''}`,
    });
    // The requirement is for a gateway that does not answer; with one that does, the
    // UPnP conversation may run past the STUN tests, and the row shows what that costs.
    return [row('detect whole process, gateway silent (probes on)', quiet, true), row('detect whole process, miniupnpd answering (probes on)', loud, false)];
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    await Promise.all([silent, answering].map((lab) => destroyLab(lab)));
    await destroyAllLabs(PREFIX);
  }
};

export default bench;
