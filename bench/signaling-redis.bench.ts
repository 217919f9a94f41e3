/**
 * Signaling across instances: two server processes sharing one redis-server (as two
 * `serve --redis`), many peers in rooms split across them (peer 2k on instance A, 2k+1 on B, so
 * every relayed message crosses instances through Redis), driven by the same load generator as
 * bench/signaling.bench.ts. Baseline in the same run: one instance without Redis, same load.
 *
 * Also the size of Redis state, measured directly on the store: bytes of Redis memory
 * (INFO used_memory) per idle session and per logged (unacknowledged) message, at
 * SIGNALING_REDIS_BENCH_SIZE_SESSIONS sessions (100 000), extrapolated to a million.
 *
 * Issue targets: 20 000 peers in 10 000 rooms, ≥ 10 000 msg/s between instances, p99 ≤ 25 ms.
 * Defaults are scaled down so the bench finishes in a few minutes on a shared 2-core machine;
 * the knobs scale it up: SIGNALING_REDIS_BENCH_PEERS (4000), SIGNALING_REDIS_BENCH_RATE (4000
 * msg/s offered), SIGNALING_REDIS_BENCH_SECONDS (3 per phase). The full target:
 * SIGNALING_REDIS_BENCH_PEERS=20000 SIGNALING_REDIS_BENCH_RATE=10000.
 *
 * One process may hold at most 20 000 file descriptors here (the container's hard limit), so
 * the load comes from one generator per 10 000 peers (whole rooms each; their latency samples are
 * merged), and a single-process baseline (one instance without Redis, PeerJS) holds at most
 * 19 000 peers: above that it runs with 19 000 and the row says so.
 *
 * CPU per relayed message is given per process kind (instances, Redis, load generators), over
 * every phase including the warm-up, so it is known what the 2 cores are spent on.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createClient } from 'redis';
import { connectRedisSignaling } from '../src/signaling/redis-store.js';
import { RedisProcess, redisGate } from '../test/helpers/redis.js';
import type { BenchResult } from './harness.js';
import type { GeneratorConfig, GeneratorResult, LoadPhase, PhaseResult } from './signaling-load-generator.js';
import { describe, nextMessage, phase, spawnChild, stop } from './signaling.bench.js';

const PEERS = Number(process.env.SIGNALING_REDIS_BENCH_PEERS ?? 4_000);
const ROOMS = PEERS / 2;
const RATE = Number(process.env.SIGNALING_REDIS_BENCH_RATE ?? 4_000);
const PHASE_MS = Number(process.env.SIGNALING_REDIS_BENCH_SECONDS ?? 3) * 1_000;
const SIZE_SESSIONS = Number(process.env.SIGNALING_REDIS_BENCH_SIZE_SESSIONS ?? 100_000);
const BURST = 4;
const PHASES: LoadPhase[] = [
  { name: 'warm-up', rate: RATE, durationMs: 1_000, burst: BURST, measured: false },
  { name: 'bursts', rate: RATE, durationMs: PHASE_MS, burst: BURST, measured: true },
  { name: 'one at a time', rate: RATE, durationMs: PHASE_MS, burst: 1, measured: true },
];
/** Peers one load generator holds (fd limit 20 000 per process). */
const PEERS_PER_GENERATOR = 10_000;
/** Peers a single-process baseline can hold under the same limit. */
const SINGLE_PROCESS_PEERS = 19_000;
/** Joining takes about 1 ms per peer here; the bound leaves room for a loaded machine. */
const CONNECT_BOUND_MS = Math.max(30_000, PEERS * 6);
const CHILD_DEADLINE_MS = 90_000 + CONNECT_BOUND_MS;
/** What a relayed candidate looks like in an outbox (the generator's frame, relayed form). */
const SAMPLE_BODY = JSON.stringify({ type: 'candidate', candidate: 'candidate:1x12345 1 udp 2130706431 10.0.0.1 5000 typ host', from: 'p-AAAAAAAAAAAA' });

