/**
 * The project's STUN load generator: drives Binding requests at a UDP STUN server as fast as the
 * server answers, from one process, and prints one JSON line (LoadGeneratorResult) on stdout.
 *
 *   node --import tsx bench/stun-load-generator.ts '{"target":{"address":"127.0.0.1","port":3478}}'
 *
 * Built for throughput, so that the generator is not what a benchmark measures:
 * - several UDP sockets, each `connect()`ed to the target, so a send names no address (no
 *   per-datagram address lookup in node:dgram) and the kernel filters foreign datagrams;
 * - a fixed window of requests in flight per socket ("slots"): each answer frees its slot, which
 *   issues its next request at once (closed loop, no pacing timers). Issued requests are handed
 *   to the kernel together at the end of the event-loop turn, so they reach the server in bursts
 *   (fewer wake-ups on both sides), as the server's UdpEndpoint.sendDetached does with answers;
 * - each slot owns one precomputed request buffer. Only the transaction ID changes between
 *   requests: it carries (run nonce, socket, slot, sequence), so an answer is matched by reading
 *   three integers, with no map, promise or timer per request (RFC 8489 §6: the response echoes
 *   the request's transaction ID);
 * - one sweep timer for the whole process counts a slot lost when its request is unanswered
 *   after `lossTimeoutMs`, and re-issues it with a new sequence number (a late answer to the old
 *   one is then "stale", not counted);
 * - latency is sampled (every Nth request per slot), into a preallocated array, and each sampled
 *   answer is also checked: its XOR-MAPPED-ADDRESS must name the socket it was sent from, so a
 *   server cannot look fast by answering garbage.
 *
 * Why node:dgram and not src/transport's UdpEndpoint: DESIGN.md keeps node:dgram inside
 * transport/ for product code; this is bench code, and it needs what UdpEndpoint does not offer:
 * connected sockets, whose sends skip the per-datagram address parsing in node:dgram and the
 * route lookup in the kernel. Measured on the 2-core VM against the same server, this generator
 * costs 8.8–9.4 µs of CPU per request; the same loop on UdpEndpoint.sendDetached costs 9.5–10.3
 * µs and saturates its core below 100,000 requests/s, so it, not the server, would set the figure.
 *
 * Bounded: it stops sending after `durationMs` (or `maxRequests`), waits `drainMs` for the last
 * answers, and exits; a hard deadline exits it whatever happens.
 */
import { spawn } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { crc32 } from 'node:zlib';

export interface LoadGeneratorConfig {
  /** The server to load. */
  target: { address: string; port: number };
  /** Local address of the generator's sockets. Default '127.0.0.1'. */
  bindAddress?: string;
  /** UDP sockets (source ports). Default 8. */
  sockets?: number;
  /** Requests in flight per socket. Default 16. */
  windowPerSocket?: number;
  /** Measured load time, after the warm-up. Default 3000 ms. */
  durationMs?: number;
  /** Unmeasured load before it (JIT warm-up on both sides). Default 500 ms. */
  warmupMs?: number;
  /** Stop early after this many measured requests. Default 50 000 000 (effectively time-bound). */
  maxRequests?: number;
  /** Add FINGERPRINT (RFC 8489 §14.7) to each request; costs one CRC-32 per request. Default false. */
  fingerprint?: boolean;
  /** A request unanswered this long counts as lost and its slot sends a new one. Default 250 ms. */
  lossTimeoutMs?: number;
  /** Sample the latency of one request in this many, per slot. Default 16. */
  latencySampleEvery?: number;
  /** After the load, wait this long for answers still in flight. Default 100 ms. */
  drainMs?: number;
  /** Socket receive buffer, bytes (SO_RCVBUF); undefined keeps the kernel default. */
  receiveBufferBytes?: number;
}

