import type { PortAllocation, ProbeObservation } from './types.js';

/** Largest step between consecutive new mappings still called "sequential". */
const MAX_SEQUENTIAL_DELTA = 16;

/**
 * How the NAT picks external ports (RFC 4787 §4.2.1 port preservation; sequential allocation
 * makes the next port predictable, which matters for hole punching against symmetric NATs).
 * Pure: it looks only at answered probes, in the order they were sent.
 */
export function analysePortAllocation(observations: readonly ProbeObservation[]): PortAllocation {
  const answered = observations
    .filter((o) => o.outcome.kind === 'answered' && o.section !== 'hairpin')
    .sort((a, b) => a.seq - b.seq);
  const seen = new Set<string>();
  const samples: number[] = [];
  let preserved = answered.length > 0;
  for (const observation of answered) {
    if (observation.outcome.kind !== 'answered') continue;
    const mapped = observation.outcome.mapped;
    if (mapped.port !== observation.local.port) preserved = false;
    const key = `${mapped.address}:${mapped.port}`;
    if (!seen.has(key)) {
      seen.add(key);
      samples.push(mapped.port);
    }
  }
  if (answered.length === 0) return { kind: 'unknown', samples };
  if (preserved) return { kind: 'preserved', samples };
  if (samples.length < 3) return { kind: 'unknown', samples };
  const deltas = samples.slice(1).map((port, i) => port - samples[i]!);
  const delta = deltas[0]!;
  if (delta !== 0 && Math.abs(delta) <= MAX_SEQUENTIAL_DELTA && deltas.every((d) => d === delta)) {
    return { kind: 'sequential', delta, predictedNext: samples[samples.length - 1]! + delta, samples };
  }
  return { kind: 'random', samples };
}
