/**
 * Signaling server under load: one server process holds 10 000 WebSocket peers in 5 000 rooms
 * while a load generator (a separate child process: the fd limit is 20 000 per process) relays
 * candidates between paired peers at a fixed offered rate over 127.0.0.1.
 *
 * Targets (issue): ≥ 20 000 relayed messages/s with p99 one-way latency ≤ 20 ms; RSS per peer is
 * reported. Baseline, same run, same generator: a bare `ws` relay that forwards bytes between
 * paired sockets with no protocol, validation, sequencing or acknowledgements.
 *
 * Two load shapes, on the same connections: "bursts" (each sender sends 4 candidates back to back,
 * as trickle ICE does when an interface's candidates are gathered; the target rows) and
 * "one at a time" (strict round-robin, one message per sender per turn: every message costs its
 * own write and wake-up on both hops, which on this 2-core VM is the dominant cost).
 * A 1 s warm-up precedes them.
 *
 * Knobs (environment): SIGNALING_BENCH_PEERS (10000), SIGNALING_BENCH_RATE (21000 msg/s offered: the measured rate, first send to last receipt, is a little lower),
 * SIGNALING_BENCH_SECONDS (4 per phase).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from './harness.js';
import type { GeneratorConfig, GeneratorResult, LoadPhase, PhaseResult } from './signaling-load-generator.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const projectRoot = fileURLToPath(new URL('..', import.meta.url));
const PEERS = Number(process.env.SIGNALING_BENCH_PEERS ?? 10_000);
const ROOMS = PEERS / 2;
const RATE = Number(process.env.SIGNALING_BENCH_RATE ?? 21_000);
const PHASE_MS = Number(process.env.SIGNALING_BENCH_SECONDS ?? 4) * 1_000;
const BURST = 4;
const PHASES: LoadPhase[] = [
  { name: 'warm-up', rate: RATE, durationMs: 1_000, burst: BURST, measured: false },
  { name: 'bursts', rate: RATE, durationMs: PHASE_MS, burst: BURST, measured: true },
  { name: 'one at a time', rate: RATE, durationMs: PHASE_MS, burst: 1, measured: true },
];
/** Each child's own bound; each wait below has one too. */
const CHILD_DEADLINE_MS = 60_000;
const STEP_TIMEOUT_MS = 30_000;

type Mode = 'signaling' | 'bare';

interface RunFigures {
  generator: GeneratorResult;
  rssIdle: number;
  rssConnected: number;
  /** Server CPU (user + system) over all load phases, ms. */
  serverCpuMs: number;
  serverStats: unknown;
}

interface Measure {
  rss: number;
  cpuMs: number;
  stats: unknown;
}

