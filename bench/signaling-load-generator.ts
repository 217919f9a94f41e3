/**
 * Load generator for bench/signaling.bench.ts, run as a child process (its sockets count against
 * its own fd limit, not the server's). It opens `peers` WebSockets to 127.0.0.1 in `rooms` pairs,
 * then runs load phases: candidates between paired peers at a fixed offered rate for a fixed
 * time, measuring one-way relay latency (sender and receiver share this process's clock).
 *
 * mode 'signaling' speaks the nat-probe protocol like SignalingClient (join, seq, acks riding on
 * outgoing messages, else after 32 messages or 5 s); mode 'bare' sends the same candidate frames
 * to a bare relay that pairs by the URL's ?room= and forwards bytes unparsed.
 *
 * Delivery is checked, not only counted: each message id is recorded with its sender, and each
 * receipt must be new (no duplicate), at the sender's partner (not misrouted), and after the
 * previous one from that partner (in order); in 'signaling' mode every server stream seq must be
 * the previous one + 1. After the drain, what never arrived is `missing`.
 *
 * Several generators can share one run (one process holds at most ~20 000 sockets: the fd limit):
 * each takes the peers firstPeer … firstPeer + peers − 1 (whole rooms), and returns its raw latency
 * samples so the parent can merge percentiles.
 *
 * IPC: parent → {cmd:'go'} | {cmd:'stop'}; child → {type:'connected'}, {type:'result'}, {type:'failed'}.
 * Bounded: every phase has a deadline, and the process exits by itself after `deadlineMs`.
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import WebSocket from 'ws';

export interface LoadPhase {
  name: string;
  /** Offered load, messages per second across all pairs. */
  rate: number;
  durationMs: number;
  /**
   * Messages each sender sends back to back (one write) before the next sender's turn.
   * 1: strict round-robin, one message per peer at a time; trickle ICE sends candidates in bursts.
   */
  burst: number;
  /** False for a warm-up phase: run, but report nothing. */
  measured: boolean;
}

export interface GeneratorConfig {
  url: string;
  /** 'peerjs': PeerJS server protocol (OPEN on connect, {type,dst,payload} forwarded with src). */
  /** Several instances: peer i connects to urls[i % n], so with two the peers of each room are on different instances. */
  urls?: string[];
  mode: 'signaling' | 'bare' | 'peerjs';
  /** Peers of this generator; with several generators, each its own share (an even number: whole rooms). */
  peers: number;
  /** Global index of this generator's first peer (even; default 0): names rooms, PeerJS ids and the instance. */
  firstPeer?: number;
  /** Return every latency sample (for merging several generators' percentiles). */
  returnSamples?: boolean;
  rooms: number;
  phases: LoadPhase[];
  /** Handshakes in flight at once. */
  connectConcurrency: number;
  /** The process exits after this long, whatever happens. */
  deadlineMs: number;
}

export interface PhaseResult {
  name: string;
  sent: number;
  received: number;
  /** Received messages per second, first send to last receive. */
  throughput: number;
  p50: number;
  p99: number;
  max: number;
  /** This process's CPU time (user + system) during the phase, in ms. */
  cpuMs: number;
  /** Delivery checks: receipts of an id already received, at a peer other than the sender's partner, before an earlier id from the same sender; sent but never received. */
  duplicates: number;
  misrouted: number;
  outOfOrder: number;
  missing: number;
  /** Server stream seqs that skipped (gap) or repeated ('signaling' mode). */
  seqErrors: number;
  samples?: number[];
  /** This generator's longest event-loop stall in the phase (its own share of the latency). */
  loopDelayMaxMs?: number;
  /** False for the warm-up. */
  measured?: boolean;
}

export interface GeneratorResult {
  connectMs: number;
  phases: PhaseResult[];
  errors: number;
  firstError: string | undefined;
}

const SUBPROTOCOL = 'nat-probe-signaling.v1';
/** Same acknowledgement policy as SignalingClient's defaults. */
const ACK_EVERY = 32;
const ACK_DELAY_MS = 5_000;
const TICK_MS = 2;
const DRAIN_MS = 3_000;

const config = JSON.parse(process.argv[2] ?? '{}') as GeneratorConfig;
setTimeout(() => fail(`load generator passed its ${config.deadlineMs} ms deadline`), config.deadlineMs).unref();

interface Peer {
  ws: WebSocket;
  /** Local index; the partner is index ^ 1. */
  index: number;
  /** Highest message id received from the partner in this phase. */
  lastId: number;
  nextSeq: number;
  lastInSeq: number;
  unacked: number;
  firstUnackedAt: number;
}

