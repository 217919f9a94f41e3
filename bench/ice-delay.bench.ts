/**
 * Time to connect on real paths: in the NAT lab with `--delay` 10, 25 and 100 ms (peers 40, 100
 * and 400 ms apart; each client 2 × delay from the servers), in the cells that connect directly:
 * none ↔ port-restricted, port-restricted ↔ port-restricted, restricted ↔ symmetric.
 *
 * Ours: two `nat-probe peer --json` processes, one per client namespace, through the lab's
 * signaling and STUN server. Measured from both peers joined (the second peer's `joined`) to both
 * using a nominated pair (each side's first `ice-selected-pair` with nominated), and, on the
 * controlling side, from its first valid pair to its nominated pair (RFC 8445 §8.1.1).
 *
 * Baseline, same lab, same run, rounds alternating: two node-datachannel (libjuice) peers
 * (bench/juice-peer.mjs), STUN from the same server. Their SDP and candidates go through this
 * process, each message held 2 × delay: the one-way path client → signaling server → other client
 * in the lab. Measured from "go" (both processes ready: libjuice's "both joined") to both
 * reporting ICE "connected".
 *
 * Times across processes: libjuice peers stamp performance.timeOrigin + now(); for ours, each
 * event's `at` (ms since its session started) is placed on the same clock through the earliest
 * arrival of its lines here (start ≈ min(arrival − at), which removes the pipe's latency).
 *
 * Targets (issue 13): ours at or below libjuice in every cell; first valid → nominated within one
 * peer RTT (4 × delay) plus Ta (5 ms). The nomination rule is owned by the ICE engine; this bench
 * only measures it.
 *
 * ROUNDS (env NAT_PROBE_BENCH_ROUNDS, default 5) rounds of each implementation per cell and delay;
 * NAT_PROBE_BENCH_DELAYS (default "10,25,100") picks the delays.
 */
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { buildLabWithServers, destroyLab, labAvailable, spawnInNamespace, type Lab, type LabServers, type NatType } from '../src/lab/index.js';
import { median, percentile, type BenchResult } from './harness.js';
import { assertBuilt, BIN } from '../test/helpers/cli.js';

const PREFIX = 'npbd-';
/** NAT_PROBE_BENCH_DELAYS (e.g. "25,100") narrows the delays for a quicker run. */
const DELAYS_MS: readonly number[] = process.env.NAT_PROBE_BENCH_DELAYS?.split(',').map(Number) ?? [10, 25, 100];
const CELLS: readonly [NatType, NatType][] = [
  ['none', 'port-restricted'],
  ['port-restricted', 'port-restricted'],
  ['restricted', 'symmetric'],
];
const ROUNDS = Number(process.env.NAT_PROBE_BENCH_ROUNDS ?? 5);
const TA_MS = 5;
const JUICE_PEER = fileURLToPath(new URL('./juice-peer.mjs', import.meta.url));
/** Guard on one round (both processes to exit); a round past it is a bench failure, not a sample. */
const ROUND_GUARD_MS = 40_000;

const wallNow = (): number => performance.timeOrigin + performance.now();

interface Line {
  readonly arrivedAt: number;
  readonly value: Record<string, unknown>;
}

/** Every stdout line of a child, JSON-parsed and stamped on arrival; resolves at its exit. */
function collectLines(child: ChildProcess, onLine?: (line: Line) => void): Promise<{ lines: Line[]; code: number | null; stderr: string }> {
  const lines: Line[] = [];
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
  const reader = createInterface({ input: child.stdout! });
  reader.on('line', (text) => {
    const arrivedAt = wallNow();
    let value: Record<string, unknown>;
    try {
      value = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return;
    }
    const line = { arrivedAt, value };
    lines.push(line);
    onLine?.(line);
  });
  return new Promise((resolve) => child.once('close', (code) => resolve({ lines, code, stderr })));
}

function guard<T>(promise: Promise<T>, what: string, children: readonly ChildProcess[]): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        for (const child of children) child.kill('SIGKILL');
        reject(new Error(`${what} did not finish within ${ROUND_GUARD_MS} ms`));
      }, ROUND_GUARD_MS);
    }),
  ]).finally(() => clearTimeout(timer));
}

interface OurSample {
  /** Both joined → both on a nominated pair. */
  connectMs: number;
  /** Controlling side: first valid pair → nominated pair. */
  nominationMs: number;
  /** The first valid pair's measured RTT (its check's round trip), when reported. */
  pathRttMs?: number;
}