interface RunFigures {
  /** Peers this run held (a single-process baseline may hold fewer: SINGLE_PROCESS_PEERS). */
  peers: number;
  generator: GeneratorResult;
  /** Connections each server process held once every peer had joined (PeerJS: its own count). */
  held: number[];
  /** Each server process's event-loop delay (p99, max) since it started, ms. */
  loopDelays: { p99: number; max: number }[];
  /** CPU of the load generators over all phases, ms. */
  generatorCpuMs: number;
  /** /proc/loadavg when the load phases ended. */
  loadavg: string;
  /** Server RSS growth from idle to PEERS connected, summed over instances. */
  rssGrowth: number;
  serverStats: unknown[];
  /** Redis used_memory growth from empty to PEERS idle sessions (Redis runs only). */
  redisGrowth?: number;
  /** CPU (user + system) over the load phases: the server processes together, and Redis. */
  serverCpuMs: number;
  redisCpuMs?: number;
}

async function redisCpuMs(url: string): Promise<number> {
  const admin = createClient({ url });
  admin.on('error', () => undefined);
  await admin.connect();
  try {
    const info = String(await admin.info('cpu'));
    return (Number(/used_cpu_user:([\d.]+)/.exec(info)![1]) + Number(/used_cpu_sys:([\d.]+)/.exec(info)![1])) * 1000;
  } finally {
    await admin.quit();
  }
}

async function usedMemory(url: string): Promise<number> {
  const admin = createClient({ url });
  admin.on('error', () => undefined);
  await admin.connect();
  try {
    return Number(/used_memory:(\d+)/.exec(String(await admin.info('memory')))![1]);
  } finally {
    await admin.quit();
  }
}

/** Several generators' results as one: sums, and percentiles over the merged samples. */
function mergeGenerators(results: GeneratorResult[]): GeneratorResult {
  const phases: PhaseResult[] = results[0]!.phases.map((first, index) => {
    const all = results.map((result) => result.phases[index]!);
    const samples = Float64Array.from(all.flatMap((one) => one.samples ?? [])).sort();
    const at = (p: number): number => (samples.length === 0 ? Number.NaN : samples[Math.min(samples.length - 1, Math.max(0, Math.ceil((p / 100) * samples.length) - 1))]!);
    const sum = (pick: (one: PhaseResult) => number): number => all.reduce((total, one) => total + pick(one), 0);
    return {
      name: first.name,
      ...(first.measured !== undefined ? { measured: first.measured } : {}),
      sent: sum((one) => one.sent),
      received: sum((one) => one.received),
      // Each generator measured its own rate over the same span; together they carried the sum.
      throughput: sum((one) => one.throughput),
      p50: at(50),
      p99: at(99),
      max: samples.length === 0 ? Number.NaN : samples[samples.length - 1]!,
      cpuMs: sum((one) => one.cpuMs),
      duplicates: sum((one) => one.duplicates),
      misrouted: sum((one) => one.misrouted),
      outOfOrder: sum((one) => one.outOfOrder),
      missing: sum((one) => one.missing),
      seqErrors: sum((one) => one.seqErrors),
      loopDelayMaxMs: Math.max(...all.map((one) => one.loopDelayMaxMs ?? 0)),
    };
  });
  return {
    connectMs: Math.max(...results.map((result) => result.connectMs)),
    phases,
    errors: results.reduce((total, result) => total + result.errors, 0),
    firstError: results.find((result) => result.firstError !== undefined)?.firstError,
  };
}