const peers: Peer[] = [];
const capacity = Math.max(...config.phases.map((phase) => Math.ceil((phase.rate * phase.durationMs) / 1000))) + 1_000;
const sendTimes = new Float64Array(capacity);
const latencies = new Float64Array(capacity);
/** Per message id: the local index of its sender, and whether it arrived. */
const senderOf = new Int32Array(capacity);
const delivered = new Uint8Array(capacity);
const checks = { duplicates: 0, misrouted: 0, outOfOrder: 0, seqErrors: 0 };
const FIRST = config.firstPeer ?? 0;
/** Message ids are per phase; a late message from an earlier phase is recognised by its phase tag. */
let phaseTag = 0;
let received = 0;
let lastReceiveAt = 0;
let errors = 0;
let firstError: string | undefined;

function fail(reason: string): never {
  process.send?.({ type: 'failed', reason });
  process.exit(1);
}

function sendAck(peer: Peer): void {
  peer.unacked = 0;
  peer.ws.send(`{"type":"ack","seq":0,"ack":${peer.lastInSeq}}`);
}

function onFrame(peer: Peer, text: string): void {
  const marker = text.indexOf('candidate:');
  if (marker >= 0) {
    // The foundation is "<phase tag>x<message id>", which stays within RFC 8839's ice-chars.
    const tagEnd = text.indexOf('x', marker);
    const tag = Number.parseInt(text.slice(marker + 10, tagEnd), 10);
    if (tag === phaseTag) {
      const id = Number.parseInt(text.slice(tagEnd + 1, text.indexOf(' ', tagEnd)), 10);
      const now = performance.now();
      if (delivered[id] === 1) {
        checks.duplicates++;
      } else {
        delivered[id] = 1;
        if (senderOf[id] !== (peer.index ^ 1)) checks.misrouted++;
        if (id < peer.lastId) checks.outOfOrder++;
        peer.lastId = id;
        latencies[received++] = now - sendTimes[id]!;
        lastReceiveAt = now;
      }
    }
  } else if (text.includes('"type":"error"') || text.includes('"type":"ERROR"') || text.includes('"type":"ID-TAKEN"')) {
    errors++;
    firstError ??= text;
  }
  if (config.mode === 'signaling' && text.startsWith('{"seq":')) {
    const seq = Number.parseInt(text.slice(7), 10);
    if (seq > 0) {
      if (seq !== peer.lastInSeq + 1) checks.seqErrors++;
      peer.lastInSeq = seq;
      if (peer.unacked++ === 0) peer.firstUnackedAt = performance.now();
      if (peer.unacked >= ACK_EVERY) sendAck(peer);
    }
  }
}

function connect(index: number): Promise<void> {
  const global = FIRST + index;
  const room = `r${global >> 1}`;
  return new Promise((resolve, reject) => {
    const base = config.urls === undefined ? config.url : config.urls[global % config.urls.length]!;
    const url = config.mode === 'peerjs' ? `${base}peerjs?key=peerjs&id=p${global}&token=t${global}` : `${base}?room=${room}`;
    const ws = new WebSocket(url, config.mode === 'peerjs' ? [] : SUBPROTOCOL, { perMessageDeflate: false });
    const peer: Peer = { ws, index, lastId: -1, nextSeq: 1, lastInSeq: 0, unacked: 0, firstUnackedAt: 0 };
    peers[index] = peer;
    ws.once('error', reject);
    ws.once('open', () => {
      if (config.mode === 'bare') resolve();
      else if (config.mode === 'signaling') ws.send(JSON.stringify({ type: 'join', seq: 0, room }));
      // peerjs: the server sends OPEN by itself.
    });
    ws.on('message', (data) => {
      const text = data.toString();
      if (text.startsWith('{"type":"joined"') || (config.mode === 'peerjs' && text.startsWith('{"type":"OPEN"'))) {
        resolve();
        return;
      }
      if (text.startsWith('{"type":"error"') && text.includes('"code":"room-full"')) reject(new Error(text));
      onFrame(peer, text);
    });
  });
}

async function connectAll(): Promise<number> {
  const started = performance.now();
  let next = 0;
  const workers = Array.from({ length: config.connectConcurrency }, async () => {
    while (next < config.peers) await connect(next++);
  });
  await Promise.all(workers);
  return performance.now() - started;
}

/** The delayed half of the ack policy: ack what has waited ACK_DELAY_MS. */
function startAckSweeper(): NodeJS.Timeout {
  return setInterval(() => {
    const before = performance.now() - ACK_DELAY_MS;
    for (const peer of peers) if (peer.unacked > 0 && peer.firstUnackedAt < before) sendAck(peer);
  }, 250);
}

