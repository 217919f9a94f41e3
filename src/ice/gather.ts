/**
 * Candidate gathering (RFC 8445 §5.1.1): host candidates from this machine's interfaces, one UDP
 * socket each, and server-reflexive candidates from a STUN Binding request sent from each of those
 * sockets (§5.1.1.2). Relayed candidates come from the TURN client, handed to the agent with
 * their own send path (see CandidateTransport); relayedCandidate() builds their Candidate.
 */
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import { attr, getAttribute, newTransactionId, StunMethod, type TransportAddress as StunTransportAddress } from '../stun/index.js';
import { RttEstimator, StunTransactions, UdpEndpoint, type Clock } from '../transport/index.js';
import {
  computePriority,
  familyOf,
  formatTransportAddress,
  interleavedLocalPreferences,
  localPreferenceOf,
  MAX_LOCAL_PREFERENCE,
  sameTransportAddress,
  type AddressFamily,
  type Candidate,
  type FoundationAllocator,
  type TransportAddress,
} from './candidate.js';
import { IceOptionError } from './errors.js';

/**
 * A local candidate's send path. A UdpEndpoint is one; a TURN allocation supplies another for its
 * relayed candidate (sends become Send indications or ChannelData, received Data indications
 * become datagrams from the peer). `local` is the candidate's base (RFC 8445 §5.1.1.1).
 */
export interface CandidateTransport {
  readonly local: TransportAddress;
  send(data: Uint8Array, to: TransportAddress): Promise<void>;
  onDatagram(listener: (datagram: { data: Uint8Array; from: TransportAddress }) => void): () => void;
}

export interface HostAddressOptions {
  /** Use only this address (a specific IP; a wildcard means "every interface"). */
  readonly bindAddress?: string;
  /** Only IPv4 or only IPv6. Default both. */
  readonly family?: AddressFamily;
  /** The interface table; default os.networkInterfaces(). Injected by tests. */
  readonly interfaces?: NodeJS.Dict<NetworkInterfaceInfo[]>;
}

export interface HostAddress {
  readonly address: string;
  readonly family: AddressFamily;
  /** Position of its interface in the table: the local-preference order (RFC 8421 §4). */
  readonly interfaceRank: number;
}

const WILDCARDS = new Set(['0.0.0.0', '::', '']);

/** fe80::/10: usable only with a scope ID, and only paired with other link-local candidates. */
function isLinkLocalV6(address: string): boolean {
  return /^fe[89ab]/i.test(address);
}

/**
 * The addresses to gather host candidates on (RFC 8445 §5.1.1.1): every usable non-internal
 * IPv4/IPv6 interface address. IPv6 link-local addresses are skipped (they need a scope ID to bind
 * and reach only the local link). When there is none (a loopback-only host or namespace), the
 * loopback addresses are used, so two peers on one machine still connect.
 */
export function hostAddresses(options: HostAddressOptions = {}): HostAddress[] {
  const wanted = (family: AddressFamily): boolean => options.family === undefined || options.family === family;
  if (options.bindAddress !== undefined && !WILDCARDS.has(options.bindAddress)) {
    const family = familyOf(options.bindAddress);
    if (family === undefined) {
      throw new IceOptionError(`bindAddress "${options.bindAddress}" is not an IP address; give one of this host's IPv4 or IPv6 addresses.`);
    }
    if (!wanted(family)) {
      throw new IceOptionError(`bindAddress ${options.bindAddress} is IPv${family}, but family ${options.family} was asked for.`);
    }
    return [{ address: options.bindAddress, family, interfaceRank: 0 }];
  }
  const table = options.interfaces ?? networkInterfaces();
  const external: HostAddress[] = [];
  const loopback: HostAddress[] = [];
  const seen = new Set<string>();
  let rank = 0;
  for (const entries of Object.values(table)) {
    for (const entry of entries ?? []) {
      const family: AddressFamily = entry.family === 'IPv6' ? 6 : 4;
      const address = entry.address.toLowerCase();
      if (!wanted(family) || seen.has(address) || (family === 6 && isLinkLocalV6(address))) continue;
      seen.add(address);
      (entry.internal ? loopback : external).push({ address, family, interfaceRank: rank });
    }
    rank++;
  }
  return external.length > 0 ? external : loopback;
}

/**
 * When hostAddresses() had to fall back to loopback without being asked to bind there: the plain
 * sentence a peer prints, emits and reports. Undefined when a usable interface exists, when the
 * caller chose the addresses (bindAddress, hostAddresses), or on a table with no address at all.
 * A peer in this state can only reach peers on the same machine, and its checks to any other
 * address fail at once (a socket bound to 127.0.0.1 cannot send off-host: EINVAL).
 */
