/**
 * Reference for bench/stun-server.bench.ts: the least work any Node.js STUN server does per
 * request, so the bench can show how close the built-in server comes to what node:dgram allows
 * on this machine. It reads each datagram from node:dgram, answers with a 32-byte Binding
 * success response (header + IPv4 XOR-MAPPED-ADDRESS, RFC 8489 §14.2) and sends it; no decoding,
 * no validation, no counters. Not a server anyone should run.
 *
 * Its sends are batched as UdpEndpoint.sendDetached batches them (queued, handed to the kernel
 * from one setImmediate per event-loop turn), so it stays an upper bound for the built-in server.
 *
 *   node --import tsx bench/minimal-stun-responder.ts   → prints {"port":N}, serves until SIGTERM
 *
 * It uses node:dgram directly (bench code, not product code: DESIGN.md keeps node:dgram in
 * transport/ for the product) and a lookup that answers IP literals at once, like UdpEndpoint.
 */
import { createSocket } from 'node:dgram';
import { isIP } from 'node:net';

const HEADER_BYTES = 20;
const MAGIC_COOKIE = 0x2112a442;
const BOUND_MS = 120_000;

const socket = createSocket({
  type: 'udp4',
  lookup: (hostname, _options, callback) => callback(null, hostname, isIP(hostname)),
});
socket.on('error', () => undefined);
socket.on('message', (request: Buffer, from) => {
  if (request.length < HEADER_BYTES) return;
  const response = Buffer.allocUnsafe(HEADER_BYTES + 12);
  response.writeUInt16BE(0x0101, 0); // Binding success response
  response.writeUInt16BE(12, 2);
  request.copy(response, 4, 4, HEADER_BYTES); // cookie and transaction ID
  response.writeUInt16BE(0x0020, 20); // XOR-MAPPED-ADDRESS
  response.writeUInt16BE(8, 22);
  response.writeUInt16BE(0x0001, 24);
  response.writeUInt16BE(from.port ^ (MAGIC_COOKIE >>> 16), 26);
  response.writeUInt32BE((ipv4(from.address) ^ MAGIC_COOKIE) >>> 0, 28);
  outboxResponses.push(response);
  outboxPorts.push(from.port);
  outboxAddresses.push(from.address);
  if (outboxResponses.length === 1) setImmediate(flush);
});

// Parallel arrays, each of one element type.
const outboxResponses: Buffer[] = [];
const outboxPorts: number[] = [];
const outboxAddresses: string[] = [];
function flush(): void {
  for (let i = 0; i < outboxResponses.length; i++) socket.send(outboxResponses[i]!, outboxPorts[i]!, outboxAddresses[i]!);
  outboxResponses.length = 0;
  outboxPorts.length = 0;
  outboxAddresses.length = 0;
}

/** Dotted quad to a 32-bit number; the kernel's own formatting, so no validation. */
function ipv4(address: string): number {
  let value = 0;
  let part = 0;
  for (let i = 0; i < address.length; i++) {
    const code = address.charCodeAt(i);
    if (code === 46) {
      value = (value << 8) | part;
      part = 0;
    } else {
      part = part * 10 + code - 48;
    }
  }
  return ((value << 8) | part) >>> 0;
}

socket.bind(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: socket.address().port })}\n`));
process.once('SIGTERM', () => socket.close(() => process.exit(0)));
// Bounded even if the bench dies without stopping it.
setTimeout(() => process.exit(0), BOUND_MS).unref();
