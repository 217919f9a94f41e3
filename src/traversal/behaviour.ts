/**
 * The short behaviour probe a peer runs while it gathers: detect's own RFC 5780 engine (mapping,
 * filtering and port allocation, src/nat/detect.ts) against the session's STUN server, boiled
 * down to the NatBehaviour that the peers exchange. Its sockets are its own and closed when it
 * ends; a failure gives `undefined`, never an error, since ICE goes on without a plan.
 */
import { detectNat } from '../nat/detect.js';
import type { DetectResult } from '../nat/detect.js';
import type { Clock } from '../transport/clock.js';
import type { TransportAddress } from '../ice/candidate.js';
import type { ExtraStrategy, NatBehaviour } from './types.js';

export interface BehaviourProbeOptions {
  /** The session's STUN server (an RFC 5780 one gives filtering too). */
  readonly server: TransportAddress;
  /** The address the ICE sockets are bound to, so the probe leaves through the same NAT. */
  readonly bindAddress: string;
  readonly strategies: readonly ExtraStrategy[];
  /** Bound on the probe. Default 1,500 ms. */
  readonly timeoutMs?: number;
  readonly clock?: Clock;
  readonly signal?: AbortSignal;
}

export const BEHAVIOUR_PROBE_TIMEOUT_MS = 1_500;

export async function probeBehaviour(options: BehaviourProbeOptions): Promise<{ behaviour: NatBehaviour; detect: DetectResult } | undefined> {
  const family = options.server.address.includes(':') ? 6 : 4;
  try {
    const detect = await detectNat({
      servers: [{ label: 'session STUN server', address: { family, address: options.server.address, port: options.server.port } }],
      bindAddress: options.bindAddress,
      timeoutMs: options.timeoutMs ?? BEHAVIOUR_PROBE_TIMEOUT_MS,
      // Four mapping sockets give three deltas: enough to tell sequential from random allocation.
      mappingSockets: 4,
      // A plan is worth less than a quick one: three sends per probe (two losses in a row
      // tolerated) decide a silent test after ~7 RTOs instead of ~15.
      attempts: 3,
      ...(options.clock !== undefined ? { clock: options.clock } : {}),
      ...(options.signal !== undefined ? { signal: options.signal } : {}),
    });
    return { behaviour: behaviourOf(detect, options.strategies), detect };
  } catch {
    return undefined;
  }
}

/** The exchanged summary of a detect result. Pure. */
export function behaviourOf(detect: Pick<DetectResult, 'verdict'>, strategies: readonly ExtraStrategy[]): NatBehaviour {
  const verdict = detect.verdict;
  const allocation = verdict.portAllocation;
  const samples = allocation.samples;
  const last = samples.length > 0 ? samples[samples.length - 1] : undefined;
  const publicAddress = verdict.publicAddresses[0]; // IPs only (classify lists mapped addresses)
  return {
    mapping: verdict.mapping,
    filtering: verdict.filtering,
    allocation: allocation.kind,
    ...(allocation.kind === 'sequential' ? { delta: allocation.delta } : {}),
    ...(last !== undefined ? { lastMappedPort: last } : {}),
    ...(publicAddress !== undefined && publicAddress !== '' ? { publicAddress } : {}),
    strategies: [...strategies],
  };
}