export function loopbackOnlyWarning(options: HostAddressOptions = {}): string | undefined {
  if (options.bindAddress !== undefined && !WILDCARDS.has(options.bindAddress)) return undefined;
  const table = options.interfaces ?? networkInterfaces();
  const found = hostAddresses({ ...options, interfaces: table });
  if (found.length === 0) return undefined;
  const internal = new Set(Object.values(table).flatMap((entries) => (entries ?? []).filter((entry) => entry.internal).map((entry) => entry.address.toLowerCase())));
  if (!found.every((host) => internal.has(host.address))) return undefined;
  return (
    `No usable network interface: only loopback (${found.map((host) => host.address).join(', ')}) is up and running, so this peer can reach ` +
    'only peers on this machine. Check that an interface has an address and a carrier (`ip addr`), or pass --bind 127.0.0.1 to test on loopback on purpose.'
  );
}

export interface BoundHost {
  readonly endpoint: UdpEndpoint;
  readonly candidate: Candidate;
}

/**
 * Binds one socket per address (port chosen by the kernel) and builds the host candidates, with a
 * unique local preference per address (§5.1.2.1) interleaving the families (RFC 8421). Addresses
 * that cannot be bound (e.g. an IPv6 address still in duplicate address detection) are skipped;
 * when none can be bound the first error is thrown.
 */
export async function bindHostCandidates(addresses: readonly HostAddress[], foundations: FoundationAllocator): Promise<BoundHost[]> {
  const preferences = interleavedLocalPreferences(addresses);
  const bound = await Promise.allSettled(addresses.map((host) => UdpEndpoint.bind({ address: host.address, port: 0, family: host.family })));
  const hosts: BoundHost[] = [];
  let firstError: unknown;
  bound.forEach((outcome, index) => {
    const host = addresses[index]!;
    if (outcome.status === 'rejected') {
      firstError ??= outcome.reason;
      return;
    }
    const endpoint = outcome.value;
    hosts.push({
      endpoint,
      candidate: {
        foundation: foundations.foundationFor({ type: 'host', baseAddress: host.address }),
        component: 1,
        transport: 'udp',
        priority: computePriority('host', preferences.get(host.address) ?? 0),
        address: endpoint.local.address,
        port: endpoint.local.port,
        type: 'host',
        family: host.family,
      },
    });
  });
  if (hosts.length === 0 && firstError !== undefined) throw firstError;
  return hosts;
}

/** One STUN Binding exchange made while gathering, for the report (it says "no NAT" when mapped = base). */
export interface SrflxAttempt {
  /** The host candidate's base, "ip:port". */
  readonly base: string;
  readonly server: string;
  /** The mapped address the server saw, "ip:port". */
  readonly mapped?: string;
  readonly rttMs?: number;
  /** Why no mapped address came back. */
  readonly error?: string;
  /**
   * The mapped address equals the base: the candidate is redundant and eliminated (RFC 8445
   * §5.1.3). This is what a host with no NAT (or a loopback run) sees.
   */
  readonly redundant: boolean;
}

export interface SrflxOptions {
  readonly server: TransportAddress;
  readonly clock: Clock;
  /** Bound on each Binding transaction. */
  readonly timeoutMs: number;
  /** First retransmission timeout. */
  readonly rtoMs: number;
}

/**
 * Sends one Binding request (with retransmissions) from `host` to the STUN server and builds the
 * server-reflexive candidate (§5.1.1.2): its base is the host candidate, its priority uses the host
 * candidate's local preference, and its foundation depends on the base IP and the server IP.
 */
