/**
 * The built-in STUN server's Binding throughput on loopback, driven by the project's own load
 * generator (bench/stun-load-generator.ts), beside coturn `--stun-only` driven by the same
 * generator in the same run. The target: at least 100,000 requests/s from one server
 * process.
 *
 * Three processes at most run at once: the server under test, one generator, and this
 * orchestrator, which sleeps while the generator runs. The server is the shipped CLI
 * (`node bin/nat-probe.js serve --port 0 --rate-limit 0 --json`, RFC 5780 on 127.0.0.1 +
 * 127.0.0.2, rate limit off since the whole load comes from one source IP), so run
 * `npm run build` first; the bench refuses a dist/ older than the sources it would measure.
 * coturn listens on the same two addresses.
 *
 * A third server, bench/minimal-stun-responder.ts, is a reference: a node:dgram loop that answers
 * without decoding anything. It shows what node:dgram itself allows on this machine (about
 * 100,000/s: one recvmsg and one sendmsg per request, on a VM), so a reader can tell how much of
 * a shortfall is the server's own work and how much is the runtime and the kernel.
 *
 * The machine is shared and small (2 cores on a VM): each target is loaded in ROUNDS short
 * rounds, interleaved, and the best round is the figure (capacity), with every round printed.
 * The server's CPU time per answered request (from /proc) is printed too: it does not depend on
 * whether the scheduler gave the server a core of its own.
 */
import { supervise } from '../test/helpers/child.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startCoturn } from '../test/helpers/coturn.js';
import { toolGate } from '../test/helpers/tools.js';
import { median, type BenchResult } from './harness.js';
import { runLoadGeneratorProcess, type LoadGeneratorConfig, type LoadGeneratorResult } from './stun-load-generator.js';

const TARGET_PER_SECOND = 100_000;
const ROUNDS = 4;
const LOAD: Omit<LoadGeneratorConfig, 'target'> = {
  sockets: 8,
  // 128 in flight: enough to keep a server busy, few enough to fit a default UDP receive buffer.
  windowPerSocket: 16,
  warmupMs: 300,
  durationMs: 1500,
  drainMs: 100,
};
const ONE_AT_A_TIME: Omit<LoadGeneratorConfig, 'target'> = {
  sockets: 1,
  windowPerSocket: 1,
  warmupMs: 100,
  durationMs: 600,
  latencySampleEvery: 1,
};
/** Linux reports process CPU in clock ticks of 1/100 s (USER_HZ) in /proc/<pid>/stat. */
const USER_HZ = 100;

const root = fileURLToPath(new URL('..', import.meta.url));

interface ServerUnderTest {
  label: string;
  port: number;
  pid: number;
  /** Stops it; resolves to what it printed on stderr. */
  stop(): Promise<string>;
}

interface Round {
  load: LoadGeneratorResult;
  /** Server CPU per answered request while the generator ran, µs (user, system). */
  cpuUs: { user: number; system: number } | undefined;
}

interface Measured {
  label: string;
  rounds: Round[];
  oneAtATime: LoadGeneratorResult;
}

// ---- processes ------------------------------------------------------------------------------------

/** Spawns a server that prints one JSON line with its port, and waits for it (bounded). */
async function startServerProcess(label: string, args: string[], portOf: (announcement: Record<string, unknown>) => number): Promise<ServerUnderTest> {
  const child: ChildProcess = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const supervised = supervise(child);
  const exited = supervised.exited;
  const stop = async (): Promise<string> => {
    await supervised.stop();
    return stderr;
  };
  try {
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once('line', resolve);
      void exited.then(() => reject(new Error(`${label} exited before announcing its port: ${stderr.trim()}`)));
      setTimeout(() => reject(new Error(`${label} did not announce its port within 15 s`)), 15_000).unref();
    });
    return { label, port: portOf(JSON.parse(line) as Record<string, unknown>), pid: child.pid!, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

function startBuiltInServer(): Promise<ServerUnderTest> {
  return startServerProcess('nat-probe serve', ['bin/nat-probe.js', 'serve', '--port', '0', '--rate-limit', '0', '--json'], (announcement) => {
    const primary = (announcement.stun as { primary: string }).primary;
    return Number(primary.slice(primary.lastIndexOf(':') + 1));
  });
}

function startMinimalResponder(): Promise<ServerUnderTest> {
  return startServerProcess('minimal node:dgram responder', ['--import', 'tsx', join(root, 'bench/minimal-stun-responder.ts')], (announcement) => announcement.port as number);
}

async function startCoturnServer(): Promise<ServerUnderTest> {
  const coturn = await startCoturn({ listen: ['127.0.0.1', '127.0.0.2'] });
  return { label: 'coturn --stun-only', port: coturn.port, pid: coturn.pid, stop: async () => (await coturn.stop(), '') };
}

/** User and system CPU time of a process so far, ms; undefined where /proc is unavailable. */
function cpuTimeMs(pid: number): { user: number; system: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at field 3; utime and stime are 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { user: (Number(fields[11]) * 1000) / USER_HZ, system: (Number(fields[12]) * 1000) / USER_HZ };
  } catch {
    return undefined;
  }
}

