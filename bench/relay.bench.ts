/**
 * Time to connect through a TURN relay on loopback, beside a direct host ↔ host connection in the
 * same run. Two nat-probe IceAgents in connect mode (Ta 5 ms, as peer sessions use), each with
 * iceTransportPolicy "relay" and one allocation on a real coturn (test/helpers/coturn.ts), so the
 * only pair is relay ↔ relay. Timed from start() (parameters and candidates exchanged,
 * allocations made) until both selected the nominated pair. What the relay adds: a
 * CreatePermission round trip before the first check on each side (RFC 8656 §9; the TURN
 * transport installs it on the first send to a peer IP) and two extra hops per check.
 * The allocation itself (401 challenge + Allocate) is measured by bench/turn.bench.ts; it is
 * printed here too, as context, since a session pays it once while signaling runs.
 */
import { IceAgent, type IceAgentOptions } from '../src/ice/agent.js';
import { allocate, parseTurnUrl, type TurnAllocation } from '../src/turn/index.js';
import { exchange } from '../test/ice/agent-helpers.js';
import { startCoturnTurn } from '../test/helpers/coturn.js';
import { findTool } from '../test/helpers/tools.js';
import { median, percentile, type BenchResult } from './harness.js';

const RUNS = 30;
const WARMUP = 5;
const RUN_GUARD_MS = 5_000;
const USERS = [
  { name: 'bench-a', password: 'bench-pass-a' },
  { name: 'bench-b', password: 'bench-pass-b' },
];

const agentOptions = { bindAddress: '127.0.0.1', mode: 'connect' as const, consent: false as const, scheduler: { taMs: 5 } };

/** Start to both selected, for two agents already exchanged. */
async function connect(a: IceAgent, b: IceAgent): Promise<number> {
  await exchange(a, b);
  const t0 = performance.now();
  a.start();
  b.start();
  const [ra, rb] = await guard(Promise.all([a.done, b.done]), 'the agents');
  const ms = performance.now() - t0;
  if (ra.state !== 'connected' || rb.state !== 'connected') throw new Error(`not connected: ${ra.outcome}/${rb.outcome}`);
  return ms;
}

async function directRun(): Promise<number> {
  const a = await IceAgent.create({ ...agentOptions, role: 'controlling' });
  const b = await IceAgent.create({ ...agentOptions, role: 'controlled' });
  try {
    return await connect(a, b);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}

async function relayRun(url: string): Promise<{ connectMs: number; allocateMs: number; pairType: string }> {
  const server = parseTurnUrl(url);
  const t0 = performance.now();
  const allocations: TurnAllocation[] = await Promise.all(
    USERS.map((user) => allocate({ server, credentials: { username: user.name, password: user.password }, timeoutMs: 3_000 })),
  );
  const allocateMs = performance.now() - t0;
  const relayOnly: Partial<IceAgentOptions> = { ...agentOptions, iceTransportPolicy: 'relay' };
  const a = await IceAgent.create({ ...relayOnly, role: 'controlling' });
  const b = await IceAgent.create({ ...relayOnly, role: 'controlled' });
  try {
    a.addRelayedCandidate(allocations[0]!, allocations[0]!.transport);
    b.addRelayedCandidate(allocations[1]!, allocations[1]!.transport);
    const connectMs = await connect(a, b);
    const selected = (await a.done).selectedPair!;
    return { connectMs, allocateMs, pairType: `${selected.local.type}/${selected.remote.type}` };
  } finally {
    await Promise.all([a.close(), b.close()]);
    await Promise.all(allocations.map((allocation) => allocation.close()));
  }
}

function guard<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not connect within ${RUN_GUARD_MS} ms`)), RUN_GUARD_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const summary = (samples: readonly number[]): string =>
  `p50 ${median(samples).toFixed(2)} / p95 ${percentile(samples, 95).toFixed(2)} / max ${Math.max(...samples).toFixed(2)} ms`;

export default async function bench(): Promise<BenchResult[]> {
  if (findTool('turnserver') === undefined) throw new Error('turnserver (coturn) not found on PATH; install coturn to run the relay bench');
  const coturn = await startCoturnTurn({ users: USERS, tcp: false });
  try {
    for (let i = 0; i < WARMUP; i++) {
      await directRun();
      await relayRun(coturn.url);
    }
    const direct: number[] = [];
    const relayed: Array<{ connectMs: number; allocateMs: number; pairType: string }> = [];
    // Interleaved, so both see the same machine load.
    for (let i = 0; i < RUNS; i++) {
      direct.push(await directRun());
      relayed.push(await relayRun(coturn.url));
    }
    const connectMs = relayed.map((r) => r.connectMs);
    const allocateMs = relayed.map((r) => r.allocateMs);
    const pairTypes = [...new Set(relayed.map((r) => r.pairType))].join(', ');
    return [
      {
        name: 'ICE via TURN relay: start() to both selected (relay↔relay, loopback coturn, median)',
        value: median(connectMs),
        unit: 'ms',
        baseline: { label: 'direct host↔host, same agents, same run', value: median(direct) },
        notes: `${RUNS} runs each after ${WARMUP} warm-up; relay ${summary(connectMs)}; direct ${summary(direct)}; selected pair ${pairTypes}; ` +
          `allocations (two in parallel, before start) ${summary(allocateMs)}`,
      },
    ];
  } finally {
    await coturn.stop();
  }
}