export function spawnChild(script: string, config: object): ChildProcess {
  const child = fork(`${here}${script}`, [JSON.stringify(config)], {
    cwd: projectRoot,
    // SIGNALING_BENCH_CPU_PROF=DIR: a V8 CPU profile of every child, to find where the time goes.
    // SIGNALING_BENCH_NODE_FLAGS: V8/Node flags for every child alike (e.g. GC tuning), to compare settings.
    execArgv: [
      '--import',
      'tsx',
      '--expose-gc',
      ...(process.env.SIGNALING_BENCH_NODE_FLAGS?.split(' ').filter((flag) => flag !== '') ?? []),
      ...(process.env.SIGNALING_BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.SIGNALING_BENCH_CPU_PROF}`] : []),
    ],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  // An IPC write to a child that is already exiting fails with EPIPE; its 'exit' tells the story.
  child.on('error', () => undefined);
  return child;
}

/** The next IPC message of `type` from `child`, bounded; rejects if the child fails or exits first. */
export function nextMessage<T>(child: ChildProcess, type: string, what: string, boundMs = STEP_TIMEOUT_MS): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(() => reject(new Error(`timed out waiting for ${what} (${boundMs} ms)`))), boundMs);
    const onMessage = (message: { type: string; reason?: string }): void => {
      if (message.type === type) finish(() => resolve(message as T));
      else if (message.type === 'failed') finish(() => reject(new Error(`${what}: ${message.reason}`)));
    };
    const onExit = (code: number | null): void => finish(() => reject(new Error(`child exited (${code}) before ${what}`)));
    const finish = (then: () => void): void => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      then();
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

export function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    if (child.connected) child.send({ cmd: 'stop' }, () => undefined);
    else child.kill('SIGKILL');
  });
}

async function run(mode: Mode): Promise<RunFigures> {
  const server = spawnChild('signaling-server-process.ts', { mode, deadlineMs: CHILD_DEADLINE_MS });
  let generator: ChildProcess | undefined;
  try {
    const listening = await nextMessage<{ port: number; rss: number }>(server, 'listening', `${mode} server to listen`);
    const config: GeneratorConfig = {
      url: `ws://127.0.0.1:${listening.port}/`,
      mode,
      peers: PEERS,
      rooms: ROOMS,
      phases: PHASES,
      connectConcurrency: 256,
      deadlineMs: CHILD_DEADLINE_MS,
    };
    generator = spawnChild('signaling-load-generator.ts', config);
    await nextMessage(generator, 'connected', `${PEERS} peers to connect to the ${mode} server`);
    server.send({ cmd: 'measure' });
    const connected = await nextMessage<Measure>(server, 'measure', `${mode} server RSS`);
    generator.send({ cmd: 'go' });
    const { result } = await nextMessage<{ result: GeneratorResult }>(generator, 'result', `${mode} load run`);
    server.send({ cmd: 'measure' });
    const after = await nextMessage<Measure>(server, 'measure', `${mode} server stats`);
    return {
      generator: result,
      rssIdle: listening.rss,
      rssConnected: connected.rss,
      serverCpuMs: after.cpuMs - connected.cpuMs,
      serverStats: after.stats,
    };
  } finally {
    if (generator !== undefined) await stop(generator);
    await stop(server);
  }
}

/** One load phase's results from a run's generator (also used by signaling-redis.bench.ts). */
export function phase(figures: { generator: GeneratorResult }, name: string): PhaseResult {
  const found = figures.generator.phases.find((candidate) => candidate.name === name);
  if (found === undefined) throw new Error(`no results for phase ${name}`);
  return found;
}

export function describe(result: PhaseResult): string {
  const problems = result.duplicates + result.misrouted + result.outOfOrder + result.seqErrors;
  const checked = problems === 0 ? 'checked: none doubled, misrouted, out of order or seq-skipped' : `CHECK FAILED: ${result.duplicates} duplicates, ${result.misrouted} misrouted, ${result.outOfOrder} out of order, ${result.seqErrors} seq errors`;
  return `sent ${result.sent}, received ${result.received}, p50 ${result.p50.toFixed(2)} ms, max ${result.max.toFixed(1)} ms, ${checked}`;
}

export default async function signalingBench(): Promise<BenchResult[]> {
  const bare = await run('bare');
  const ours = await run('signaling');
  const kib = (figures: RunFigures): number => (figures.rssConnected - figures.rssIdle) / 1024 / PEERS;
  const cpuPerMessage = (figures: RunFigures): number => {
    const relayed = figures.generator.phases.reduce((sum, result) => sum + result.received, 0);
    return (figures.serverCpuMs * 1000) / relayed; // warm-up included in both the CPU and the count
  };
  const shape = `${PEERS} peers in ${ROOMS} rooms, ${RATE} msg/s offered for ${PHASE_MS / 1000} s`;
  const rows: BenchResult[] = [];
  for (const [name, label, target] of [
    ['bursts', `bursts of ${BURST}`, true],
    ['one at a time', 'one message at a time', false],
  ] as const) {
    const mine = phase(ours, name);
    const theirs = phase(bare, name);
    rows.push(
      {
        name: `signaling: relayed messages/s (${shape}, ${label})`,
        value: mine.throughput,
        unit: 'msg/s',
        baseline: { label: 'bare ws relay', value: theirs.throughput },
        ...(target ? { target: { op: '>=' as const, value: 20_000 } } : {}),
        notes: `nat-probe: ${describe(mine)} | bare: ${describe(theirs)}`,
      },
      {
        name: `signaling: one-way relay latency p99 (${label})`,
        value: mine.p99,
        unit: 'ms',
        baseline: { label: 'bare ws relay', value: theirs.p99 },
        ...(target ? { target: { op: '<=' as const, value: 20 } } : {}),
      },
    );
  }
  const errors = ours.generator.errors === 0 ? 'no error frames' : `${ours.generator.errors} error frames, first: ${ours.generator.firstError}`;
  rows.push(
    {
      name: 'signaling: server CPU per relayed message',
      value: cpuPerMessage(ours),
      unit: 'µs',
      baseline: { label: 'bare ws relay', value: cpuPerMessage(bare) },
      notes: `user + system time of the server process over all phases; ${errors}`,
    },
    {
      name: 'signaling: server RSS per connected peer',
      value: kib(ours),
      unit: 'KiB',
      baseline: { label: 'bare ws relay', value: kib(bare) },
      notes:
        `server RSS idle → ${PEERS} peers: nat-probe ${(ours.rssIdle / 2 ** 20).toFixed(0)} → ${(ours.rssConnected / 2 ** 20).toFixed(0)} MiB, ` +
        `bare ${(bare.rssIdle / 2 ** 20).toFixed(0)} → ${(bare.rssConnected / 2 ** 20).toFixed(0)} MiB; server stats ${JSON.stringify(ours.serverStats)}`,
    },
    {
      name: `signaling: time to connect and join ${PEERS} peers`,
      value: ours.generator.connectMs / 1000,
      unit: 's',
      baseline: { label: 'bare ws relay (connect only)', value: bare.generator.connectMs / 1000 },
    },
  );
  return rows;
}