/** The bench measures the built CLI; a dist/ older than its sources would measure old code. */
function assertBuildIsFresh(): void {
  const newest = (dir: string, ext: string): number =>
    readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })
      .filter((name) => name.endsWith(ext))
      .reduce((latest, name) => Math.max(latest, statSync(join(root, dir, name)).mtimeMs), 0);
  for (const module of ['server', 'transport', 'stun']) {
    let built: number;
    try {
      built = newest(`dist/${module}`, '.js');
    } catch {
      built = 0;
    }
    if (built < newest(`src/${module}`, '.ts')) {
      throw new Error(`dist/${module} is older than src/${module} (or missing); run \`npm run build\` before this bench.`);
    }
  }
}

// ---- measuring ----------------------------------------------------------------------------------------

async function loadRound(server: ServerUnderTest): Promise<Round> {
  const before = cpuTimeMs(server.pid);
  const load = await runLoadGeneratorProcess({ ...LOAD, target: { address: '127.0.0.1', port: server.port } });
  const after = cpuTimeMs(server.pid);
  const cpuUs =
    before && after && load.answeredTotal > 0
      ? { user: ((after.user - before.user) * 1000) / load.answeredTotal, system: ((after.system - before.system) * 1000) / load.answeredTotal }
      : undefined;
  return { load, cpuUs };
}

function best(measured: Measured): Round {
  return measured.rounds.reduce((a, b) => (b.load.rate > a.load.rate ? b : a));
}

const kilo = (perSecond: number): string => `${(perSecond / 1000).toFixed(1)}k`;
const ms = (value: number): string => `${value.toFixed(3)} ms`;

function cpuPerRequest(measured: Measured): { user: number; system: number } | undefined {
  const rounds = measured.rounds.map((round) => round.cpuUs).filter((cpu) => cpu !== undefined);
  if (rounds.length === 0) return undefined;
  return { user: median(rounds.map((cpu) => cpu.user)), system: median(rounds.map((cpu) => cpu.system)) };
}

function describeRounds(measured: Measured): string {
  const rates = measured.rounds.map((round) => kilo(round.load.rate)).join(', ');
  const top = best(measured).load;
  return (
    `${measured.label}: rounds ${rates} req/s; best round ${top.lost} lost, ${top.invalid} of ${top.validated + top.invalid} sampled answers invalid, ` +
    `generator at ${(top.cpuShare * 100).toFixed(0)}% of a core`
  );
}

function describeCpu(measured: Measured): string {
  const cpu = cpuPerRequest(measured);
  if (cpu === undefined) return `${measured.label}: CPU unknown (no /proc)`;
  const total = cpu.user + cpu.system;
  return `${measured.label} ${total.toFixed(1)} µs (user ${cpu.user.toFixed(1)}, system ${cpu.system.toFixed(1)}; one core ≈ ${kilo(1e6 / total)} req/s)`;
}

async function measure(servers: ServerUnderTest[]): Promise<Measured[]> {
  const rounds: Round[][] = servers.map(() => []);
  // Interleaved, so a burst of load from elsewhere on the machine hits every target alike.
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, server] of servers.entries()) rounds[i]!.push(await loadRound(server));
  }
  const results: Measured[] = [];
  for (const [i, server] of servers.entries()) {
    const oneAtATime = await runLoadGeneratorProcess({ ...ONE_AT_A_TIME, target: { address: '127.0.0.1', port: server.port } });
    results.push({ label: server.label, rounds: rounds[i]!, oneAtATime });
  }
  return results;
}

