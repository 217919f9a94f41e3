/**
 * The built-in STUN server on loopback: Binding throughput under many concurrent transactions,
 * and median response latency, each beside coturn `--stun-only` measured in the same run by the
 * same client for the same duration. No target is set; the figures are for comparison.
 *
 * Fairness: coturn runs in its own process, so our server does too. This file re-executes itself
 * (`node --import tsx`, with NAT_PROBE_BENCH_STUN_CHILD=1) to host the server, instead of sharing
 * the client's event loop. Both servers listen on 127.0.0.1 + 127.0.0.2 (RFC 5780, four sockets)
 * and our rate limit is off, since the whole load comes from one source IP.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startStunServer } from '../src/server/index.js';
import { StunMethod, newTransactionId } from '../src/stun/index.js';
import { StunTransactions, TransactionTimeoutError, UdpEndpoint, type SystemClock, systemClock } from '../src/transport/index.js';
import { startCoturn } from '../test/helpers/coturn.js';
import { toolGate } from '../test/helpers/tools.js';
import { median, percentile, type BenchResult } from './harness.js';

const CHILD_ENV = 'NAT_PROBE_BENCH_STUN_CHILD';
const LOAD_MS = 2000;
const CONCURRENCY = 64;
const WARMUP_REQUESTS = 500;
const LATENCY_SAMPLES = 1000;
/** A transaction unanswered this long counts as lost (one send, no retransmission). */
const LOSS_TIMEOUT_MS = 500;

interface Target {
  address: string;
  port: number;
}

interface Throughput {
  perSecond: number;
  completed: number;
  lost: number;
}

// ---- child mode: host our server until stdin closes -------------------------------------------
if (process.env[CHILD_ENV] === '1') {
  const server = await startStunServer({ primary: '127.0.0.1', alternate: '127.0.0.2', port: 0, rateLimit: false });
  process.stdout.write(`${JSON.stringify({ port: server.addresses.primary.port })}\n`);
  process.stdin.resume();
  process.stdin.once('end', () => void server.close().then(() => process.exit(0)));
}

async function startOurServerProcess(): Promise<{ target: Target; stop(): Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
    env: { ...process.env, [CHILD_ENV]: '1' },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    child.stdin?.end();
    const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 3000).unref());
    if ((await Promise.race([exited.then(() => 'exited' as const), timer])) === 'timeout') {
      child.kill('SIGKILL');
      await exited;
    }
  };
  const firstLine = new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', resolve);
    void exited.then(() => reject(new Error('the server process exited before printing its port')));
    setTimeout(() => reject(new Error('the server process did not print its port within 15 s')), 15_000).unref();
  });
  try {
    const { port } = JSON.parse(await firstLine) as { port: number };
    return { target: { address: '127.0.0.1', port }, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

function bindingRequest() {
  return { class: 'request' as const, method: StunMethod.binding, transactionId: newTransactionId(), attributes: [] };
}

async function withClient<T>(work: (transactions: StunTransactions) => Promise<T>): Promise<T> {
  const endpoint = await UdpEndpoint.bind({ address: '127.0.0.1' });
  const transactions = new StunTransactions(endpoint, { defaults: { rtoMs: LOSS_TIMEOUT_MS, maxAttempts: 1, finalWaitMultiplier: 1 } });
  try {
    return await work(transactions);
  } finally {
    transactions.close();
    await endpoint.close();
  }
}

/** CONCURRENCY workers, each sending its next request as soon as the last one is answered. */
async function throughput(target: Target): Promise<Throughput> {
  return withClient(async (transactions) => {
    for (let i = 0; i < WARMUP_REQUESTS; i += CONCURRENCY) {
      await Promise.allSettled(Array.from({ length: CONCURRENCY }, () => transactions.request(bindingRequest(), target)));
    }
    let completed = 0;
    let lost = 0;
    const started = performance.now();
    const deadline = started + LOAD_MS;
    const worker = async (): Promise<void> => {
      while (performance.now() < deadline) {
        try {
          await transactions.request(bindingRequest(), target);
          completed++;
        } catch (error) {
          if (!(error instanceof TransactionTimeoutError)) throw error;
          lost++;
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const elapsedSeconds = (performance.now() - started) / 1000;
    return { perSecond: completed / elapsedSeconds, completed, lost };
  });
}

/** One request at a time: the round trip through the server with nothing queued. */
async function latencies(target: Target): Promise<number[]> {
  return withClient(async (transactions) => {
    const samples: number[] = [];
    for (let i = 0; i < LATENCY_SAMPLES; i++) samples.push((await transactions.request(bindingRequest(), target)).rttMs);
    return samples;
  });
}

export default async function bench(): Promise<BenchResult[]> {
  const ours = await startOurServerProcess();
  let oursThroughput: Throughput;
  let oursLatency: number[];
  try {
    oursThroughput = await throughput(ours.target);
    oursLatency = await latencies(ours.target);
  } finally {
    await ours.stop();
  }

  let coturnThroughput: Throughput | undefined;
  let coturnLatency: number[] | undefined;
  let coturnNote = '';
  const gate = toolGate(['turnserver']);
  if (gate.available) {
    const coturn = await startCoturn({ listen: ['127.0.0.1', '127.0.0.2'] });
    try {
      const target = { address: '127.0.0.1', port: coturn.port };
      coturnThroughput = await throughput(target);
      coturnLatency = await latencies(target);
    } finally {
      await coturn.stop();
    }
  } else {
    coturnNote = `; no coturn baseline: ${gate.reason}`;
  }
  const leakedTimers = (systemClock as SystemClock).pendingTimers;

  const describeLoad = (label: string, t: Throughput | undefined): string =>
    t === undefined ? '' : `${label}: ${t.completed} answered, ${t.lost} lost`;
  return [
    {
      name: `stun-server: Binding throughput (loopback, ${CONCURRENCY} in flight, ${LOAD_MS / 1000} s, server in its own process)`,
      value: oursThroughput.perSecond,
      unit: 'req/s',
      ...(coturnThroughput ? { baseline: { label: 'coturn --stun-only', value: coturnThroughput.perSecond } } : {}),
      notes: [describeLoad('nat-probe', oursThroughput), describeLoad('coturn', coturnThroughput)].filter(Boolean).join('; ') +
        `; one client socket drives both, so the client may cap the figure${coturnNote}; timers left armed: ${leakedTimers}`,
    },
    {
      name: `stun-server: median response latency (${LATENCY_SAMPLES} sequential requests)`,
      value: median(oursLatency),
      unit: 'ms',
      ...(coturnLatency ? { baseline: { label: 'coturn --stun-only', value: median(coturnLatency) } } : {}),
      notes:
        `nat-probe p99 ${percentile(oursLatency, 99).toFixed(3)} ms` +
        (coturnLatency ? `; coturn p99 ${percentile(coturnLatency, 99).toFixed(3)} ms` : coturnNote),
    },
  ];
}