/** One peer's events on the shared clock. */
function ourTimeline(lines: readonly Line[]): { joined?: number; nominated?: number; firstValid?: number; firstValidRttMs?: number; nominatedPair?: number; role?: string; connected: boolean } {
  const events = lines.filter((line) => typeof line.value.at === 'number' && typeof line.value.type === 'string');
  if (events.length === 0) return { connected: false };
  const start = Math.min(...events.map((line) => line.arrivedAt - (line.value.at as number)));
  const at = (line: Line | undefined): number | undefined => (line === undefined ? undefined : start + (line.value.at as number));
  const joined = events.find((line) => line.value.type === 'peer-phase' && line.value.phase === 'joined');
  const selected = events.find((line) => line.value.type === 'ice-selected-pair' && line.value.nominated === true);
  const firstValid = events.find((line) => line.value.type === 'ice-pair' && line.value.state === 'succeeded');
  const nominatedPair = events.find((line) => line.value.type === 'ice-pair' && line.value.state === 'succeeded' && line.value.nominated === true);
  const report = lines.at(-1)?.value;
  return {
    joined: at(joined),
    nominated: at(selected),
    firstValid: at(firstValid),
    // The path's own RTT, from the check that made the first pair valid: the forwarder adds a
    // little over the asked delay (src/lab/README.md), so 4 × delay understates it by 1–4 ms.
    firstValidRttMs: typeof firstValid?.value.rttMs === 'number' ? firstValid.value.rttMs : undefined,
    nominatedPair: at(nominatedPair),
    role: joined?.value.role as string | undefined,
    connected: report?.connected === true,
  };
}

