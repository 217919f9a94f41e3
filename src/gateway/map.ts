/**
 * One NAT-PMP UDP mapping for the length of a run (RFC 6886 §3.3), and its deletion (§3.4:
 * lifetime 0). Asked with a short lifetime, so that a mapping whose deletion fails (or whose
 * process dies) expires on its own soon after.
 */
import { SystemClock, UdpEndpoint, type Clock } from '../transport/index.js';
import { decodeExternalAddressResponse, decodeMapUdpResponse, encodeExternalAddressRequest, encodeMapUdpRequest, NAT_PMP_PORT, NAT_PMP_RESULT } from './natpmp.js';
import { decodeMapResponse, encodeMapRequest, IPPROTO_UDP, PCP_PORT, PCP_RESULT, PCP_VERSION } from './pcp.js';
import { exchange } from './probe.js';

export interface UdpMappingOptions {
  gateway: string;
  /** The local port to map (a socket bound to it must exist). */
  internalPort: number;
  /** Default 60 s: long enough for a test, short enough to vanish if never deleted. */
  lifetimeSeconds?: number;
  /** For tests against a loopback fake. Default 5351. */
  port?: number;
  rtoMs?: number;
  maxAttempts?: number;
  bindAddress?: string;
  clock?: Clock;
  /** Aborting gives up at once (reported as no answer). */
  signal?: AbortSignal;
}

export type UdpMappingResult =
  | { ok: true; externalPort: number; lifetimeSeconds: number; epochSeconds: number }
  | { ok: false; error: string; resultCode?: number };

async function request(options: UdpMappingOptions, external: number, lifetime: number): Promise<UdpMappingResult> {
  const endpoint = await UdpEndpoint.bind({ family: 4, address: options.bindAddress });
  try {
    const outcome = await exchange(
      endpoint,
      { address: options.gateway, port: options.port ?? NAT_PMP_PORT },
      encodeMapUdpRequest(options.internalPort, external, lifetime),
      decodeMapUdpResponse,
      { rtoMs: options.rtoMs ?? 250, maxAttempts: options.maxAttempts ?? 4 },
      options.clock ?? new SystemClock(),
      options.signal ?? new AbortController().signal,
    );
    if (outcome.kind === 'silent') return { ok: false, error: `no NAT-PMP answer to ${outcome.sent} mapping request(s)` };
    if (outcome.kind === 'malformed') return { ok: false, error: outcome.error };
    const r = outcome.value;
    if (r.resultCode !== 0) return { ok: false, resultCode: r.resultCode, error: `NAT-PMP refused: ${r.resultCode} ${NAT_PMP_RESULT[r.resultCode] ?? ''}`.trim() };
    return { ok: true, externalPort: r.externalPort, lifetimeSeconds: r.lifetimeSeconds, epochSeconds: r.epochSeconds };
  } finally {
    await endpoint.close();
  }
}

/**
 * Maps `internalPort` (UDP), suggesting `suggestedExternalPort` (default the same port; a renewal
 * suggests the port it already has, RFC 6886 §3.3).
 */
export function mapUdpPort(options: UdpMappingOptions & { suggestedExternalPort?: number }): Promise<UdpMappingResult> {
  return request(options, options.suggestedExternalPort ?? options.internalPort, options.lifetimeSeconds ?? 60);
}

export type ExternalAddressResult = { ok: true; address: string } | { ok: false; error: string; resultCode?: number };