export default async function bench(): Promise<BenchResult[]> {
  assertBuildIsFresh();
  const gate = toolGate(['turnserver']);
  let ours: ServerUnderTest | undefined;
  let coturn: ServerUnderTest | undefined;
  let minimal: ServerUnderTest | undefined;
  let oursLog = '';
  let results: Measured[];
  try {
    ours = await startBuiltInServer();
    if (gate.available) coturn = await startCoturnServer();
    minimal = await startMinimalResponder();
    results = await measure([ours, minimal, ...(coturn ? [coturn] : [])]);
  } finally {
    await minimal?.stop();
    await coturn?.stop();
    oursLog = (await ours?.stop()) ?? '';
  }
  const [oursM, minimalM, coturnM] = results as [Measured, Measured, Measured | undefined];

  const noCoturn = coturnM ? '' : `; no coturn baseline: ${gate.reason}`;
  // Cross-check: the server's own counter (printed when it stops) against the answers matched.
  const served = /"requests":(\d+)/.exec(oursLog)?.[1] ?? '?';
  const matched = oursM.rounds.reduce((sum, round) => sum + round.load.answeredTotal, 0) + oursM.oneAtATime.answeredTotal;
  const fromCoturn = <T,>(value: (m: Measured) => T): { baseline?: { label: string; value: T } } =>
    coturnM ? { baseline: { label: 'coturn --stun-only', value: value(coturnM) } } : {};
  const cpuTotal = (m: Measured): number => {
    const cpu = cpuPerRequest(m);
    return cpu ? cpu.user + cpu.system : Number.NaN;
  };

  return [
    {
      name: `stun-server: Binding throughput, built-in server in its own process (best of ${ROUNDS} × ${LOAD.durationMs! / 1000} s, ${LOAD.sockets} sockets × ${LOAD.windowPerSocket} in flight)`,
      value: best(oursM).load.rate,
      unit: 'req/s',
      ...fromCoturn((m) => best(m).load.rate),
      target: { op: '>=', value: TARGET_PER_SECOND },
      notes: [describeRounds(oursM), coturnM ? describeRounds(coturnM) : '', `the server counted ${served} requests; the generator matched ${matched} answers${noCoturn}`]
        .filter(Boolean)
        .join('\n    '),
    },
    {
      name: 'stun-server: reference, a minimal node:dgram responder (no decoding), same generator',
      value: best(minimalM).load.rate,
      unit: 'req/s',
      notes:
        `${describeRounds(minimalM)}\n    the per-datagram cost of node:dgram and the kernel alone, which bounds any Node.js server here; ` +
        `the built-in server's best round is ${((best(oursM).load.rate / best(minimalM).load.rate) * 100).toFixed(0)}% of this one's`,
    },
    {
      name: 'stun-server: server CPU per answered request (user + system, median of rounds)',
      value: cpuTotal(oursM),
      unit: 'µs',
      ...fromCoturn(cpuTotal),
      notes: [describeCpu(oursM), coturnM ? describeCpu(coturnM) : '', describeCpu(minimalM)].filter(Boolean).join('\n    '),
    },
    {
      name: `stun-server: median latency under that load (best round)`,
      value: best(oursM).load.latencyMs.p50,
      unit: 'ms',
      ...fromCoturn((m) => best(m).load.latencyMs.p50),
      notes: `p99: nat-probe ${ms(best(oursM).load.latencyMs.p99)}` + (coturnM ? `, coturn ${ms(best(coturnM).load.latencyMs.p99)}` : ''),
    },
    {
      name: `stun-server: median latency, one request at a time (${ONE_AT_A_TIME.durationMs! / 1000} s)`,
      value: oursM.oneAtATime.latencyMs.p50,
      unit: 'ms',
      ...fromCoturn((m) => m.oneAtATime.latencyMs.p50),
      notes:
        `p99: nat-probe ${ms(oursM.oneAtATime.latencyMs.p99)} over ${oursM.oneAtATime.latencyMs.samples} requests` +
        (coturnM ? `, coturn ${ms(coturnM.oneAtATime.latencyMs.p99)} over ${coturnM.oneAtATime.latencyMs.samples}` : ''),
    },
  ];
}
