/**
 * Relayed candidates for a peer session: which TURN servers to use (the session's options, or
 * the `turn:` and `turns:` entries of the signaling server's `config.iceServers`), one
 * allocation on each (RFC 8656 §7), and what happened, for the result. An allocation that fails
 * is reported and the session goes on with its direct candidates: TURN is the fallback, never a
 * precondition.
 *
 * The relay ladder: relayLadderRungs() expands the configured servers into rungs, TURN over UDP,
 * then TCP (for networks that block UDP), then TLS (for networks that pass only TLS, best on
 * 443). relayedCandidate() in src/ice/gather.ts ranks the relayed candidates of the rungs in the
 * same order (UDP > TCP > TLS local preference), so that ICE takes the lowest rung that works.
 *
 * Secrets: a PeerTurnServer holds a password or a shared secret. Nothing here copies either into
 * a result, an event or an error message; results name the server by its URL only.
 */
import { NatProbeError, isNatProbeError } from '../errors.js';
import { formatTransportAddress } from '../ice/candidate.js';
import type { IceServer } from '../signaling/index.js';
import type { Clock } from '../transport/clock.js';
import {
  allocate,
  formatTurnServer,
  parseTurnUrl,
  restApiCredentials,
  type TurnAllocation,
  type TurnCredentials,
  type TurnServerAddress,
  type TurnTransport,
} from '../turn/index.js';

/** A TURN server the session allocates a relayed candidate on. */
export interface PeerTurnServer {
  /**
   * turn:HOST[:PORT][?transport=udp|tcp] (RFC 7065; default port 3478, transport udp) or
   * turns:HOST[:PORT] (TLS over TCP, default port 5349).
   */
  url: string;
  /** Long-term credentials (RFC 8489 §9.2), e.g. coturn `--user u:p` … */
  username?: string;
  credential?: string;
  /** … or coturn's `use-auth-secret` shared secret: TURN REST API credentials are made locally. */
  secret?: string;
  /** The REST username's user part (`${expiry}:${secretUser}`). Default 'nat-probe'. */
  secretUser?: string;
  /** Lifetime of those REST credentials. Default 86 400 s. */
  ttlSeconds?: number;
  /** turns: only: PEM certificate(s) to trust besides the system's roots (e.g. a self-signed server's). */
  ca?: string | string[];
}

export type RelaySource = 'options' | 'signaling';

/** One TURN server the session tried (PeerResult.relays). */
export interface PeerRelayResult {
  /** turn:HOST:PORT?transport=… or turns:HOST:PORT, never with credentials. */
  readonly server: string;
  /** How the client reached the server: the rung of the relay ladder (relayRungOf). */
  readonly transport: TurnTransport;
  readonly source: RelaySource;
  /** XOR-RELAYED-ADDRESS "ip:port", when allocated. */
  readonly relayed?: string;
  /** XOR-MAPPED-ADDRESS "ip:port", when allocated. */
  readonly mapped?: string;
  /** From the start of the allocation to the relayed address (the 401 round trip included). */
  readonly allocateMs?: number;
  /** Why there is no relayed candidate from this server (code e.g. 'turn-auth-failed'). */
  readonly error?: { readonly code: string; readonly message: string };
}

export const DEFAULT_SECRET_USER = 'nat-probe';

/** The TURN servers in a signaling `config.iceServers` list: each `turn:` and `turns:` URL of an entry, with its credentials. */
export function turnServersFromIceServers(iceServers: readonly IceServer[] | undefined): PeerTurnServer[] {
  const servers: PeerTurnServer[] = [];
  for (const entry of iceServers ?? []) {
    const urls = typeof entry.urls === 'string' ? [entry.urls] : entry.urls;
    for (const url of urls) {
      // stun: entries are not relays.
      if (!/^turns?:/i.test(url.trim())) continue;
      servers.push({ url, ...(entry.username !== undefined ? { username: entry.username } : {}), ...(entry.credential !== undefined ? { credential: entry.credential } : {}) });
    }
  }
  return servers;
}

/** The credentials a server entry stands for (REST credentials are made now, from the secret). */
export function credentialsOf(server: PeerTurnServer, nowMs?: number): TurnCredentials {
  if (server.secret !== undefined) {
    const rest = restApiCredentials(server.secret, {
      user: server.secretUser ?? DEFAULT_SECRET_USER,
      ...(server.ttlSeconds !== undefined ? { ttlSeconds: server.ttlSeconds } : {}),
      ...(nowMs !== undefined ? { nowMs } : {}),
    });
    return { username: rest.username, password: rest.password };
  }
  if (server.username === undefined || server.credential === undefined) {
    throw new NatProbeError('turn-no-credentials', `TURN server ${server.url} has no credentials: give a username and password, or the shared secret (coturn use-auth-secret).`);
  }
  return { username: server.username, password: server.credential };
}

/** "turn:host:port?transport=udp" or "turns:host:port": the server as reports name it (the TURN client's own formatTurnServer). */
export function describeTurnServer(address: TurnServerAddress): string {
  return formatTurnServer(address);
}

/** A rung of the relay ladder, as reports and traversal plans name it. */
export type RelayRung = 'relay-udp' | 'relay-tcp' | 'relay-tls';

/** The ladder's rungs, lowest first: the order relayLadderRungs() gives and ICE prefers. */
export const RELAY_RUNGS: readonly RelayRung[] = ['relay-udp', 'relay-tcp', 'relay-tls'];

/** The rung an allocation result stands on: its transport to the TURN server. */
export function relayRungOf(result: Pick<PeerRelayResult, 'transport'>): RelayRung {
  return `relay-${result.transport}`;
}

