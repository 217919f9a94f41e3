/**
 * Load generator for bench/signaling.bench.ts, run as a child process (its sockets count against
 * its own fd limit, not the server's). It opens `peers` WebSockets to 127.0.0.1 in `rooms` pairs,
 * then sends candidates between paired peers at a fixed offered rate for a fixed time and
 * measures one-way relay latency (sender and receiver share this process's clock).
 *
 * mode 'signaling' speaks the nat-probe protocol (join, seq, acks); mode 'bare' sends the very
 * same frames to a bare relay that pairs by the URL's ?room= and forwards bytes unparsed.
 *
 * IPC: parent → {cmd:'go'}; child → {type:'connected'}, {type:'result'}, {type:'failed'}.
 * Bounded: every phase has a deadline, and the process exits by itself after `deadlineMs`.
 */
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';

export interface GeneratorConfig {
  url: string;
  mode: 'signaling' | 'bare';
  peers: number;
  rooms: number;
  /** Offered load, messages per second across all pairs. */
  rate: number;
  durationMs: number;
  /** Handshakes in flight at once. */
  connectConcurrency: number;
  /** The process exits after this long, whatever happens. */
  deadlineMs: number;
}

export interface GeneratorResult {
  connectMs: number;
  sent: number;
  received: number;
  /** Received messages per second, first send to last receive. */
  throughput: number;
  p50: number;
  p99: number;
  max: number;
  errors: number;
  firstError: string | undefined;
}

const SUBPROTOCOL = 'nat-probe-signaling.v1';
const ACK_EVERY = 16;
const TICK_MS = 2;
const DRAIN_MS = 3_000;

const config = JSON.parse(process.argv[2] ?? '{}') as GeneratorConfig;
setTimeout(() => fail(`load generator passed its ${config.deadlineMs} ms deadline`), config.deadlineMs).unref();

interface Peer {
  ws: WebSocket;
  nextSeq: number;
  lastInSeq: number;
  unacked: number;
}

const peers: Peer[] = [];
const capacity = Math.ceil((config.rate * config.durationMs) / 1000) + 1_000;
const sendTimes = new Float64Array(capacity);
const latencies = new Float64Array(capacity);
let received = 0;
let lastReceiveAt = 0;
let errors = 0;
let firstError: string | undefined;

function fail(reason: string): never {
  process.send?.({ type: 'failed', reason });
  process.exit(1);
}

function onFrame(peer: Peer, text: string): void {
  const marker = text.indexOf('candidate:');
  if (marker >= 0) {
    const id = Number.parseInt(text.slice(marker + 10, text.indexOf(' ', marker)), 10);
    const now = performance.now();
    latencies[received++] = now - sendTimes[id]!;
    lastReceiveAt = now;
  } else if (text.includes('"type":"error"')) {
    errors++;
    firstError ??= text;
  }
  if (config.mode === 'signaling' && text.startsWith('{"seq":')) {
    const seq = Number.parseInt(text.slice(7), 10);
    if (seq > 0) {
      peer.lastInSeq = seq;
      if (++peer.unacked >= ACK_EVERY) {
        peer.unacked = 0;
        peer.ws.send(`{"type":"ack","seq":0,"ack":${seq}}`);
      }
    }
  }
}

function connect(index: number): Promise<void> {
  const room = `r${index >> 1}`;
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${config.url}?room=${room}`, SUBPROTOCOL, { perMessageDeflate: false });
    const peer: Peer = { ws, nextSeq: 1, lastInSeq: 0, unacked: 0 };
    peers[index] = peer;
    ws.once('error', reject);
    ws.once('open', () => {
      if (config.mode === 'bare') resolve();
      else ws.send(JSON.stringify({ type: 'join', seq: 0, room }));
    });
    ws.on('message', (data) => {
      const text = data.toString();
      if (text.startsWith('{"type":"joined"')) {
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

/** Sends at the offered rate: each tick tops the count up to rate × elapsed. */
function runLoad(): Promise<{ sent: number; firstSendAt: number }> {
  return new Promise((resolve) => {
    const startedAt = performance.now();
    let sent = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      const elapsed = Math.min(now - startedAt, config.durationMs);
      const due = Math.min(capacity, Math.floor((config.rate * elapsed) / 1000));
      for (; sent < due; sent++) {
        // Round-robin over every peer, so each sends to its partner (index ^ 1) in turn.
        const peer = peers[sent % config.peers]!;
        const seq = peer.nextSeq++;
        sendTimes[sent] = performance.now();
        peer.ws.send(`{"type":"candidate","seq":${seq},"candidate":"candidate:${sent} 1 udp 2130706431 10.0.0.1 5000 typ host"}`);
      }
      if (now - startedAt >= config.durationMs) {
        clearInterval(timer);
        resolve({ sent, firstSendAt: startedAt });
      }
    }, TICK_MS);
  });
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

async function main(): Promise<void> {
  const connectMs = await connectAll();
  process.send?.({ type: 'connected', connectMs });
  await new Promise<void>((resolve) => process.once('message', () => resolve()));
  const { sent, firstSendAt } = await runLoad();
  const drainUntil = performance.now() + DRAIN_MS;
  while (received < sent && performance.now() < drainUntil) await new Promise((resolve) => setTimeout(resolve, 10));
  const sorted = latencies.slice(0, received).sort();
  const result: GeneratorResult = {
    connectMs,
    sent,
    received,
    throughput: received / ((lastReceiveAt - firstSendAt) / 1000),
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.length === 0 ? Number.NaN : sorted[sorted.length - 1]!,
    errors,
    firstError,
  };
  process.send?.({ type: 'result', result });
  for (const peer of peers) peer?.ws.terminate();
  setTimeout(() => process.exit(0), 100).unref();
}

main().catch((error: unknown) => fail(error instanceof Error ? error.message : String(error)));