export interface LoadGeneratorResult {
  /** Requests sent while measuring. */
  sent: number;
  /** Success responses matched to a request, from the start of the measured time to the end of the drain. */
  answered: number;
  /** Every matched answer, warm-up included (to divide a server's CPU time by). */
  answeredTotal: number;
  /** Sampled answers whose XOR-MAPPED-ADDRESS named the sending socket (RFC 8489 §14.2). */
  validated: number;
  /** Sampled answers without it, or naming another address. */
  invalid: number;
  /** Requests unanswered after lossTimeoutMs. */
  lost: number;
  /** Answers to requests already counted lost, or not matching any slot. */
  stale: number;
  /** Error responses (class 0x0110) to our requests. */
  errors: number;
  /** Datagrams that are not a Binding response of this run. */
  foreign: number;
  /** Send errors reported by the sockets. */
  sendErrors: number;
  /** Measured time, ms. */
  durationMs: number;
  /** Answers per second over the measured time. */
  rate: number;
  /** Sampled round-trip latency, ms (nearest rank). */
  latencyMs: { samples: number; p50: number; p90: number; p99: number; max: number };
  /** This process's CPU (user + system) during the measured time, as a share of one core. */
  cpuShare: number;
  sockets: number;
  windowPerSocket: number;
  fingerprint: boolean;
}

// ---- wire constants (RFC 8489 §5, §6, §14.7) -----------------------------------------------------
const HEADER_BYTES = 20;
const BINDING_REQUEST = 0x0001;
const BINDING_SUCCESS = 0x0101;
const BINDING_ERROR = 0x0111;
const MAGIC_COOKIE = 0x2112a442;
const FINGERPRINT_TYPE = 0x8028;
const FINGERPRINT_XOR = 0x5354554e;
/** Transaction ID layout (bytes 8..19 of the header): nonce u32 | socket u16 | slot u16 | sequence u32. */
const NONCE_OFFSET = 8;
const SOCKET_OFFSET = 12;
const SLOT_OFFSET = 14;
const SEQUENCE_OFFSET = 16;
const MAX_LATENCY_SAMPLES = 200_000;
const XOR_MAPPED_ADDRESS = 0x0020;

/**
 * True when `answer` carries an IPv4 XOR-MAPPED-ADDRESS equal to ip:port (RFC 8489 §14.2: port
 * XOR the cookie's top half, address XOR the cookie).
 */
function mapsTo(answer: Buffer, ip: number, port: number): boolean {
  let offset = HEADER_BYTES;
  while (offset + 4 <= answer.length) {
    const type = answer.readUInt16BE(offset);
    const length = answer.readUInt16BE(offset + 2);
    if (type === XOR_MAPPED_ADDRESS && length === 8 && offset + 12 <= answer.length) {
      return (
        answer[offset + 5] === 0x01 &&
        (answer.readUInt16BE(offset + 6) ^ (MAGIC_COOKIE >>> 16)) === port &&
        ((answer.readUInt32BE(offset + 8) ^ MAGIC_COOKIE) >>> 0) === ip
      );
    }
    offset += 4 + ((length + 3) & ~3);
  }
  return false;
}

function ipv4ToNumber(address: string): number {
  return address.split('.').reduce((value, part) => ((value << 8) | Number(part)) >>> 0, 0);
}

function buildRequest(nonce: number, socketIndex: number, slot: number, fingerprint: boolean): Buffer {
  const request = Buffer.alloc(HEADER_BYTES + (fingerprint ? 8 : 0));
  request.writeUInt16BE(BINDING_REQUEST, 0);
  request.writeUInt16BE(fingerprint ? 8 : 0, 2);
  request.writeUInt32BE(MAGIC_COOKIE, 4);
  request.writeUInt32BE(nonce, NONCE_OFFSET);
  request.writeUInt16BE(socketIndex, SOCKET_OFFSET);
  request.writeUInt16BE(slot, SLOT_OFFSET);
  if (fingerprint) {
    request.writeUInt16BE(FINGERPRINT_TYPE, HEADER_BYTES);
    request.writeUInt16BE(4, HEADER_BYTES + 2);
  }
  return request;
}

/** Stamps a new sequence number into `request`, and recomputes FINGERPRINT when it has one. */
function stamp(request: Buffer, sequence: number, fingerprint: boolean): void {
  request.writeUInt32BE(sequence, SEQUENCE_OFFSET);
  if (fingerprint) request.writeUInt32BE((crc32(request.subarray(0, HEADER_BYTES + 4)) ^ FINGERPRINT_XOR) >>> 0, HEADER_BYTES + 4);
}

