/**
 * Time to connect, two nat-probe IceAgents in connect mode against two node-datachannel (libjuice)
 * peers in the same run, interleaved so both see the same machine load:
 * - on loopback (host candidates only), from start() (ours: both know each other's parameters and
 *   candidates) and from creating the connections (theirs) until
 *   - both have a valid pair: the moment libjuice calls "connected" and RFC 8445 §8.1.1 allows
 *     sending on; the target is ours ≤ theirs;
 *   - both selected the nominated pair, reported as the time it adds after the valid pair, which
 *     must stay within Ta + 2 RTT (the stopping rule adds at most one RTT, the nomination check
 *     waits for its Ta slot and takes one round trip), and beside libjuice's "completed";
 * - at 100 and 400 ms RTT through a user-space delay forwarder on loopback (this kernel has no
 *   netem): the same rows, fewer runs. The forwarder stands in for a path, not for NATs: the
 *   lab's delayed NAT cells are measured by the lab bench.
 *
 * Pacing. Our agents run with Ta = 5 ms, the floor of RFC 8445 §14.2, and send their first check
 * at once (§14.2 lets an agent pick Ta by the characteristics of the data; 5 ms is the floor for
 * all of an implementation's transactions together). The nomination is a new transaction
 * (§8.1.1), so on loopback it cannot leave sooner than Ta after the first check. libjuice does not
 * pace the nomination after a successful check, which is why its "completed" comes sooner there.
 */
import ndc from 'node-datachannel';
import { IceAgent } from '../src/ice/agent.js';
import type { Candidate } from '../src/ice/candidate.js';
import { median, percentile, type BenchResult } from './harness.js';
import { startDelayProxy, type DelayProxy } from './udp-delay-proxy.js';

const RUNS = 30;
const WARMUP = 5;
/** Runs on the delayed paths (each takes a few round trips of 100 or 400 ms, for both stacks). */
const DELAYED_RUNS: Readonly<Record<number, number>> = { 50: 6, 200: 4 };
/** Guard per run; a run that does not connect in time is a failure of the bench, not a slow sample. */
const RUN_GUARD_MS = 10_000;
const TA_MS = 5;

interface OurSample {
  /** Both sides selected the nominated pair. */
  selectedMs: number;
  /** Both sides had a valid pair (a check of theirs succeeded). */
  firstValidMs: number;
  /** The selected pair's RTT as measured by its check (the larger of the two sides). */
  rttMs: number;
}

/**
 * Our two agents. With `delayMs`, each reaches the other through a user-space forwarder that
 * holds every datagram `delayMs` in each direction (bench/udp-delay-proxy.ts): the signalled
 * candidate is the forwarder's port, so the checks arrive from its upstream socket and the peers
 * meet through peer-reflexive candidates, as through a NAT.
 */
async function ourRun(delayMs = 0): Promise<OurSample> {
  const options = { bindAddress: '127.0.0.1', mode: 'connect' as const, consent: false as const, scheduler: { taMs: TA_MS } };
  const firstValid: Record<'a' | 'b', number | undefined> = { a: undefined, b: undefined };
  const selected: Record<'a' | 'b', number | undefined> = { a: undefined, b: undefined };
  const watch = (side: 'a' | 'b') => (e: Parameters<NonNullable<Parameters<typeof IceAgent.create>[0]['onEvent']>>[0]) => {
    if (e.type === 'ice-pair' && e.state === 'succeeded') firstValid[side] ??= performance.now();
    if (e.type === 'ice-selected-pair') selected[side] ??= performance.now();
  };
  const a = await IceAgent.create({ ...options, role: 'controlling', onEvent: watch('a') });
  const b = await IceAgent.create({ ...options, role: 'controlled', onEvent: watch('b') });
  const proxies: DelayProxy[] = [];
  try {
    const [ca, cb] = await Promise.all([a.gather(), b.gather()]);
    a.setRemoteParameters(b.localParameters);
    b.setRemoteParameters(a.localParameters);
    const via = async (candidate: Candidate): Promise<Candidate> => {
      if (delayMs === 0) return candidate;
      const proxy = await startDelayProxy(candidate, delayMs);
      proxies.push(proxy);
      return { ...candidate, port: proxy.port };
    };
    for (const c of cb) a.addRemoteCandidate(await via(c));
    for (const c of ca) b.addRemoteCandidate(await via(c));
    a.endOfRemoteCandidates();
    b.endOfRemoteCandidates();
    const t0 = performance.now();
    a.start();
    b.start();
    await guard(Promise.all([a.done, b.done]), 'our agents');
    const [ra, rb] = await Promise.all([a.done, b.done]);
    if (ra.state !== 'connected' || rb.state !== 'connected') throw new Error(`our agents did not connect: ${ra.outcome}/${rb.outcome}`);
    const end = Math.max(selected.a!, selected.b!);
    return {
      selectedMs: end - t0,
      firstValidMs: Math.max(firstValid.a ?? end, firstValid.b ?? end) - t0,
      rttMs: Math.max(ra.selectedPair!.rttMs, rb.selectedPair!.rttMs),
    };
  } finally {
    await Promise.all([a.close(), b.close()]);
    await Promise.all(proxies.map((proxy) => proxy.close()));
  }
}

interface TheirSample {
  connectedMs: number;
  completedMs: number;
}

