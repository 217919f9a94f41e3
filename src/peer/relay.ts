/**
 * Relayed candidates for a peer session: which TURN servers to use (the session's options, or
 * the `turn:` entries of the signaling server's `config.iceServers`), one allocation on each
 * (RFC 8656 §7), and what happened, for the result. An allocation that fails is reported and
 * the session goes on with its direct candidates: TURN is the fallback, never a precondition.
 *
 * Secrets: a PeerTurnServer holds a password or a shared secret. Nothing here copies either into
 * a result, an event or an error message; results name the server by its URL only.
 */
import { NatProbeError, isNatProbeError } from '../errors.js';
import { formatTransportAddress } from '../ice/candidate.js';
import type { IceServer } from '../signaling/index.js';
import type { Clock } from '../transport/clock.js';
import { allocate, parseTurnUrl, restApiCredentials, type TurnAllocation, type TurnCredentials, type TurnServerAddress, type TurnTransport } from '../turn/index.js';

/** A TURN server the session allocates a relayed candidate on. */
export interface PeerTurnServer {
  /** turn:HOST[:PORT][?transport=udp|tcp] (RFC 7065); default port 3478, transport udp. */
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
}

export type RelaySource = 'options' | 'signaling';

/** One TURN server the session tried (PeerResult.relays). */
export interface PeerRelayResult {
  /** turn:HOST:PORT?transport=…, never with credentials. */
  readonly server: string;
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

/** The TURN servers in a signaling `config.iceServers` list: each `turn:` URL of an entry with credentials. */
export function turnServersFromIceServers(iceServers: readonly IceServer[] | undefined): PeerTurnServer[] {
  const servers: PeerTurnServer[] = [];
  for (const entry of iceServers ?? []) {
    const urls = typeof entry.urls === 'string' ? [entry.urls] : entry.urls;
    for (const url of urls) {
      // turns: (TLS) is not spoken by this client; stun: entries are not relays.
      if (!/^turn:/i.test(url.trim())) continue;
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

/** "turn:host:port?transport=udp": the server as reports name it. */
export function describeTurnServer(address: TurnServerAddress): string {
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  return `turn:${host}:${address.port}?transport=${address.transport}`;
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

function errorOf(error: unknown): { code: string; message: string } {
  if (isNatProbeError(error)) return { code: error.code, message: error.message };
  return { code: 'turn-error', message: error instanceof Error ? error.message : String(error) };
}
