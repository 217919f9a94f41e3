/**
 * ICE candidates (RFC 8445 §5.1): the type, its priority and its foundation. Pure functions,
 * no I/O: gathering lives in the agent, which builds Candidate values with these helpers.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { formatTransportAddress as formatAddressText } from '../stun/index.js';
import { InvalidCandidateError } from './errors.js';

/** RFC 8445 §5.1.1: host, server-reflexive, peer-reflexive, relayed. */
export type CandidateType = 'host' | 'srflx' | 'prflx' | 'relay';
export type AddressFamily = 4 | 6;

export interface TransportAddress {
  readonly address: string;
  readonly port: number;
}

/** An SDP `cand-extension` name/value pair (RFC 8839 §5.1), kept in order so formatting round-trips. */
export interface CandidateExtension {
  readonly name: string;
  readonly value: string;
}

export interface Candidate {
  /** 1–32 `ice-char`s (RFC 8839 §5.1); equal for candidates that share type, base IP, server and transport (§5.1.1.3). */
  readonly foundation: string;
  /** 1 for RTP (or the only component); RFC 8445 allows 1–256. */
  readonly component: number;
  /** nat-probe checks UDP only; TCP candidates (RFC 6544) are rejected when parsed. */
  readonly transport: 'udp';
  /** 32-bit unsigned priority (RFC 8445 §5.1.2.1), 1..2^31-1 on the wire (RFC 8839 §5.1). */
  readonly priority: number;
  readonly address: string;
  readonly port: number;
  readonly type: CandidateType;
  /**
   * `raddr`/`rport`. For srflx and prflx candidates this is the base (RFC 8839 §5.1: "the base
   * for a reflexive candidate"), which pair formation needs (§6.1.2.4). For relay candidates it is
   * the mapped address the TURN server saw; a relay candidate is its own base.
   */
  readonly relatedAddress?: string;
  readonly relatedPort?: number;
  readonly family: AddressFamily;
  /** The `generation` extension some stacks send (not in RFC 8839); informational. */
  readonly generation?: number;
  /** Other `cand-extension`s from SDP, in order (generation included when it came from SDP). */
  readonly extensions?: readonly CandidateExtension[];
}

/** Type preferences RFC 8445 §5.1.2.2 recommends. */
export const TYPE_PREFERENCE: Readonly<Record<CandidateType, number>> = {
  host: 126,
  prflx: 110,
  srflx: 100,
  relay: 0,
};

/** RFC 8445 §5.1.2.1: local preference is 0..65535; a single-homed agent SHOULD use 65535. */
export const MAX_LOCAL_PREFERENCE = 65_535;

/** RFC 8445 §5.1.2.1: priority = 2^24·type-pref + 2^8·local-pref + (256 − component ID). */
export function computePriority(type: CandidateType, localPreference: number, component = 1): number {
  if (!Number.isInteger(localPreference) || localPreference < 0 || localPreference > MAX_LOCAL_PREFERENCE) {
    throw new InvalidCandidateError(`Local preference ${localPreference} is outside 0..65535 (RFC 8445 §5.1.2.1); pass an integer in range.`);
  }
  assertComponent(component);
  return 2 ** 24 * TYPE_PREFERENCE[type] + 2 ** 8 * localPreference + (256 - component);
}

/** The local-preference field of a priority; used to give a peer-reflexive candidate the same one (§7.1.1). */
export function localPreferenceOf(priority: number): number {
  return Math.floor(priority / 2 ** 8) % 2 ** 16;
}

/** The type-preference field of a priority. */
export function typePreferenceOf(priority: number): number {
  return Math.floor(priority / 2 ** 24) % 2 ** 8;
}

/**
 * The PRIORITY attribute a connectivity check carries (RFC 8445 §7.1.1): the priority the local
 * candidate would have as peer-reflexive, keeping its local preference and component.
 */
export function prflxPriorityFor(local: Pick<Candidate, 'priority' | 'component'>): number {
  return computePriority('prflx', localPreferenceOf(local.priority), local.component);
}

export function assertComponent(component: number): void {
  if (!Number.isInteger(component) || component < 1 || component > 256) {
    throw new InvalidCandidateError(`Component ID ${component} is outside 1..256 (RFC 8445 §5.1.2.1); use 1 for a single-component stream.`);
  }
}

/** 4 or 6 for an IP literal, undefined for anything else (an FQDN or mDNS name). */
export function familyOf(address: string): AddressFamily | undefined {
  if (isIPv4(address)) return 4;
  if (isIPv6(address)) return 6;
  return undefined;
}

/** `1.2.3.4:5` or `[::1]:5`: one spelling per transport address, for map keys and pair ids. */
/** The codec's "ip:port" form, with IPv6 lower-cased so pair IDs compare equal. */
export function formatTransportAddress(address: TransportAddress): string {
  return formatAddressText({ address: address.address.toLowerCase(), port: address.port });
}

export function sameTransportAddress(a: TransportAddress, b: TransportAddress): boolean {
  return a.port === b.port && a.address.toLowerCase() === b.address.toLowerCase();
}