async function run(instances: number, redisUrl: string | undefined, mode: 'signaling' | 'peerjs' = 'signaling'): Promise<RunFigures> {
  // A single process cannot hold more sockets than its fd limit allows.
  const peers = instances === 1 ? Math.min(PEERS, SINGLE_PROCESS_PEERS) : PEERS;
  const rooms = peers / 2;
  const servers: ChildProcess[] = [];
  const generators: ChildProcess[] = [];
  try {
    const listening: { port: number; rss: number }[] = [];
    for (let i = 0; i < instances; i++) {
      const server = spawnChild('signaling-server-process.ts', { mode, deadlineMs: CHILD_DEADLINE_MS, redisUrl, maxRooms: rooms + 10, maxPeers: peers + 10 });
      servers.push(server);
      listening.push(await nextMessage<{ port: number; rss: number }>(server, 'listening', `instance ${i} to listen`));
    }
    const redisBefore = redisUrl === undefined ? undefined : await usedMemory(redisUrl);
    const urls = listening.map(({ port }) => `ws://127.0.0.1:${port}/`);
    const count = Math.ceil(peers / PEERS_PER_GENERATOR);
    const share = Math.ceil(rooms / count) * 2;
    for (let first = 0; first < peers; first += share) {
      const config: GeneratorConfig = {
        url: urls[0]!,
        urls,
        mode,
        peers: Math.min(share, peers - first),
        firstPeer: first,
        returnSamples: true,
        rooms: Math.min(share, peers - first) / 2,
        // Each generator offers its share of the rate.
        phases: PHASES.map((one) => ({ ...one, rate: (RATE * Math.min(share, peers - first)) / peers })),
        connectConcurrency: 128,
        deadlineMs: CHILD_DEADLINE_MS,
      };
      generators.push(spawnChild('signaling-load-generator.ts', config));
    }
    await Promise.all(generators.map((generator) => nextMessage(generator, 'connected', `${peers} peers to connect`, CONNECT_BOUND_MS)));
    const redisAfter = redisUrl === undefined ? undefined : await usedMemory(redisUrl);
    let rssConnected = 0;
    let cpuBefore = 0;
    const held: number[] = [];
    for (const server of servers) {
      server.send({ cmd: 'measure' });
      const measured = await nextMessage<{ rss: number; cpuMs: number; stats: { connections?: number } }>(server, 'measure', 'server RSS');
      rssConnected += measured.rss;
      cpuBefore += measured.cpuMs;
      held.push(measured.stats.connections ?? Number.NaN);
    }
    const redisCpuBefore = redisUrl === undefined ? undefined : await redisCpuMs(redisUrl);
    const results = generators.map((generator) => nextMessage<{ result: GeneratorResult }>(generator, 'result', 'the load run', CHILD_DEADLINE_MS));
    for (const generator of generators) generator.send({ cmd: 'go' });
    const result = mergeGenerators((await Promise.all(results)).map((one) => one.result));
    const loadavg = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
    const redisCpuAfter = redisUrl === undefined ? undefined : await redisCpuMs(redisUrl);
    const serverStats: unknown[] = [];
    const loopDelays: { p99: number; max: number }[] = [];
    let cpuAfter = 0;
    for (const server of servers) {
      server.send({ cmd: 'measure' });
      const measured = await nextMessage<{ stats: unknown; cpuMs: number; loopDelayMs: { p99: number; max: number } }>(server, 'measure', 'server stats');
      serverStats.push(measured.stats);
      cpuAfter += measured.cpuMs;
      loopDelays.push(measured.loopDelayMs);
    }
    return {
      peers,
      held,
      loopDelays,
      generator: result,
      generatorCpuMs: result.phases.reduce((sum, one) => sum + one.cpuMs, 0),
      loadavg,
      rssGrowth: rssConnected - listening.reduce((sum, { rss }) => sum + rss, 0),
      serverStats,
      serverCpuMs: cpuAfter - cpuBefore,
      ...(redisCpuBefore !== undefined && redisCpuAfter !== undefined ? { redisCpuMs: redisCpuAfter - redisCpuBefore } : {}),
      ...(redisBefore !== undefined && redisAfter !== undefined ? { redisGrowth: redisAfter - redisBefore } : {}),
    };
  } finally {
    for (const generator of generators) await stop(generator);
    for (const server of servers) await stop(server);
  }
}