async function ourRound(lab: Lab, servers: LabServers, room: string): Promise<OurSample> {
  const args = [BIN, 'peer', '--signal', servers.signal, '--room', room, '--stun', servers.stun, '--timeout', '20000', '--json'];
  const children = [lab.a, lab.b!].map((side) => spawnInNamespace(side.client.namespace, process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
  const runs = await guard(Promise.all(children.map((child) => collectLines(child))), 'our peers', children);
  const [a, b] = runs.map((run) => ourTimeline(run.lines));
  if (!a!.connected || !b!.connected || a!.joined === undefined || b!.joined === undefined || a!.nominated === undefined || b!.nominated === undefined) {
    throw new Error(`our peers did not both connect in room ${room} (exit ${runs.map((r) => r.code).join('/')}): ${runs.map((r) => r.stderr.trim().split('\n').at(-1)).join(' | ')}`);
  }
  const controlling = a!.role === 'controlling' ? a! : b!;
  if (controlling.firstValid === undefined || controlling.nominatedPair === undefined) throw new Error(`room ${room}: the controlling peer reported no valid or nominated pair`);
  return {
    connectMs: Math.max(a!.nominated, b!.nominated) - Math.max(a!.joined, b!.joined),
    nominationMs: controlling.nominatedPair - controlling.firstValid,
    pathRttMs: controlling.firstValidRttMs,
  };
}

async function juiceRound(lab: Lab, stunUrl: string, signalingDelayMs: number): Promise<number> {
  const roles = ['offer', 'answer'] as const;
  const children = [lab.a, lab.b!].map((side, index) =>
    spawnInNamespace(side.client.namespace, process.execPath, [JUICE_PEER, roles[index]!, stunUrl, `juice-${roles[index]}`], { stdio: ['pipe', 'pipe', 'pipe'] }),
  );
  for (const child of children) child.stdin!.on('error', () => undefined);
  const ready = children.map(() => {
    let resolve: () => void = () => undefined;
    return { promise: new Promise<void>((r) => (resolve = r)), resolve: () => resolve() };
  });
  const connectedAt: (number | undefined)[] = [undefined, undefined];
  const finished = children.map((child, index) =>
    collectLines(child, (line) => {
      const kind = line.value.kind;
      if (kind === 'ready') ready[index]!.resolve();
      else if (kind === 'sdp' || kind === 'candidate') {
        // The signaling shim: what one peer says reaches the other one signaling delay later.
        const other = children[1 - index]!;
        setTimeout(() => other.stdin!.write(`${JSON.stringify(line.value)}\n`), signalingDelayMs);
      } else if (kind === 'ice' && (line.value.state === 'connected' || line.value.state === 'completed')) {
        connectedAt[index] ??= line.value.t as number;
      }
    }),
  );
  const runs = guard(Promise.all(finished), 'the libjuice peers', children);
  await guard(Promise.all(ready.map((r) => r.promise)), 'the libjuice peers to start', children);
  const go = wallNow();
  children[0]!.stdin!.write(`${JSON.stringify({ kind: 'go' })}\n`);
  const results = await runs;
  for (const child of children) child.stdin!.end();
  if (connectedAt[0] === undefined || connectedAt[1] === undefined) {
    throw new Error(`libjuice peers did not both connect (exit ${results.map((r) => r.code).join('/')}): ${results.map((r) => r.stderr.trim().split('\n').at(-1)).join(' | ')}`);
  }
  return Math.max(connectedAt[0], connectedAt[1]) - go;
}

const fmt = (samples: readonly number[]): string => `${samples.length} rounds, min ${Math.min(...samples).toFixed(0)}, p50 ${median(samples).toFixed(0)}, p90 ${percentile(samples, 90).toFixed(0)}, max ${Math.max(...samples).toFixed(0)} ms`;

export default async function iceDelayBench(): Promise<BenchResult[]> {
  const availability = await labAvailable({ tools: ['python3'] });
  if (!availability.ok) throw new Error(`needs the NAT lab: ${availability.reason}`);
  assertBuilt();
  // No destroyAllLabs(PREFIX) here: a second run of this bench (another checkout) may be using
  // the prefix right now. Each lab has its own random id and is removed in `finally`.
  const results: BenchResult[] = [];
  for (const delayMs of DELAYS_MS) {
    const rttMs = 4 * delayMs;
    for (const [a, b] of CELLS) {
      const { lab, servers } = await buildLabWithServers({ a, b, delayMs, prefix: PREFIX }, { servers: { turn: false } });
      const ours: OurSample[] = [];
      const juice: number[] = [];
      const failures: string[] = [];
      try {
        const stunUrl = `stun:${servers.stun}`;
        for (let round = 1; round <= ROUNDS; round++) {
          // Alternate which goes first, so load and conntrack state weigh on both alike.
          const steps = round % 2 === 1 ? ['ours', 'juice'] : ['juice', 'ours'];
          for (const step of steps) {
            try {
              if (step === 'ours') ours.push(await ourRound(lab, servers, `d${delayMs}-${a}-${b}-${round}`));
              else juice.push(await juiceRound(lab, stunUrl, 2 * delayMs));
            } catch (error) {
              failures.push(`${step}: ${(error as Error).message}`);
            }
          }
        }
      } finally {
        await servers.stop();
        await destroyLab(lab);
      }
      const cell = `${a} ↔ ${b}`;
      const connect = ours.map((s) => s.connectMs);
      const nomination = ours.map((s) => s.nominationMs);
      const pathRtts = ours.map((s) => s.pathRttMs).filter((v): v is number => v !== undefined);
      const pathRtt = pathRtts.length > 0 ? median(pathRtts) : rttMs;
      const failed = failures.length > 0 ? `; FAILED rounds: ${failures.join(' / ')}` : '';
      if (connect.length > 0 && juice.length > 0) {
        results.push({
          name: `--delay ${delayMs} (peer RTT ${rttMs} ms) ${cell}: both joined → both on a nominated pair`,
          value: median(connect),
          unit: 'ms',
          baseline: { label: 'libjuice to ICE connected', value: median(juice) },
          target: { op: '<=', value: median(juice) },
          notes: `ours ${fmt(connect)}; libjuice ${fmt(juice)}${failed}`,
        });
      } else {
        results.push({ name: `--delay ${delayMs} ${cell}: no complete samples`, value: Number.NaN, unit: 'ms', notes: `ours ${connect.length}, libjuice ${juice.length} samples${failed}` });
      }
      if (nomination.length > 0) {
        results.push({
          name: `--delay ${delayMs} (peer RTT ${rttMs} ms) ${cell}: first valid pair → nominated (controlling side)`,
          value: median(nomination),
          unit: 'ms',
          baseline: { label: 'one measured path RTT + Ta', value: pathRtt + TA_MS },
          target: { op: '<=', value: pathRtt + TA_MS },
          notes: `${fmt(nomination)}; path RTT p50 ${pathRtt.toFixed(1)} ms (asked ${rttMs})`,
        });
      }
    }
  }
  return results;
}