/** The gateway's external address (RFC 6886 §3.2): where a mapping it grants is reachable. State-free. */
export async function natPmpExternalAddress(options: Omit<UdpMappingOptions, 'internalPort' | 'lifetimeSeconds'>): Promise<ExternalAddressResult> {
  const endpoint = await UdpEndpoint.bind({ family: 4, address: options.bindAddress });
  try {
    const outcome = await exchange(
      endpoint,
      { address: options.gateway, port: options.port ?? NAT_PMP_PORT },
      encodeExternalAddressRequest(),
      decodeExternalAddressResponse,
      { rtoMs: options.rtoMs ?? 250, maxAttempts: options.maxAttempts ?? 4 },
      options.clock ?? new SystemClock(),
      options.signal ?? new AbortController().signal,
    );
    if (outcome.kind === 'silent') return { ok: false, error: `no NAT-PMP answer to ${outcome.sent} external-address request(s)` };
    if (outcome.kind === 'malformed') return { ok: false, error: outcome.error };
    const r = outcome.value;
    if (r.resultCode !== 0 || r.externalAddress === '') return { ok: false, resultCode: r.resultCode, error: `NAT-PMP states no external address: ${r.resultCode} ${NAT_PMP_RESULT[r.resultCode] ?? ''}`.trim() };
    return { ok: true, address: r.externalAddress };
  } finally {
    await endpoint.close();
  }
}

/** Deletes the mapping of `internalPort` (RFC 6886 §3.4: external port 0, lifetime 0). */
export function unmapUdpPort(options: UdpMappingOptions): Promise<UdpMappingResult> {
  return request(options, 0, 0);
}

export type PcpMappingResult =
  | { ok: true; externalAddress: string; externalPort: number; lifetimeSeconds: number; epochSeconds: number }
  | { ok: false; error: string; resultCode?: number };

/**
 * PCP MAP for UDP (RFC 6887 §11): one exchange gives the mapping and the external address it is
 * on. `nonce` (96 bits) identifies the mapping: a renewal or the deletion (lifetime 0, §15) must
 * send the same one, and an answer that does not echo it is not ours (§11.4). `clientAddress`
 * is this host's address as the gateway sees it (the PCP header's client IP, §8.1).
 */
export async function pcpMapUdpPort(options: UdpMappingOptions & { clientAddress: string; nonce: Uint8Array; suggestedExternalPort?: number }): Promise<PcpMappingResult> {
  const lifetime = options.lifetimeSeconds ?? 60;
  const endpoint = await UdpEndpoint.bind({ family: 4, address: options.bindAddress });
  try {
    const outcome = await exchange(
      endpoint,
      { address: options.gateway, port: options.port ?? PCP_PORT },
      encodeMapRequest({ clientAddress: options.clientAddress, nonce: options.nonce, internalPort: options.internalPort, suggestedExternalPort: options.suggestedExternalPort ?? options.internalPort, lifetimeSeconds: lifetime }),
      decodeMapResponse,
      { rtoMs: options.rtoMs ?? 250, maxAttempts: options.maxAttempts ?? 4 },
      options.clock ?? new SystemClock(),
      options.signal ?? new AbortController().signal,
    );
    if (outcome.kind === 'silent') return { ok: false, error: `no PCP answer to ${outcome.sent} MAP request(s)` };
    if (outcome.kind === 'malformed') return { ok: false, error: outcome.error };
    const r = outcome.value;
    if (r.version !== PCP_VERSION) return { ok: false, resultCode: r.resultCode, error: `the gateway speaks PCP version ${r.version}, not ${PCP_VERSION}` };
    if (r.resultCode !== 0) return { ok: false, resultCode: r.resultCode, error: `PCP refused: ${r.resultCode} ${PCP_RESULT[r.resultCode] ?? ''}`.trim() };
    if (!r.nonce.every((byte, i) => byte === options.nonce[i]) || r.protocol !== IPPROTO_UDP || r.internalPort !== options.internalPort) {
      return { ok: false, error: 'the PCP MAP answer is for another mapping (nonce, protocol or internal port differ, RFC 6887 §11.4)' };
    }
    return { ok: true, externalAddress: r.externalAddress, externalPort: r.externalPort, lifetimeSeconds: r.lifetimeSeconds, epochSeconds: r.epochSeconds };
  } finally {
    await endpoint.close();
  }
}