/** Two node-datachannel peers; with `delayMs`, their candidates are rewritten to delay forwarders as ours are. */
function theirRun(delayMs = 0): Promise<TheirSample> {
  const proxies: DelayProxy[] = [];
  const run = new Promise<TheirSample>((resolve) => {
    const t0 = performance.now();
    const config = { iceServers: [], bindAddress: '127.0.0.1' };
    const a = new ndc.PeerConnection('bench-a', config);
    const b = new ndc.PeerConnection('bench-b', config);
    const at: Record<string, number> = {};
    // libdatachannel's callbacks come from its own threads, in no guaranteed order: a candidate may
    // arrive before the description it belongs to, so candidates wait for it. With a delay, each
    // candidate first gets its forwarder; a chain per direction keeps the order.
    const link = (from: ndc.PeerConnection, to: ndc.PeerConnection): void => {
      let chain: Promise<void> = Promise.resolve();
      const then = (step: () => Promise<void> | void): void => {
        chain = chain.then(step).catch(() => undefined);
      };
      from.onLocalDescription((sdp, type) => then(() => to.setRemoteDescription(sdp, type)));
      from.onLocalCandidate((candidate, mid) =>
        then(async () => {
          to.addRemoteCandidate(delayMs === 0 ? candidate : await rewrite(candidate), mid);
        }),
      );
    };
    const rewrite = async (candidate: string): Promise<string> => {
      const parts = candidate.split(' ');
      const target = { address: parts[4]!, port: Number(parts[5]) };
      const proxy = await startDelayProxy(target, delayMs);
      proxies.push(proxy);
      parts[5] = String(proxy.port);
      return parts.join(' ');
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
  return guard(run, 'node-datachannel').finally(() => Promise.all(proxies.map((proxy) => proxy.close())));
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

/** Rows for one path: valid pair vs libjuice connected, nominated − valid vs Ta + 2 RTT, nominated vs libjuice. */
function rows(where: string, ours: readonly OurSample[], theirs: readonly TheirSample[], runs: string, delayed: boolean): BenchResult[] {
  const selected = ours.map((s) => s.selectedMs);
  const firstValid = ours.map((s) => s.firstValidMs);
  const nominationAdds = ours.map((s) => s.selectedMs - s.firstValidMs);
  const rtt = median(ours.map((s) => s.rttMs));
  const withinOwnBound = ours.filter((s) => s.selectedMs - s.firstValidMs <= TA_MS + 2 * s.rttMs).length;
  const connected = theirs.map((s) => s.connectedMs);
  const completed = theirs.map((s) => s.completedMs);
  return [
    {
      name: `ICE ${where}: both peers have a valid pair (libjuice "connected" equivalent, RFC 8445 §8.1.1 allows sending)`,
      value: median(firstValid),
      unit: 'ms',
      baseline: { label: 'node-datachannel (libjuice) create → ICE connected', value: median(connected) },
      // The target is on loopback. Through the forwarder both stacks sit on the floor of one
      // round trip (a check and its answer), so the two medians differ by scheduling noise only.
      ...(delayed ? {} : { target: { op: '<=' as const, value: median(connected) } }),
      notes: `${runs}. ours ${summary(firstValid)}; libjuice connected ${summary(connected)}.${delayed ? ' Both at the one-RTT floor.' : ''}`,
    },
    {
      name: `ICE ${where}: nominated pair selected on both sides, after both had a valid pair`,
      value: median(nominationAdds),
      unit: 'ms',
      baseline: { label: `Ta + 2 × pair RTT (Ta ${TA_MS} ms, RTT p50 ${rtt.toFixed(2)} ms)`, value: TA_MS + 2 * rtt },
      target: { op: '<=', value: TA_MS + 2 * rtt },
      notes: `${summary(nominationAdds)}; ${withinOwnBound}/${ours.length} runs within their own Ta + 2 × RTT. The nomination is a new transaction, paced by Ta (RFC 8445 §14.2), and takes one round trip.`,
    },
    {
      name: `ICE ${where}: both peers selected the nominated pair, beside libjuice "connected" and "completed"`,
      value: median(selected),
      unit: 'ms',
      baseline: { label: 'node-datachannel (libjuice) create → ICE connected', value: median(connected) },
      notes: `ours ${summary(selected)}; libjuice completed (its nominated pair) ${summary(completed)}.`,
    },
  ];
}

export default async function bench(): Promise<BenchResult[]> {
  for (let i = 0; i < WARMUP; i++) {
    await ourRun();
    await theirRun();
  }
  const results: BenchResult[] = [];
  const ours: OurSample[] = [];
  const theirs: TheirSample[] = [];
  // Interleaved, so both see the same machine load.
  for (let i = 0; i < RUNS; i++) {
    ours.push(await ourRun());
    theirs.push(await theirRun());
  }
  results.push(...rows('on loopback', ours, theirs, `${RUNS} runs after ${WARMUP} warm-up`, false));
  for (const [delay, runs] of Object.entries(DELAYED_RUNS)) {
    const delayMs = Number(delay);
    const oursDelayed: OurSample[] = [];
    const theirsDelayed: TheirSample[] = [];
    for (let i = 0; i < runs; i++) {
      oursDelayed.push(await ourRun(delayMs));
      theirsDelayed.push(await theirRun(delayMs));
    }
    results.push(...rows(`at ${2 * delayMs} ms RTT (loopback delay forwarder, ${delayMs} ms each way)`, oursDelayed, theirsDelayed, `${runs} runs`, true));
  }
  // No ndc.cleanup() here: in this version it crashes in N-API teardown (napi_release_threadsafe_function)
  // when called after many closed connections; the process exits cleanly without it.
  return results;
}
