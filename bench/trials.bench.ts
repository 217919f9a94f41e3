/**
 * Trials throughput on loopback: how many fresh pairings (two peer sessions each: signaling join,
 * ICE parameters and candidates over WebSocket, STUN connectivity checks over UDP, results, bye)
 * finish per second at concurrency 16, with 100% success, and nothing left behind.
 *
 * Targets (issue): ≥ 100 trials/s at concurrency 16, 100% success, no leaked sockets or timers
 * (process.getActiveResourcesInfo() after the run, servers closed, against before the run; plus
 * the system clock's own count of armed timers, which that list misses because they are unref'd).
 * Baseline, same run, same servers: the same trials one at a time (concurrency 1), which shows
 * what concurrency buys on this machine.
 *
 * Peers bind 127.0.0.1 (host candidates on loopback only) and use the in-process signaling and
 * STUN servers, started once so their start-up is not counted. A warm-up run precedes the timed
 * ones. Knobs (environment): TRIALS_BENCH_RUNS (400), TRIALS_BENCH_BASELINE_RUNS (100).
 */
import { runTrials, type TrialsResult } from '../src/peer/trials.js';
import { startBuiltInServers } from '../src/cli/embedded-servers.js';
import { systemClock, SystemClock } from '../src/transport/clock.js';
import type { BenchResult } from './harness.js';

const RUNS = Number(process.env.TRIALS_BENCH_RUNS ?? 400);
const BASELINE_RUNS = Number(process.env.TRIALS_BENCH_BASELINE_RUNS ?? 100);
const CONCURRENCY = 16;
const TIMEOUT_MS = 5_000;

/**
 * process.getActiveResourcesInfo() does not list unref'd handles, and the system clock unrefs
 * every timer it arms (so timers never hold the process open). Those are counted by the clock.
 */
function clockTimers(): number {
  return systemClock instanceof SystemClock ? systemClock.pendingTimers : 0;
}

/** Active handles by kind, e.g. { UDPWRAP: 2, TCPWRAP: 1, Timeout: 3 }. */
function resources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  return counts;
}

function leaked(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const extra = new Map<string, number>();
  for (const [kind, count] of after) {
    const more = count - (before.get(kind) ?? 0);
    if (more > 0) extra.set(kind, more);
  }
  return extra;
}

const turn = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Node emits 'close' for sockets and servers a tick before libuv releases the handle (in the
 * loop's close phase), so allow a bounded number of loop turns for that before counting.
 */
async function handlesLeftAfter(before: Map<string, number>, turns = 10): Promise<Map<string, number>> {
  let left = leaked(before, resources());
  for (let i = 0; i < turns && left.size > 0; i++) {
    await turn();
    left = leaked(before, resources());
  }
  return left;
}

async function timedRun(signalUrl: string, stunServer: { address: string; port: number }, runs: number, concurrency: number): Promise<TrialsResult> {
  return runTrials({ runs, concurrency, signalUrl, stunServer, mode: 'connect', timeoutMs: TIMEOUT_MS, bindAddress: '127.0.0.1', peerEvents: false });
}

export default async function bench(): Promise<BenchResult[]> {
  await turn();
  const before = resources();
  const timersBefore = clockTimers();
  const servers = await startBuiltInServers();
  let main: TrialsResult;
  let baseline: TrialsResult;
  try {
    await timedRun(servers.signalUrl, servers.stunServer, 32, CONCURRENCY); // warm-up: JIT, socket buffers
    baseline = await timedRun(servers.signalUrl, servers.stunServer, BASELINE_RUNS, 1);
    main = await timedRun(servers.signalUrl, servers.stunServer, RUNS, CONCURRENCY);
  } finally {
    await servers.close();
  }
  const left = await handlesLeftAfter(before);
  const timersLeft = clockTimers() - timersBefore;
  if (timersLeft > 0) left.set('clock timers (unref\'d)', timersLeft);
  const leftCount = [...left.values()].reduce((a, b) => a + b, 0);

  const rate = (result: TrialsResult): number => (result.summary.runs / result.durationMs) * 1000;
  const ttc = main.summary.timeToConnectMs;
  const reasons = main.summary.failureReasons.map((r) => `${r.reason} × ${r.count}`).join(', ');
  return [
    {
      name: `trials throughput, loopback, concurrency ${CONCURRENCY} (${RUNS} trials)`,
      value: rate(main),
      unit: 'trials/s',
      baseline: { label: `same trials, concurrency 1 (${BASELINE_RUNS})`, value: rate(baseline) },
      target: { op: '>=', value: 100 },
      notes: ttc
        ? `time to connect p50 ${ttc.p50.toFixed(1)} ms, p95 ${ttc.p95.toFixed(1)} ms, p99 ${ttc.p99.toFixed(1)} ms; trial duration incl. signaling and close; run ${main.durationMs.toFixed(0)} ms`
        : 'no trial connected',
    },
    {
      name: `trials success at concurrency ${CONCURRENCY}`,
      value: main.summary.successRate * 100,
      unit: '%',
      baseline: { label: 'concurrency 1', value: baseline.summary.successRate * 100 },
      target: { op: '>=', value: 100 },
      notes: reasons === '' ? `${main.summary.succeeded}/${main.summary.runs} connected` : `failures: ${reasons}`,
    },
    {
      name: 'handles left after the runs and server close (sockets, timers)',
      value: leftCount,
      unit: 'handles',
      target: { op: '<=', value: 0 },
      notes: leftCount === 0
        ? 'process.getActiveResourcesInfo() and the system clock\'s armed (unref\'d) timers match their counts before the servers started'
        : `left: ${[...left].map(([k, n]) => `${k} × ${n}`).join(', ')}`,
    },
  ];
}