export async function gatherServerReflexive(
  host: BoundHost,
  transactions: StunTransactions,
  foundations: FoundationAllocator,
  options: SrflxOptions,
): Promise<{ attempt: SrflxAttempt; candidate?: Candidate }> {
  const base = formatTransportAddress(host.candidate);
  const server = formatTransportAddress(options.server);
  try {
    const result = await transactions.request(
      { class: 'request', method: StunMethod.binding, transactionId: newTransactionId(), attributes: [attr('SOFTWARE', 'nat-probe ice')] },
      options.server,
      { rtoMs: options.rtoMs, deadlineMs: options.timeoutMs, encode: { fingerprint: true } },
    );
    const mapped: StunTransportAddress | undefined =
      getAttribute(result.response, 'XOR-MAPPED-ADDRESS') ?? getAttribute(result.response, 'MAPPED-ADDRESS');
    if (result.response.class !== 'successResponse' || mapped === undefined) {
      const error = getAttribute(result.response, 'ERROR-CODE');
      const why = error !== undefined ? `error ${error.code} ${error.reason}` : 'no mapped address in the response';
      return { attempt: { base, server, rttMs: result.rttMs, error: why, redundant: false } };
    }
    const redundant = sameTransportAddress(mapped, host.candidate);
    const attempt: SrflxAttempt = { base, server, mapped: formatTransportAddress(mapped), rttMs: result.rttMs, redundant };
    if (redundant) return { attempt };
    return {
      attempt,
      candidate: {
        foundation: foundations.foundationFor({ type: 'srflx', baseAddress: host.candidate.address, serverAddress: options.server.address }),
        component: 1,
        transport: 'udp',
        priority: computePriority('srflx', localPreferenceOf(host.candidate.priority)),
        address: mapped.address,
        port: mapped.port,
        type: 'srflx',
        relatedAddress: host.candidate.address,
        relatedPort: host.candidate.port,
        family: mapped.family,
      },
    };
  } catch (error) {
    return { attempt: { base, server, error: error instanceof Error ? error.message : String(error), redundant: false } };
  }
}

/** What a TURN allocation tells ICE about its relayed candidate (src/turn's TurnAllocation fits). */
export interface RelayedAllocation {
  /** XOR-RELAYED-ADDRESS: the candidate's address, and its own base (§5.1.1.1). */
  readonly relayed: TransportAddress;
  /** XOR-MAPPED-ADDRESS: where the TURN server saw this client; the candidate's raddr/rport (RFC 8839 §5.1). */
  readonly mapped: TransportAddress;
  /** The TURN server, for the foundation (§5.1.1.3) and the UDP/TCP preference. */
  readonly server: { readonly host: string; readonly transport: 'udp' | 'tcp' | 'tls' };
}

/**
 * RFC 8445 §5.1.2.2: type preference 0 for relayed candidates. The local preference must differ
 * between candidates of one type (§5.1.2.1): `index` counts the relayed candidates the agent has
 * already, and an allocation over TCP ranks below every UDP one (TCP adds head-of-line blocking
 * and is the fallback for networks that block UDP), and one over TLS below every TCP one (the
 * last rung of the relay ladder: it passes where only TLS on 443 gets out).
 */
export function relayedCandidate(allocation: RelayedAllocation, foundations: FoundationAllocator, index: number): Candidate {
  const family = familyOf(allocation.relayed.address);
  if (family === undefined) throw new IceOptionError(`The relayed address "${allocation.relayed.address}" is not an IP address.`);
  const transport = allocation.server.transport;
  const rungPreference = transport === 'udp' ? MAX_LOCAL_PREFERENCE : transport === 'tcp' ? MAX_LOCAL_PREFERENCE >> 1 : MAX_LOCAL_PREFERENCE >> 2;
  const localPreference = Math.max(0, rungPreference - index);
  return {
    foundation: foundations.foundationFor({ type: 'relay', baseAddress: allocation.relayed.address, serverAddress: allocation.server.host, transport }),
    component: 1,
    transport: 'udp',
    priority: computePriority('relay', localPreference),
    address: allocation.relayed.address,
    port: allocation.relayed.port,
    type: 'relay',
    relatedAddress: allocation.mapped.address,
    relatedPort: allocation.mapped.port,
    family,
  };
}

/**
 * The first RTO for checks to a remote that has not answered yet, from the RTTs to the STUN
 * server measured while gathering (RFC 8489 §6.2.1 lets a client start from a measured RTT):
 * what the transport's estimator makes of one sample of the slowest of them, within
 * [minRtoMs, maxRtoMs]. Undefined when nothing was measured. A peer's path is unknown until it
 * answers, and the server's is the best scale of it there is. It matters most in hole punching,
 * where a check's first request is dropped until the other side's opening arrives: with a fixed
 * 500 ms first RTO such a pair connected only after half a second on a sub-millisecond path.
 */
export function initialRtoFromGathering(attempts: readonly SrflxAttempt[], bounds: { readonly minRtoMs: number; readonly maxRtoMs: number }): number | undefined {
  const rtts = attempts.flatMap((attempt) => (attempt.rttMs !== undefined ? [attempt.rttMs] : []));
  if (rtts.length === 0) return undefined;
  const estimator = new RttEstimator({ minRtoMs: bounds.minRtoMs, maxRtoMs: bounds.maxRtoMs, initialRtoMs: bounds.maxRtoMs });
  estimator.sample(Math.max(...rtts));
  return estimator.rtoMs;
}