/** Redis bytes per idle session and per logged message, straight through the store's scripts. */
async function measureSize(redisUrl: string): Promise<{ perSession: number; perMessage: number; firstMessage: number }> {
  const redis = await connectRedisSignaling({ url: redisUrl, prefix: 'size:' });
  try {
    const limits = { maxRooms: SIZE_SESSIONS, maxPeers: SIZE_SESSIONS, roomCapacity: 2 };
    const before = await usedMemory(redisUrl);
    const ids: string[] = [];
    for (let start = 0; start < SIZE_SESSIONS; start += 2_000) {
      const batch: Promise<unknown>[] = [];
      for (let i = start; i < Math.min(SIZE_SESSIONS, start + 2_000); i++) {
        // Production-shaped ids and hashes (peerId 14 chars, SHA-256 base64url 43 chars).
        const peerId = `p-${i.toString(36).padStart(12, '0')}`;
        ids.push(peerId);
        batch.push(redis.store.addPeer({ room: `room-${i >> 1}`, peerId, resumeTokenHash: `${peerId}${'h'.repeat(29)}`, roomTokenHash: undefined, now: Date.now() }, limits));
      }
      await Promise.all(batch);
    }
    const sessions = await usedMemory(redisUrl);
    const enqueueRound = async (): Promise<void> => {
      for (let start = 0; start < ids.length; start += 2_000) {
        await Promise.all(ids.slice(start, start + 2_000).map((peerId) => redis.store.enqueueOutbound(peerId, SAMPLE_BODY, 1_024)));
      }
    };
    // The first entry also creates each peer's outbox (a sorted set); later ones cost only themselves.
    await enqueueRound();
    const first = await usedMemory(redisUrl);
    for (let round = 0; round < 4; round++) await enqueueRound();
    const five = await usedMemory(redisUrl);
    return { perSession: (sessions - before) / SIZE_SESSIONS, firstMessage: (first - sessions) / ids.length, perMessage: (five - first) / (4 * ids.length) };
  } finally {
    await redis.close();
  }
}

