/**
 * Signaling server under load: one server process holds 10 000 WebSocket peers in 5 000 rooms
 * while a load generator (a separate child process: the fd limit is 20 000 per process) relays
 * candidates between paired peers at a fixed offered rate over 127.0.0.1.
 *
 * Targets (issue): ≥ 20 000 relayed messages/s with p99 one-way latency ≤ 20 ms; RSS per peer is
 * reported. Baseline, same run, same generator: a bare `ws` relay that forwards bytes between
 * paired sockets with no protocol, validation, sequencing or acknowledgements.
 *
 * Knobs (environment): SIGNALING_BENCH_PEERS (10000), SIGNALING_BENCH_RATE (25000 msg/s offered),
 * SIGNALING_BENCH_SECONDS (5).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from './harness.js';
import type { GeneratorConfig, GeneratorResult } from './signaling-load-generator.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const projectRoot = fileURLToPath(new URL('..', import.meta.url));
const PEERS = Number(process.env.SIGNALING_BENCH_PEERS ?? 10_000);
const ROOMS = PEERS / 2;
const RATE = Number(process.env.SIGNALING_BENCH_RATE ?? 25_000);
const DURATION_MS = Number(process.env.SIGNALING_BENCH_SECONDS ?? 5) * 1_000;
/** Each child's own bound; each wait below has one too. */
const CHILD_DEADLINE_MS = 60_000;
const STEP_TIMEOUT_MS = 30_000;

type Mode = 'signaling' | 'bare';

interface RunFigures {
  generator: GeneratorResult;
  rssIdle: number;
  rssConnected: number;
  serverStats: unknown;
}

function spawnChild(script: string, config: object): ChildProcess {
  return fork(`${here}${script}`, [JSON.stringify(config)], {
    cwd: projectRoot,
    execArgv: ['--import', 'tsx', '--expose-gc'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

/** The next IPC message of `type` from `child`, bounded; rejects if the child fails or exits first. */
function nextMessage<T>(child: ChildProcess, type: string, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(() => reject(new Error(`timed out waiting for ${what}`))), STEP_TIMEOUT_MS);
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

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    if (child.connected) child.send({ cmd: 'stop' });
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
      rate: RATE,
      durationMs: DURATION_MS,
      connectConcurrency: 256,
      deadlineMs: CHILD_DEADLINE_MS,
    };
    generator = spawnChild('signaling-load-generator.ts', config);
    await nextMessage(generator, 'connected', `${PEERS} peers to connect to the ${mode} server`);
    server.send({ cmd: 'measure' });
    const connected = await nextMessage<{ rss: number }>(server, 'measure', `${mode} server RSS`);
    generator.send({ cmd: 'go' });
    const { result } = await nextMessage<{ result: GeneratorResult }>(generator, 'result', `${mode} load run`);
    server.send({ cmd: 'measure' });
    const after = await nextMessage<{ stats: unknown }>(server, 'measure', `${mode} server stats`);
    return { generator: result, rssIdle: listening.rss, rssConnected: connected.rss, serverStats: after.stats };
  } finally {
    if (generator !== undefined) await stop(generator);
    await stop(server);
  }
}

export default async function signalingBench(): Promise<BenchResult[]> {
  const bare = await run('bare');
  const ours = await run('signaling');
  const kib = (figures: RunFigures): number => (figures.rssConnected - figures.rssIdle) / 1024 / PEERS;
  const describe = (figures: RunFigures): string => {
    const g = figures.generator;
    return `sent ${g.sent}, received ${g.received}, p50 ${g.p50.toFixed(2)} ms, max ${g.max.toFixed(1)} ms, errors ${g.errors}`;
  };
  const shape = `${PEERS} peers in ${ROOMS} rooms, ${RATE} msg/s offered for ${DURATION_MS / 1000} s, generator in its own process`;
  return [
    {
      name: `signaling: relayed messages/s (${shape})`,
      value: ours.generator.throughput,
      unit: 'msg/s',
      baseline: { label: 'bare ws relay', value: bare.generator.throughput },
      target: { op: '>=', value: 20_000 },
      notes: `nat-probe: ${describe(ours)}${ours.generator.firstError === undefined ? '' : `; first error ${ours.generator.firstError}`} | bare: ${describe(bare)}`,
    },
    {
      name: 'signaling: one-way relay latency p99',
      value: ours.generator.p99,
      unit: 'ms',
      baseline: { label: 'bare ws relay', value: bare.generator.p99 },
      target: { op: '<=', value: 20 },
    },
    {
      name: 'signaling: server RSS per connected peer',
      value: kib(ours),
      unit: 'KiB',
      baseline: { label: 'bare ws relay', value: kib(bare) },
      notes: `server RSS idle → ${PEERS} peers: nat-probe ${(ours.rssIdle / 2 ** 20).toFixed(0)} → ${(ours.rssConnected / 2 ** 20).toFixed(0)} MiB, bare ${(bare.rssIdle / 2 ** 20).toFixed(0)} → ${(bare.rssConnected / 2 ** 20).toFixed(0)} MiB; server stats ${JSON.stringify(ours.serverStats)}`,
    },
    {
      name: `signaling: time to connect and join ${PEERS} peers`,
      value: ours.generator.connectMs / 1000,
      unit: 's',
      baseline: { label: 'bare ws relay (connect only)', value: bare.generator.connectMs / 1000 },
    },
  ];
}
