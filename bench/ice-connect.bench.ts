/**
 * Time to connect on loopback, host candidates only: two nat-probe IceAgents in connect mode, from
 * the moment both know each other's parameters and candidates (start()) until both have selected
 * the nominated pair. Baseline, in the same run: two node-datachannel (libjuice) peers on
 * 127.0.0.1, from creating the connections to both reporting ICE "connected" — and, for the same
 * end point as ours, to "completed" (libjuice's name for "nominated pair selected").
 *
 * Pacing. Our agents run with Ta = 5 ms, the floor of RFC 8445 §14.2, and send their first check
 * at once. That is legitimate for a two-peer diagnostic run with one or two pairs (§14.2 lets an
 * agent pick Ta by the characteristics of the data; 5 ms is the floor for all of an
 * implementation's transactions together). The nomination is a new transaction (§8.1.1), so it
 * cannot leave sooner than Ta after the first check: ours is bounded below by ~5 ms. libjuice
 * does not pace the nomination after a successful check, which is why its "completed" comes sooner.
 * The bench also reports our time to the first valid pair on both sides, which is the moment
 * libjuice calls "connected" (a check succeeded, nothing nominated yet).
 */
import { exchange } from '../test/ice/agent-helpers.js';
import ndc from 'node-datachannel';
import { IceAgent } from '../src/ice/agent.js';
import { median, percentile, type BenchResult } from './harness.js';

const RUNS = 30;
const WARMUP = 5;
/** Guard per run; a run that does not connect in time is a failure of the bench, not a slow sample. */
const RUN_GUARD_MS = 5_000;

interface OurSample {
  /** Both sides selected the nominated pair. */
  selectedMs: number;
  /** Both sides had a valid pair (a check of theirs succeeded). */
  firstValidMs: number;
}

async function ourRun(): Promise<OurSample> {
  const options = { bindAddress: '127.0.0.1', mode: 'connect' as const, consent: false as const, scheduler: { taMs: 5 } };
  let firstValidA: number | undefined;
  let firstValidB: number | undefined;
  const a = await IceAgent.create({
    ...options,
    role: 'controlling',
    onEvent: (e) => {
      if (e.type === 'ice-pair' && e.state === 'succeeded') firstValidA ??= performance.now();
    },
  });
  const b = await IceAgent.create({
    ...options,
    role: 'controlled',
    onEvent: (e) => {
      if (e.type === 'ice-pair' && e.state === 'succeeded') firstValidB ??= performance.now();
    },
  });
  try {
    await exchange(a, b);
    const t0 = performance.now();
    a.start();
    b.start();
    const both = Promise.all([a.done, b.done]).then(() => performance.now());
    const end = await guard(both, 'our agents');
    const [ra, rb] = await Promise.all([a.done, b.done]);
    if (ra.state !== 'connected' || rb.state !== 'connected') throw new Error(`our agents did not connect: ${ra.outcome}/${rb.outcome}`);
    return { selectedMs: end - t0, firstValidMs: Math.max(firstValidA ?? end, firstValidB ?? end) - t0 };
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}

interface TheirSample {
  connectedMs: number;
  completedMs: number;
}

function theirRun(): Promise<TheirSample> {
  const run = new Promise<TheirSample>((resolve) => {
    const t0 = performance.now();
    const config = { iceServers: [], bindAddress: '127.0.0.1' };
    const a = new ndc.PeerConnection('bench-a', config);
    const b = new ndc.PeerConnection('bench-b', config);
    const at: Record<string, number> = {};
    // libdatachannel's callbacks come from its own threads, in no guaranteed order: a candidate may
    // arrive before the description it belongs to, so candidates wait for it.
    const link = (from: ndc.PeerConnection, to: ndc.PeerConnection): void => {
      let described = false;
      const early: Array<[string, string]> = [];
      from.onLocalDescription((sdp, type) => {
        to.setRemoteDescription(sdp, type);
        described = true;
        for (const [candidate, mid] of early.splice(0)) to.addRemoteCandidate(candidate, mid);
      });
      from.onLocalCandidate((candidate, mid) => {
        if (described) to.addRemoteCandidate(candidate, mid);
        else early.push([candidate, mid]);
      });
    };
    link(a, b);
    link(b, a);
    const mark = (peer: string) => (state: string) => {
      at[`${peer}:${state}`] ??= performance.now() - t0;
      // "completed" implies "connected"; libjuice may skip reporting the latter.
      if (state === 'completed') at[`${peer}:connected`] ??= at[`${peer}:completed`]!;
      if (at['a:completed'] !== undefined && at['b:completed'] !== undefined) {
        // Closing from inside libdatachannel's own callback upsets its N-API teardown; leave it first.
        setImmediate(() => {
          a.close();
          b.close();
        });
        resolve({
          connectedMs: Math.max(at['a:connected']!, at['b:connected']!),
          completedMs: Math.max(at['a:completed'], at['b:completed']),
        });
      }
    };
    a.onIceStateChange(mark('a'));
    b.onIceStateChange(mark('b'));
    a.createDataChannel('bench');
  });
  return guard(run, 'node-datachannel');
}

function guard<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not connect within ${RUN_GUARD_MS} ms`)), RUN_GUARD_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function summary(samples: readonly number[]): string {
  return `p50 ${median(samples).toFixed(2)} / p95 ${percentile(samples, 95).toFixed(2)} / max ${Math.max(...samples).toFixed(2)} ms`;
}

export default async function bench(): Promise<BenchResult[]> {
  for (let i = 0; i < WARMUP; i++) {
    await ourRun();
    await theirRun();
  }
  const ours: OurSample[] = [];
  const theirs: TheirSample[] = [];
  // Interleaved, so both see the same machine load.
  for (let i = 0; i < RUNS; i++) {
    ours.push(await ourRun());
    theirs.push(await theirRun());
  }
  // No ndc.cleanup() here: in this version it crashes in N-API teardown (napi_release_threadsafe_function)
  // when called after many closed connections; the process exits cleanly without it.
  const selected = ours.map((s) => s.selectedMs);
  const firstValid = ours.map((s) => s.firstValidMs);
  const connected = theirs.map((s) => s.connectedMs);
  const completed = theirs.map((s) => s.completedMs);
  return [
    {
      name: 'ICE connect on loopback: both peers selected the nominated pair (Ta 5 ms)',
      value: median(selected),
      unit: 'ms',
      baseline: { label: 'node-datachannel (libjuice) create → ICE connected', value: median(connected) },
      target: { op: '<=', value: median(connected) },
      notes: `${RUNS} runs after ${WARMUP} warm-up. ours ${summary(selected)}; libjuice connected ${summary(connected)}. Our nomination is a new transaction, paced ≥ Ta (5 ms, RFC 8445 §14.2) after the first check.`,
    },
    {
      name: 'ICE connect on loopback: both peers selected the nominated pair, vs libjuice "completed"',
      value: median(selected),
      unit: 'ms',
      baseline: { label: 'node-datachannel (libjuice) create → ICE completed', value: median(completed) },
      notes: `libjuice completed ${summary(completed)} (its nomination is not paced).`,
    },
    {
      name: 'ICE on loopback: both peers have a valid pair (libjuice "connected" equivalent)',
      value: median(firstValid),
      unit: 'ms',
      baseline: { label: 'node-datachannel (libjuice) create → ICE connected', value: median(connected) },
      target: { op: '<=', value: median(connected) },
      notes: `ours ${summary(firstValid)}.`,
    },
  ];
}