function nearestRank(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export async function runLoadGenerator(config: LoadGeneratorConfig): Promise<LoadGeneratorResult> {
  const socketCount = config.sockets ?? 8;
  const window = config.windowPerSocket ?? 16;
  const durationMs = config.durationMs ?? 3000;
  const warmupMs = config.warmupMs ?? 500;
  const maxRequests = config.maxRequests ?? 50_000_000;
  const fingerprint = config.fingerprint ?? false;
  const lossTimeoutMs = config.lossTimeoutMs ?? 250;
  const sampleEvery = config.latencySampleEvery ?? 16;
  const drainMs = config.drainMs ?? 100;
  const bindAddress = config.bindAddress ?? '127.0.0.1';
  const { address, port } = config.target;
  const nonce = randomBytes(4).readUInt32BE(0);
  const slotCount = socketCount * window;

  // Per-slot state in flat typed arrays, indexed socket * window + slot.
  const requests: Buffer[] = [];
  const sequence = new Uint32Array(slotCount);
  const inFlight = new Uint8Array(slotCount);
  const sentTick = new Uint32Array(slotCount);
  const sentAt = new Float64Array(slotCount);
  const latencies = new Float64Array(MAX_LATENCY_SAMPLES);
  let latencyCount = 0;

  let measuring = false;
  let sending = true;
  let tick = 0;
  let sent = 0;
  let answered = 0;
  let lost = 0;
  let stale = 0;
  let errors = 0;
  let foreign = 0;
  let sendErrors = 0;
  let validated = 0;
  let invalid = 0;
  let answeredTotal = 0;
  const localPorts: number[] = [];
  const localIp = ipv4ToNumber(bindAddress);
  const checkMapping = !address.includes(':');

  const sockets: Socket[] = [];
  // Requests are stamped at once (the latency clock starts here) and handed to the kernel
  // together at the end of the event-loop turn: setImmediate runs after the poll phase.
  const outbox = new Uint32Array(slotCount);
  let queued = 0;
  let flushScheduled = false;
  const flush = (): void => {
    flushScheduled = false;
    for (let i = 0; i < queued; i++) {
      const index = outbox[i]!;
      sockets[(index / window) | 0]!.send(requests[index]!);
    }
    queued = 0;
  };
  const send = (index: number): void => {
    if (!sending) return;
    const seq = (sequence[index]! + 1) >>> 0;
    sequence[index] = seq;
    const request = requests[index]!;
    stamp(request, seq, fingerprint);
    inFlight[index] = 1;
    sentTick[index] = tick;
    sentAt[index] = seq % sampleEvery === 0 ? performance.now() : 0;
    if (measuring) {
      sent++;
      if (sent >= maxRequests) sending = false;
    }
    outbox[queued++] = index;
    if (!flushScheduled) {
      flushScheduled = true;
      setImmediate(flush);
    }
  };

  const receive = (socketIndex: number, data: Buffer): void => {
    if (data.length < HEADER_BYTES || data.readUInt32BE(NONCE_OFFSET) !== nonce || data.readUInt16BE(SOCKET_OFFSET) !== socketIndex) {
      foreign++;
      return;
    }
    const type = data.readUInt16BE(0);
    const slot = data.readUInt16BE(SLOT_OFFSET);
    if ((type !== BINDING_SUCCESS && type !== BINDING_ERROR) || slot >= window) {
      foreign++;
      return;
    }
    const index = socketIndex * window + slot;
    if (inFlight[index] === 0 || data.readUInt32BE(SEQUENCE_OFFSET) !== sequence[index]) {
      stale++;
      return;
    }
    inFlight[index] = 0;
    answeredTotal++;
    if (measuring) {
      if (type === BINDING_SUCCESS) answered++;
      else errors++;
      const at = sentAt[index]!;
      if (at !== 0) {
        if (latencyCount < MAX_LATENCY_SAMPLES) latencies[latencyCount++] = performance.now() - at;
        if (checkMapping && type === BINDING_SUCCESS) {
          if (mapsTo(data, localIp, localPorts[socketIndex]!)) validated++;
          else invalid++;
        }
      }
    }
    send(index);
  };

  for (let s = 0; s < socketCount; s++) {
    const socket = createSocket({ type: address.includes(':') ? 'udp6' : 'udp4' });
    socket.on('error', () => sendErrors++);
    socket.on('message', (data: Buffer) => receive(s, data));
    await new Promise<void>((resolve) => socket.bind(0, bindAddress, resolve));
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.connect(port, address, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    if (config.receiveBufferBytes !== undefined) socket.setRecvBufferSize(config.receiveBufferBytes);
    sockets.push(socket);
    localPorts.push(socket.address().port);
    for (let slot = 0; slot < window; slot++) requests.push(buildRequest(nonce, s, slot, fingerprint));
  }

  // One timer for the whole run: a slot unanswered for two ticks (lossTimeoutMs..1.5×) is lost.
  const tickMs = Math.max(1, Math.floor(lossTimeoutMs / 2));
  const sweeper = setInterval(() => {
    tick++;
    for (let index = 0; index < slotCount; index++) {
      if (inFlight[index] === 1 && tick - sentTick[index]! >= 2) {
        inFlight[index] = 0;
        if (measuring) lost++;
        send(index);
      }
    }
  }, tickMs);

  for (let index = 0; index < slotCount; index++) send(index);
  await new Promise((resolve) => setTimeout(resolve, warmupMs));
  measuring = true;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  await new Promise<void>((resolve) => {
    const poll = setInterval(() => {
      if (!sending || performance.now() - started >= durationMs) {
        clearInterval(poll);
        resolve();
      }
    }, 10);
  });
  sending = false;
  const measuredMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  const answeredInWindow = answered;
  await new Promise((resolve) => setTimeout(resolve, drainMs));
  clearInterval(sweeper);
  await Promise.all(sockets.map((socket) => new Promise<void>((resolve) => socket.close(() => resolve()))));

  const sorted = latencies.slice(0, latencyCount).sort();
  return {
    sent,
    answered,
    answeredTotal,
    validated,
    invalid,
    lost,
    stale,
    errors,
    foreign,
    sendErrors,
    durationMs: measuredMs,
    rate: (answeredInWindow * 1000) / measuredMs,
    latencyMs: {
      samples: latencyCount,
      p50: nearestRank(sorted, 50),
      p90: nearestRank(sorted, 90),
      p99: nearestRank(sorted, 99),
      max: nearestRank(sorted, 100),
    },
    cpuShare: (cpu.user + cpu.system) / 1000 / measuredMs,
    sockets: socketCount,
    windowPerSocket: window,
    fingerprint,
  };
}

/**
 * Runs the generator as its own process (`node --import tsx`, so it shares no event loop or core
 * with the caller) and resolves to its result. Rejects if it fails or outlives its bound.
 */
export function runLoadGeneratorProcess(config: LoadGeneratorConfig): Promise<LoadGeneratorResult> {
  const boundMs = (config.warmupMs ?? 500) + (config.durationMs ?? 3000) + (config.drainMs ?? 100) + 15_000;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), JSON.stringify(config)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), boundMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      const line = stdout.trim().split('\n').at(-1) ?? '';
      if (code === 0 && line.startsWith('{')) resolve(JSON.parse(line) as LoadGeneratorResult);
      else reject(new Error(`the load generator exited with ${signal ?? `code ${code}`}: ${stderr.trim() || stdout.trim() || 'no output'}`));
    });
  });
}

// ---- process entry ---------------------------------------------------------------------------------
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const config = JSON.parse(process.argv[2] ?? '{}') as LoadGeneratorConfig;
  const hardDeadlineMs = (config.warmupMs ?? 500) + (config.durationMs ?? 3000) + (config.drainMs ?? 100) + 10_000;
  setTimeout(() => {
    process.stderr.write('stun-load-generator: hard deadline passed; exiting\n');
    process.exit(3);
  }, hardDeadlineMs).unref();
  try {
    if (config.target === undefined) throw new Error('config.target {address, port} is required');
    const result = await runLoadGenerator(config);
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } catch (error) {
    process.stderr.write(`stun-load-generator: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 2;
  }
}