/**
 * The base of a local candidate (RFC 8445 §5.1.1.1): the address checks are sent from. Host and
 * relayed candidates are their own base; a reflexive candidate's base is its related address.
 */
export function baseOf(candidate: Candidate): TransportAddress {
  if (candidate.type === 'host' || candidate.type === 'relay') {
    return { address: candidate.address, port: candidate.port };
  }
  if (candidate.relatedAddress === undefined || candidate.relatedPort === undefined) {
    throw new InvalidCandidateError(
      `The ${candidate.type} candidate ${formatTransportAddress(candidate)} has no related address; a local reflexive candidate must carry its base in relatedAddress/relatedPort.`,
    );
  }
  return { address: candidate.relatedAddress, port: candidate.relatedPort };
}

/** What makes two candidates share a foundation (RFC 8445 §5.1.1.3). */
export interface FoundationInputs {
  readonly type: CandidateType;
  /** IP address of the base; the port does not matter. */
  readonly baseAddress: string;
  /** IP address of the STUN/TURN server a reflexive or relayed candidate came from. */
  readonly serverAddress?: string;
  /**
   * The transport protocol: the candidate's (always UDP here), or for a relayed candidate the one
   * used to reach the TURN server, since §5.1.1.3 gives relayed candidates obtained over UDP and
   * over TCP different foundations. Default 'udp'.
   */
  readonly transport?: 'udp' | 'tcp' | 'tls';
}

/** The equivalence key behind a foundation: equal keys ⇔ same foundation (§5.1.1.3). */
export function foundationKey(inputs: FoundationInputs): string {
  const server = inputs.type === 'srflx' || inputs.type === 'relay' ? (inputs.serverAddress ?? '').toLowerCase() : '';
  return [inputs.type, inputs.baseAddress.toLowerCase(), server, inputs.transport ?? 'udp'].join('|');
}

/**
 * Hands out foundations: the same inputs always get the same foundation, different inputs never
 * collide (unlike hashing). Foundations are short decimal strings, valid `ice-char`s.
 * One allocator per agent; foundations only need to be unique within one agent (§5.1.1.3).
 */
export class FoundationAllocator {
  private readonly byKey = new Map<string, string>();

  /** `prefix` (ice-chars only) keeps two allocators' foundations apart, e.g. "prflx" for learned candidates. */
  constructor(private readonly prefix = '') {
    if (!/^[A-Za-z0-9+/]{0,20}$/.test(prefix)) {
      throw new InvalidCandidateError(`Foundation prefix "${prefix}" must be at most 20 of A–Z a–z 0–9 + / (RFC 8839 §5.1 ice-char).`);
    }
  }

  foundationFor(inputs: FoundationInputs): string {
    const key = foundationKey(inputs);
    let foundation = this.byKey.get(key);
    if (foundation === undefined) {
      foundation = `${this.prefix}${this.byKey.size + 1}`;
      this.byKey.set(key, foundation);
    }
    return foundation;
  }
}

export interface LocalAddress {
  readonly address: string;
  /** 0 = the interface the agent prefers most (e.g. the default route's); ties keep input order. */
  readonly interfaceRank?: number;
}

export interface LocalPreferenceOptions {
  /** The family tried first in each round (RFC 8421 §4 recommends IPv6). Default 6. */
  readonly preferFamily?: AddressFamily;
}

/**
 * Local preferences for a multi-homed, dual-stack host (RFC 8445 §5.1.2.1, RFC 8421 §3–4).
 * Each address gets a unique preference (required when a component has several candidates of
 * one type, §5.1.2.1), ordered so checks alternate between address families and walk the
 * interfaces in rank order: v6 #0, v4 #0, v6 #1, v4 #1, … Interleaving is the point of RFC 8421:
 * a broken IPv6 path (or a dead interface) must not hold up every pair behind it.
 * Returns address → local preference (65535 for the first, then 65534, …).
 */
export function interleavedLocalPreferences(
  addresses: readonly LocalAddress[],
  options: LocalPreferenceOptions = {},
): Map<string, number> {
  const preferFamily = options.preferFamily ?? 6;
  const byRank = (a: LocalAddress, b: LocalAddress): number => (a.interfaceRank ?? 0) - (b.interfaceRank ?? 0);
  const first: LocalAddress[] = [];
  const second: LocalAddress[] = [];
  for (const entry of addresses) {
    const family = familyOf(entry.address);
    if (family === undefined) {
      throw new InvalidCandidateError(`"${entry.address}" is not an IP address; local preferences are computed for host addresses only.`);
    }
    (family === preferFamily ? first : second).push(entry);
  }
  first.sort(byRank);
  second.sort(byRank);
  const result = new Map<string, number>();
  let next = MAX_LOCAL_PREFERENCE;
  for (let i = 0; i < Math.max(first.length, second.length); i++) {
    for (const list of [first, second]) {
      const entry = list[i];
      if (entry !== undefined && !result.has(entry.address)) result.set(entry.address, next--);
    }
  }
  return result;
}