/** Sends at the offered rate: each tick tops the count up to rate × elapsed. */
function runLoad(phase: LoadPhase): Promise<{ sent: number; startedAt: number }> {
  return new Promise((resolve) => {
    const startedAt = performance.now();
    let sent = 0;
    let turn = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      const elapsed = Math.min(now - startedAt, phase.durationMs);
      const due = Math.min(capacity, Math.floor((phase.rate * elapsed) / 1000));
      while (sent < due) {
        // Senders take turns over every peer; each sends to its partner (index ^ 1).
        const peer = peers[turn++ % config.peers]!;
        const socket = (peer.ws as unknown as { _socket: { cork(): void; uncork(): void } })._socket;
        socket.cork(); // a burst leaves in one write, as a browser's would
        for (const end = Math.min(due, sent + phase.burst); sent < end; sent++) {
          const seq = peer.nextSeq++;
          const ack = config.mode === 'signaling' && peer.unacked > 0 ? `"ack":${peer.lastInSeq},` : '';
          peer.unacked = 0;
          sendTimes[sent] = performance.now();
          senderOf[sent] = peer.index;
          const line = `candidate:${phaseTag}x${sent} 1 udp 2130706431 10.0.0.1 5000 typ host`;
          peer.ws.send(
            config.mode === 'peerjs'
              ? `{"type":"CANDIDATE","dst":"p${FIRST + (peer.index ^ 1)}","payload":{"candidate":"${line}"}}`
              : `{${ack}"type":"candidate","seq":${seq},"candidate":"${line}"}`,
          );
        }
        socket.uncork();
      }
      if (now - startedAt >= phase.durationMs) {
        clearInterval(timer);
        resolve({ sent, startedAt });
      }
    }, TICK_MS);
  });
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

const loopDelay = monitorEventLoopDelay({ resolution: 5 });

async function runPhase(phase: LoadPhase): Promise<PhaseResult> {
  loopDelay.reset();
  loopDelay.enable();
  phaseTag++;
  received = 0;
  delivered.fill(0);
  for (const peer of peers) peer.lastId = -1;
  const checksBefore = { ...checks };
  const cpuBefore = process.cpuUsage();
  const { sent, startedAt } = await runLoad(phase);
  const drainUntil = performance.now() + DRAIN_MS;
  while (received < sent && performance.now() < drainUntil) await new Promise((resolve) => setTimeout(resolve, 10));
  const cpu = process.cpuUsage(cpuBefore);
  loopDelay.disable();
  const sorted = latencies.slice(0, received).sort();
  return {
    name: phase.name,
    sent,
    received,
    throughput: received / ((lastReceiveAt - startedAt) / 1000),
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.length === 0 ? Number.NaN : sorted[sorted.length - 1]!,
    cpuMs: (cpu.user + cpu.system) / 1000,
    duplicates: checks.duplicates - checksBefore.duplicates,
    misrouted: checks.misrouted - checksBefore.misrouted,
    outOfOrder: checks.outOfOrder - checksBefore.outOfOrder,
    missing: sent - received,
    seqErrors: checks.seqErrors - checksBefore.seqErrors,
    loopDelayMaxMs: loopDelay.max / 1e6,
    ...(config.returnSamples === true ? { samples: Array.from(latencies.subarray(0, received)) } : {}),
  };
}

async function main(): Promise<void> {
  const connectMs = await connectAll();
  process.send?.({ type: 'connected', connectMs });
  await new Promise<void>((resolve) => {
    process.on('message', (message: { cmd: string }) => {
      if (message.cmd === 'go') resolve();
      if (message.cmd === 'stop') process.exit(0);
    });
  });
  const sweeper = config.mode === 'signaling' ? startAckSweeper() : undefined;
  const phases: PhaseResult[] = [];
  for (const phase of config.phases) {
    // Every phase is returned (warm-up too, marked), so CPU per message can cover exactly the
    // span the servers' CPU was measured over.
    phases.push({ ...(await runPhase(phase)), measured: phase.measured });
  }
  clearInterval(sweeper);
  const result: GeneratorResult = { connectMs, phases, errors, firstError };
  // The peers stay connected until the parent says stop (after it measured the servers), so the
  // servers' closing work is not counted as relaying; the deadline still bounds this process.
  process.send?.({ type: 'result', result });
}

main().catch((error: unknown) => fail(error instanceof Error ? error.message : String(error)));
