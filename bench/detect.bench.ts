/**
 * Time to a verdict for `nat-probe detect --json` as a whole process (Node start-up included),
 * on loopback and behind every NAT type of the lab. Baselines, in the same run and against the
 * same server: coturn's `turnutils_natdiscovery -m -f` and the classic Vovida `stun` client.
 * Target: ≤ 0.5 s median for every case, with the right verdict each time.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildLab, destroyLab, EXPECTED_BEHAVIOUR, DETECT_CLASSIC_NAME, labAvailable, NAT_TYPES, type Lab, type NatType } from '../src/lab/index.js';
import { startStunServer } from '../src/server/index.js';
import { median, type BenchResult } from './harness.js';

const BIN = fileURLToPath(new URL('../bin/nat-probe.js', import.meta.url));
const RUNS = 5;
const BASELINE_RUNS = 3;

interface Timed {
  ms: number;
  code: number | null;
  stdout: string;
  /** Killed at the guard: the client gave no verdict in time. */
  timedOut: boolean;
}

function timed(file: string, args: string[], namespace?: string, guardMs = 30_000): Promise<Timed> {
  const [command, argv] = namespace ? ['ip', ['netns', 'exec', namespace, file, ...args]] : [file, args];
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'ignore'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    let timedOut = false;
    // Bounded: a hung client cannot stall the bench (Vovida's client never returns behind a firewall).
    const guard = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, guardMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(guard);
      resolve({ ms: performance.now() - started, code, stdout, timedOut });
    });
  });
}

/** Progress for a long run goes to stderr, so stdout keeps only the figures. */
function progress(text: string): void {
  process.stderr.write(`  … ${text}\n`);
}

async function series(times: number, run: () => Promise<Timed>): Promise<Timed[]> {
  const results: Timed[] = [];
  for (let i = 0; i < times; i++) results.push(await run());
  return results;
}

const ourDetect = (server: string, namespace?: string) => timed(process.execPath, [BIN, 'detect', '--server', server, '--json'], namespace);
const natDiscovery = (host: string, port: number, namespace?: string) => timed('turnutils_natdiscovery', ['-m', '-f', '-p', String(port), host], namespace);
const VOVIDA_GUARD_MS = 5000;
// The Debian binary by absolute path: npm scripts put node_modules/.bin first on PATH, and the
// `stun` npm package (the codec baseline) installs a `stun` command that starts a server.
const VOVIDA_STUN = '/usr/bin/stun';
const vovida = (host: string, port: number, namespace?: string) =>
  existsSync(VOVIDA_STUN) ? timed(VOVIDA_STUN, [`${host}:${port}`], namespace, VOVIDA_GUARD_MS) : Promise.reject(new Error('not installed'));

function classicOf(run: Timed): string {
  return (JSON.parse(run.stdout) as { results: { verdict: { classicName: string } }[] }).results[0]!.verdict.classicName;
}


/** The baselines' times are set by fixed waits (see LAB-NOTES), so one run each is representative. */
async function baselines(natDiscoveryRun: () => Promise<Timed>, vovidaRun: () => Promise<Timed>): Promise<{ coturnMs: number; note: string }> {
  const coturn = await natDiscoveryRun();
  const vovidaRunResult = await vovidaRun().catch(() => undefined);
  const vovidaNote =
    vovidaRunResult === undefined
      ? 'Vovida stun not installed (apt-get install stun-client)'
      : vovidaRunResult.timedOut
        ? `Vovida stun: no verdict within ${VOVIDA_GUARD_MS / 1000} s`
        : `Vovida stun ${vovidaRunResult.ms.toFixed(0)} ms`;
  return { coturnMs: coturn.ms, note: `coturn natdiscovery ${coturn.ms.toFixed(0)} ms, ${vovidaNote}` };
}

export default async function detectBench(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];

  // Loopback: our server in this process, every client a fresh process.
  const server = await startStunServer({ primary: '127.0.0.1', alternate: '127.0.0.2', port: 0, rateLimit: false });
  try {
    const target = `127.0.0.1:${server.addresses.primary.port}`;
    progress('loopback: nat-probe detect');
    const ours = await series(RUNS, () => ourDetect(target));
    if (!ours.every((run) => run.code === 0 && classicOf(run) === 'open-internet')) throw new Error('detect gave a wrong verdict on loopback');
    progress('loopback: coturn natdiscovery');
    const coturn = await series(BASELINE_RUNS, () => natDiscovery('127.0.0.1', server.addresses.primary.port));
    results.push({
      name: 'detect --json, whole process, loopback (open internet)',
      value: median(ours.map((r) => r.ms)),
      unit: 'ms',
      baseline: { label: 'coturn turnutils_natdiscovery -m -f', value: median(coturn.map((r) => r.ms)) },
      target: { op: '<=', value: 500 },
    });
  } finally {
    await server.close();
  }

  // The lab: every NAT type, one lab each, our server (as `nat-probe serve`) in the public namespace.
  const availability = await labAvailable();
  if (!availability.ok) {
    process.stdout.write(`  (lab part skipped: ${availability.reason})\n`);
    return results;
  }
  for (const type of NAT_TYPES) {
    progress(`lab ${type}: building`);
    const lab: Lab = await buildLab({ a: type, prefix: 'npbd-' });
    const serve = spawn('ip', ['netns', 'exec', lab.public.namespace, process.execPath, BIN, 'serve', '--primary', lab.public.primaryAddress, '--alternate', lab.public.alternateAddress, '--port', '3478', '--json'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      await new Promise<void>((resolve, reject) => {
        serve.stdout.once('data', () => resolve());
        serve.once('exit', (code) => reject(new Error(`serve exited with ${code}`)));
      });
      progress(`lab ${type}: probing`);
      const ns = lab.a.client.namespace;
      const host = lab.public.primaryAddress;
      const ours = await series(RUNS, () => ourDetect(`${host}:3478`, ns));
      const expected = DETECT_CLASSIC_NAME[EXPECTED_BEHAVIOUR[type as NatType].classicName];
      const wrong = ours.filter((run) => classicOf(run) !== expected).length;
      const baseline = await baselines(() => natDiscovery(host, 3478, ns), () => vovida(host, 3478, ns));
      results.push({
        name: `detect --json, whole process, lab ${type}`,
        value: median(ours.map((r) => r.ms)),
        unit: 'ms',
        baseline: { label: 'coturn turnutils_natdiscovery -m -f', value: baseline.coturnMs },
        target: { op: '<=', value: 500 },
        notes: `${wrong === 0 ? `verdict right ${RUNS}/${RUNS}` : `WRONG verdict in ${wrong}/${RUNS} runs`}; baselines: ${baseline.note}`,
      });
      if (wrong > 0) throw new Error(`detect gave a wrong verdict behind ${type}`);
    } finally {
      serve.kill('SIGTERM');
      await destroyLab(lab);
    }
  }
  return results;
}
