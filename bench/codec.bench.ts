/**
 * Codec throughput: encode + decode of a Binding success response (XOR-MAPPED-ADDRESS +
 * FINGERPRINT, fingerprint verified on decode), one core. Baseline: the `stun` npm package
 * doing the same work in the same run. Target: ≥ 1,000,000 messages/s and ≥ 10× the baseline.
 */
import { createRequire } from 'node:module';
import { attr, decodeMessage, encodeMessage, getAttribute, newTransactionId } from '../src/stun/index.js';
import type { BenchResult } from './harness.js';

const require = createRequire(import.meta.url);
// The `stun` package is CommonJS without types; only the calls used here are described.
const stun = require('stun') as {
  constants: Record<string, number>;
  createMessage(type: number, transactionId?: Buffer): { addAttribute(type: number, ...args: unknown[]): void; addFingerprint(): void };
  encode(message: unknown): Buffer;
  decode(buffer: Buffer): { getXorAddress(): { port: number } };
};

const DURATION_MS = 1500;

function measure(work: () => void): number {
  for (let i = 0; i < 20_000; i++) work(); // warm up the JIT
  let count = 0;
  const started = performance.now();
  while (performance.now() - started < DURATION_MS) {
    for (let i = 0; i < 1000; i++) work();
    count += 1000;
  }
  return count / ((performance.now() - started) / 1000);
}

export default async function codecBench(): Promise<BenchResult[]> {
  const transactionId = newTransactionId();
  const mapped = { family: 4 as const, address: '192.0.2.1', port: 32853 };
  let check = 0;
  const ours = measure(() => {
    const wire = encodeMessage({ class: 'successResponse', method: 1, transactionId, attributes: [attr('XOR-MAPPED-ADDRESS', mapped)] }, { fingerprint: true });
    check += getAttribute(decodeMessage(wire), 'XOR-MAPPED-ADDRESS')!.port;
  });
  const { STUN_BINDING_RESPONSE, STUN_ATTR_XOR_MAPPED_ADDRESS } = stun.constants as Record<string, number>;
  const tid = Buffer.from(transactionId);
  const baseline = measure(() => {
    const message = stun.createMessage(STUN_BINDING_RESPONSE!, tid);
    message.addAttribute(STUN_ATTR_XOR_MAPPED_ADDRESS!, mapped.address, mapped.port);
    message.addFingerprint();
    check += stun.decode(stun.encode(message)).getXorAddress().port;
  });
  if (check === 0) throw new Error('codec bench decoded nothing');
  return [
    {
      name: 'codec: encode+decode Binding success (XOR-MAPPED-ADDRESS + FINGERPRINT)',
      value: ours,
      unit: 'msg/s',
      baseline: { label: 'stun npm package', value: baseline },
      target: { op: '>=', value: 1_000_000 },
      notes: `speed-up over baseline: ${(ours / baseline).toFixed(1)}× (target ≥ 10×)`,
    },
    {
      name: 'codec: speed-up over the stun npm package',
      value: ours / baseline,
      unit: '×',
      target: { op: '>=', value: 10 },
    },
  ];
}
