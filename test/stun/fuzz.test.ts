import { describe, expect, it } from 'vitest';
import { attr, decodeMessage, encodeMessage, newTransactionId, StunDecodeError, shortTermKey } from '../../src/stun/index.js';

/**
 * At least 1,000,000 random and mutated datagrams per run. The only acceptable outcomes are
 * a decoded message or a StunDecodeError: never another exception, never undefined.
 * The seed is printed so a failure can be replayed with FUZZ_SEED.
 */
const TOTAL_INPUTS = 1_000_000;

function xorshift32(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x1_0000_0000;
  };
}

function seeds(): Uint8Array[] {
  const id = newTransactionId();
  const key = shortTermKey('pw');
  return [
    encodeMessage(
      {
        class: 'request',
        method: 1,
        transactionId: id,
        attributes: [attr('USERNAME', 'alice:bob'), attr('PRIORITY', 12345), attr('ICE-CONTROLLING', 7n), attr('USE-CANDIDATE', true)],
      },
      { integrityKey: key, fingerprint: true },
    ),
    encodeMessage({
      class: 'successResponse',
      method: 1,
      transactionId: id,
      attributes: [
        attr('XOR-MAPPED-ADDRESS', { family: 6, address: '2001:db8::7', port: 9 }),
        attr('OTHER-ADDRESS', { family: 4, address: '127.0.0.2', port: 3479 }),
        attr('RESPONSE-ORIGIN', { family: 4, address: '127.0.0.1', port: 3478 }),
        attr('ERROR-CODE', { code: 420, reason: 'Unknown' }),
        attr('UNKNOWN-ATTRIBUTES', [1, 2, 3]),
        attr('PASSWORD-ALGORITHMS', [{ algorithm: 1, parameters: new Uint8Array(0) }]),
      ],
    }),
    encodeMessage({
      class: 'request',
      method: 3,
      transactionId: id,
      attributes: [attr('REQUESTED-TRANSPORT', 17), attr('LIFETIME', 600), attr('EVEN-PORT', true), attr('DATA', new Uint8Array(5))],
    }),
  ];
}

function mutate(input: Uint8Array, random: () => number): Uint8Array {
  const out = Uint8Array.from(input);
  const choice = random();
  if (choice < 0.35) {
    const flips = 1 + Math.floor(random() * 4);
    for (let i = 0; i < flips; i++) out[Math.floor(random() * out.length)]! ^= 1 << Math.floor(random() * 8);
    return out;
  }
  if (choice < 0.5) return out.subarray(0, Math.floor(random() * out.length));
  if (choice < 0.7) {
    // Rewrite a 16-bit length: the header's or an attribute's, where parsers usually break.
    const at = random() < 0.5 ? 2 : 20 + 4 * Math.floor(random() * ((out.length - 20) / 4)) + 2;
    if (at + 1 < out.length) {
      const value = Math.floor(random() * 0x10000);
      out[at] = value >> 8;
      out[at + 1] = value & 0xff;
    }
    return out;
  }
  if (choice < 0.85) {
    const extra = new Uint8Array(4 * (1 + Math.floor(random() * 4)));
    for (let i = 0; i < extra.length; i++) extra[i] = Math.floor(random() * 256);
    const grown = new Uint8Array(out.length + extra.length);
    grown.set(out);
    grown.set(extra, out.length);
    new DataView(grown.buffer).setUint16(2, grown.length - 20);
    return grown;
  }
  const random_ = new Uint8Array(Math.floor(random() * 120));
  for (let i = 0; i < random_.length; i++) random_[i] = Math.floor(random() * 256);
  if (random_.length >= 20 && random() < 0.7) {
    random_[0]! &= 0x3f;
    new DataView(random_.buffer).setUint32(4, 0x2112a442);
    new DataView(random_.buffer).setUint16(2, (random_.length - 20) & ~3);
  }
  return random_;
}

describe('fuzzing the decoder', () => {
  it(`${TOTAL_INPUTS.toLocaleString('en-US')} random and mutated inputs only ever decode or throw StunDecodeError`, () => {
    const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 0x7fffffff);
    const random = xorshift32(seed);
    const corpus = seeds();
    let decoded = 0;
    let rejected = 0;
    for (let i = 0; i < TOTAL_INPUTS; i++) {
      const base = corpus[i % corpus.length]!;
      const input = mutate(base, random);
      try {
        const message = decodeMessage(input);
        if (message === undefined || message === null) throw new Error('decoder returned nothing');
        decoded++;
      } catch (error) {
        if (!(error instanceof StunDecodeError)) {
          throw new Error(`seed ${seed}, input ${i} (${Buffer.from(input).toString('hex')}) threw ${String(error)}`);
        }
        rejected++;
      }
    }
    console.log(`stun fuzz: ${decoded + rejected} inputs (seed ${seed}): ${decoded} decoded, ${rejected} rejected with StunDecodeError`);
    expect(decoded + rejected).toBe(TOTAL_INPUTS);
    expect(decoded).toBeGreaterThan(0);
    expect(rejected).toBeGreaterThan(0);
  });
});