/** The port firewalls that pass only HTTPS let through; a TLS rung there is the ladder's best last chance. */
export const HTTPS_PORT = 443;

/**
 * The relay ladder's rungs for the configured servers (pure): TURN over UDP, then TCP, then TLS.
 *
 * - UDP rungs: every configured udp server, in the configured order.
 * - TCP rungs: for each udp `turn:H:P`, `turn:H:P?transport=tcp` with the same credentials
 *   (coturn and most servers listen on both at one port, RFC 8656 §3.1), unless that TCP server
 *   is configured already; configured tcp servers keep their place among them.
 * - TLS rungs: only the configured `turns:` servers (a TLS port cannot be guessed), those on
 *   443 first: it is the port a network that passes only HTTPS lets through.
 *
 * A server listed twice (same transport, host and port) is one rung, the first one's. An entry
 * whose URL does not parse stays among the UDP rungs, so that allocateRelay reports why.
 */
export function relayLadderRungs(servers: readonly PeerTurnServer[]): PeerTurnServer[] {
  const keyOf = (address: TurnServerAddress): string => `${address.transport}|${address.host.toLowerCase().replace(/\.$/, '')}|${address.port}`;
  const parsed: Array<{ address: TurnServerAddress; server: PeerTurnServer }> = [];
  const unparsed: PeerTurnServer[] = [];
  for (const server of servers) {
    try {
      parsed.push({ address: parseTurnUrl(server.url), server });
    } catch {
      unparsed.push(server);
    }
  }
  // A configured TCP server wins over the one the ladder would derive from UDP (its credentials may differ).
  const configured = new Set(parsed.map(({ address }) => keyOf(address)));
  const seen = new Set<string>();
  const rungs: Record<TurnTransport, PeerTurnServer[]> = { udp: [], tcp: [], tls: [] };
  const add = (address: TurnServerAddress, server: PeerTurnServer): void => {
    const key = keyOf(address);
    if (seen.has(key)) return;
    seen.add(key);
    rungs[address.transport].push(server);
  };
  for (const { address, server } of parsed) {
    add(address, server);
    if (address.transport !== 'udp') continue;
    const tcp: TurnServerAddress = { host: address.host, port: address.port, transport: 'tcp' };
    if (!configured.has(keyOf(tcp))) add(tcp, { ...server, url: formatTurnServer(tcp) });
  }
  const onHttpsPort = (server: PeerTurnServer): number => (parseTurnUrl(server.url).port === HTTPS_PORT ? 0 : 1);
  // Array.prototype.sort is stable: among 443 and among the others the configured order stays.
  const tls = [...rungs.tls].sort((a, b) => onHttpsPort(a) - onHttpsPort(b));
  return [...rungs.udp, ...unparsed, ...rungs.tcp, ...tls];
}

export interface AllocateRelayOptions {
  readonly clock: Clock;
  /** Bound on the allocation, 401 round trip included. */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  readonly bindAddress?: string;
}

/** One allocation, or the reason there is none; never rejects. */
export async function allocateRelay(
  server: PeerTurnServer,
  source: RelaySource,
  options: AllocateRelayOptions,
): Promise<{ result: PeerRelayResult; allocation?: TurnAllocation }> {
  let address: TurnServerAddress;
  try {
    address = parseTurnUrl(server.url);
  } catch (error) {
    // Only the URL's shape is echoed, never credentials (a URL carries none, RFC 7065 §3.1).
    return { result: { server: server.url, transport: 'udp', source, error: errorOf(error) } };
  }
  const described = describeTurnServer(address);
  const startedAt = options.clock.now();
  try {
    const allocation = await allocate({
      server: address,
      credentials: credentialsOf(server),
      clock: options.clock,
      timeoutMs: options.timeoutMs,
      ...(options.signal !== undefined ? { signal: options.signal } : {}),
      ...(options.bindAddress !== undefined ? { bindAddress: options.bindAddress } : {}),
      ...(address.transport === 'tls' && server.ca !== undefined ? { tls: { ca: server.ca } } : {}),
    });
    return {
      allocation,
      result: {
        server: described,
        transport: address.transport,
        source,
        relayed: formatTransportAddress(allocation.relayed),
        mapped: formatTransportAddress(allocation.mapped),
        allocateMs: options.clock.now() - startedAt,
      },
    };
  } catch (error) {
    return { result: { server: described, transport: address.transport, source, allocateMs: options.clock.now() - startedAt, error: errorOf(error) } };
  }
}

/**
 * An allocation still running when its session ended: the direct checks did not wait for it
 * (relayed candidates join the running checks when they come, RFC 8838), so the report says what
 * became of it instead of leaving it out.
 */
export function pendingRelayResult(server: PeerTurnServer, source: RelaySource, waitedMs: number): PeerRelayResult {
  let address: TurnServerAddress;
  try {
    address = parseTurnUrl(server.url);
  } catch {
    return { server: server.url, transport: 'udp', source, error: { code: 'turn-pending', message: `still allocating when the session ended, after ${Math.round(waitedMs)} ms` } };
  }
  return {
    server: describeTurnServer(address),
    transport: address.transport,
    source,
    error: { code: 'turn-pending', message: `still allocating when the session ended, after ${Math.round(waitedMs)} ms; the checks did not wait for it` },
  };
}

function errorOf(error: unknown): { code: string; message: string } {
  if (isNatProbeError(error)) return { code: error.code, message: error.message };
  return { code: 'turn-error', message: error instanceof Error ? error.message : String(error) };
}