export default async function signalingRedisBench(): Promise<BenchResult[]> {
  if (!redisGate.available) throw new Error(`needs redis-server: ${redisGate.reason}`);
  const single = await run(1, undefined);
  const peerjs = process.env.SIGNALING_REDIS_BENCH_PEERJS === '0' ? undefined : await run(1, undefined, 'peerjs');
  const redis = await RedisProcess.start();
  let shared: RunFigures;
  let size: { perSession: number; perMessage: number; firstMessage: number };
  try {
    shared = await run(2, redis.url);
    await redis.restart(); // an empty Redis for the size measurement
    size = await measureSize(redis.url);
  } finally {
    await redis.stop();
  }
  const shape = `${PEERS} peers in ${ROOMS} rooms, each room split over 2 instances + 1 Redis, ${RATE} msg/s offered for ${PHASE_MS / 1000} s`;
  // Label of the single-process baseline, with its size when the fd limit capped it.
  const one = single.peers === PEERS ? 'one instance without Redis' : `one instance without Redis, ${single.peers} peers (fd limit)`;
  const rows: BenchResult[] = [];
  for (const [name, label, target] of [
    ['bursts', `bursts of ${BURST}`, true],
    ['one at a time', 'one message at a time', false],
  ] as const) {
    const mine = phase(shared, name);
    const theirs = phase(single, name);
    rows.push(
      {
        name: `signaling+redis: messages/s between instances (${shape}, ${label})`,
        value: mine.throughput,
        unit: 'msg/s',
        baseline: { label: one, value: theirs.throughput },
        ...(target ? { target: { op: '>=' as const, value: 10_000 } } : {}),
        notes:
          `2 instances + Redis: ${describe(mine)} | 1 instance: ${describe(theirs)} | load average ${shared.loadavg} (2-instance run), ${single.loadavg} (1 instance)` +
          ` | longest event-loop stall during the load: instances ${shared.loopDelays.map((d) => d.max.toFixed(0)).join(', ')} ms (1 instance ${single.loopDelays.map((d) => d.max.toFixed(0)).join('')} ms), generators ${mine.loopDelayMaxMs?.toFixed(0)} ms (${theirs.loopDelayMaxMs?.toFixed(0)} ms)`,
      },
      {
        name: `signaling+redis: one-way latency p99 between instances (${label})`,
        value: mine.p99,
        unit: 'ms',
        baseline: { label: one, value: theirs.p99 },
        ...(target ? { target: { op: '<=' as const, value: 25 } } : {}),
      },
    );
  }
  if (peerjs !== undefined) {
    for (const [name, label] of [
      ['bursts', `bursts of ${BURST}`],
      ['one at a time', 'one message at a time'],
    ] as const) {
      const theirs = phase(peerjs, name);
      rows.push({
        name: `PeerJS server (npm peer 1.0.2, one instance): messages/s (same load, ${label})`,
        value: theirs.throughput,
        unit: 'msg/s',
        baseline: { label: 'nat-probe, one instance without Redis', value: phase(single, name).throughput },
        notes: `PeerJS: ${describe(theirs)}, p99 ${theirs.p99.toFixed(1)} ms | nat-probe 2 instances + Redis p99 ${phase(shared, name).p99.toFixed(1)} ms. PeerJS relays without sequence numbers, acknowledgements, resume or validation of candidates`,
      });
    }
    rows.push({
      name: 'PeerJS server: RSS per connected peer',
      value: peerjs.rssGrowth / 1024 / peerjs.peers,
      unit: 'KiB',
      baseline: { label: `nat-probe, ${one}`, value: single.rssGrowth / 1024 / single.peers },
      notes: `connections held once all had joined: ${peerjs.held.join('')} of ${peerjs.peers}; ${peerjs.generator.errors} error frames`,
    });
  }
  const relayed = (figures: RunFigures): number => figures.generator.phases.reduce((sum, result) => sum + result.received, 0);
  const perMessage = (ms: number | undefined, figures: RunFigures): number => ((ms ?? 0) * 1000) / relayed(figures);
  const breakdown = (figures: RunFigures): string =>
    `instances ${perMessage(figures.serverCpuMs, figures).toFixed(0)} µs` +
    (figures.redisCpuMs === undefined ? '' : ` + Redis ${perMessage(figures.redisCpuMs, figures).toFixed(0)} µs`) +
    ` + load generators ${perMessage(figures.generatorCpuMs, figures).toFixed(0)} µs`;
  rows.push({
    name: 'signaling+redis: CPU per relayed message in the 2 instances (all load phases, warm-up included)',
    value: perMessage(shared.serverCpuMs, shared),
    unit: 'µs',
    baseline: { label: one, value: perMessage(single.serverCpuMs, single) },
    notes:
      `2 instances + Redis: ${breakdown(shared)} per message | 1 instance: ${breakdown(single)}` +
      `${peerjs === undefined ? '' : ` | PeerJS: ${breakdown(peerjs)}`}. On 2 shared cores the sum bounds the rate before any queueing: 2 000 000 µs/s ÷ sum = msg/s`,
  });
  const errors = (figures: RunFigures): string => (figures.generator.errors === 0 ? 'no error frames' : `${figures.generator.errors} error frames, first: ${figures.generator.firstError}`);
  rows.push(
    {
      name: 'signaling+redis: server RSS per connected peer (sum over 2 instances)',
      value: shared.rssGrowth / 1024 / PEERS,
      unit: 'KiB',
      baseline: { label: one, value: single.rssGrowth / 1024 / single.peers },
      notes: `Redis memory for ${PEERS} live idle sessions: ${((shared.redisGrowth ?? 0) / PEERS).toFixed(0)} B each; ${errors(shared)}; relayed per instance: ${shared.serverStats.map((stats) => (stats as { messagesRelayed: number }).messagesRelayed).join(' + ')}; connections held once all had joined: ${shared.held.join(' + ')} (1 instance: ${single.held.join('')})`,
    },
    {
      name: `signaling+redis: Redis memory per idle session (at ${SIZE_SESSIONS} sessions)`,
      value: size.perSession,
      unit: 'B',
      baseline: { label: `${one}: server RSS per peer`, value: single.rssGrowth / single.peers },
      notes: `extrapolated to 1 000 000 sessions: ${((size.perSession * 1e6) / 2 ** 30).toFixed(2)} GiB of Redis memory (sessions only)`,
    },
    {
      name: 'signaling+redis: Redis memory per logged (unacknowledged) message',
      value: size.perMessage,
      unit: 'B',
      baseline: { label: 'the message body itself', value: SAMPLE_BODY.length },
      notes: `a relayed candidate of ${SAMPLE_BODY.length} B; marginal cost over entries 2–5 of ${SIZE_SESSIONS} outboxes; the first entry of an outbox costs ${size.firstMessage.toFixed(0)} B (it creates the sorted set). Outboxes hold only unacknowledged messages (the client acks every 32 or 5 s)`,
    },
    {
      name: `signaling+redis: time to connect and join ${PEERS} peers over 2 instances`,
      value: shared.generator.connectMs / 1000,
      unit: 's',
      baseline: { label: one, value: single.generator.connectMs / 1000 },
    },
  );
  return rows;
}
