/**
 * A tiny readiness probe that `startLabServers` runs *inside* the public namespace (the host
 * namespace has no route to the lab, by design). It loads only the codec and the transport — not
 * the CLI — so it starts in tens of milliseconds, in parallel with the servers it waits for.
 *
 *   node dist/lab/ready-probe.js [--wait-stdin] BOUND_MS KIND:HOST:PORT…   KIND = binding | allocate
 *
 * Each target gets one request, retransmitted every 20 ms (RFC 8489 §6.2.1 lets a client pick a
 * smaller RTO on a network it knows; this one is a bridge inside one kernel) until it is answered
 * or BOUND_MS passes. A server is ready when it answers at all: for an unauthenticated Allocate
 * that is a 401 challenge (RFC 8656 §7.2, long-term credentials). Prints one JSON line
 * `{"answers":[{"target","class","errorCode"}|null…]}` and exits 0 when every target answered, 1
 * otherwise.
 */
import { fileURLToPath } from 'node:url';
import { attr, getAttribute, newTransactionId, StunMethod, type StunMessage } from '../stun/index.js';
import { StunTransactions, UdpEndpoint } from '../transport/index.js';

/** RFC 8656 §18.7: REQUESTED-TRANSPORT carries the IANA protocol number; 17 is UDP. */
const PROTOCOL_UDP = 17;
const RETRANSMIT_MS = 20;

export interface ProbeTarget {
  kind: 'binding' | 'allocate';
  host: string;
  port: number;
}

export function parseProbeTarget(text: string): ProbeTarget {
  const match = /^(binding|allocate):(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(text);
  if (!match) throw new Error(`bad probe target ${JSON.stringify(text)}; expected binding|allocate:IPv4:PORT`);
  return { kind: match[1] as ProbeTarget['kind'], host: match[2]!, port: Number(match[3]) };
}

function request(target: ProbeTarget): StunMessage {
  if (target.kind === 'binding') return { class: 'request', method: StunMethod.binding, transactionId: newTransactionId(), attributes: [] };
  return { class: 'request', method: StunMethod.allocate, transactionId: newTransactionId(), attributes: [attr('REQUESTED-TRANSPORT', PROTOCOL_UDP)] };
}

export interface ProbeAnswer {
  target: string;
  class: string;
  errorCode: number | undefined;
}

export async function probe(targets: readonly ProbeTarget[], boundMs: number): Promise<(ProbeAnswer | null)[]> {
  const endpoint = await UdpEndpoint.bind({ address: '0.0.0.0' });
  const transactions = new StunTransactions(endpoint);
  try {
    return await Promise.all(
      targets.map(async (target) => {
        try {
          const { response } = await transactions.request(request(target), { address: target.host, port: target.port }, {
            rtoMs: RETRANSMIT_MS,
            maxAttempts: Math.max(1, Math.ceil(boundMs / RETRANSMIT_MS)),
            finalWaitMultiplier: 1,
            deadlineMs: boundMs,
          });
          return { target: `${target.kind}:${target.host}:${target.port}`, class: response.class, errorCode: getAttribute(response, 'ERROR-CODE')?.code };
        } catch {
          return null;
        }
      }),
    );
  } finally {
    transactions.close();
    await endpoint.close();
  }
}

/** Resolves at the first line on stdin, or when stdin ends. */
function stdinGo(): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      process.stdin.off('data', onData);
      process.stdin.pause();
      resolve();
    };
    const onData = (chunk: Buffer): void => {
      if (chunk.includes(0x0a)) done();
    };
    process.stdin.on('data', onData);
    process.stdin.once('end', done);
  });
}

async function mainEntry(argv: readonly string[]): Promise<void> {
  // --wait-stdin: start now (node start-up overlaps the lab's bring-up), probe on the "go" line.
  const wait = argv[0] === '--wait-stdin';
  const args = wait ? argv.slice(1) : argv;
  const boundMs = Number(args[0]);
  if (!Number.isInteger(boundMs) || boundMs <= 0) throw new Error('usage: ready-probe [--wait-stdin] BOUND_MS KIND:HOST:PORT…');
  const targets = args.slice(1).map(parseProbeTarget);
  if (wait) await stdinGo();
  const answers = await probe(targets, boundMs);
  process.stdout.write(`${JSON.stringify({ answers })}\n`);
  process.exitCode = answers.every((answer) => answer !== null) ? 0 : 1;
}

// Run only as a script (`node ready-probe.js …`), never on import.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  mainEntry(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`ready-probe: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 2;
  });
}
