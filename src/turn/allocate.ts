import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { attr, formatTransportAddress, getAttribute, type TransportAddress } from '../stun/index.js';
import { systemClock, type Clock } from '../transport/index.js';
import { Allocation, type TurnAllocation } from './allocation.js';
import type { TurnConnection } from './connection.js';
import type { TurnCredentials } from './credentials.js';
import { TurnErrorResponse, TurnProtocolError, TurnUnreachableError } from './errors.js';
import type { TurnClientEvent } from './events.js';
import { TurnSession } from './session.js';
import { StreamTurnConnection, tcpConnector } from './stream-connection.js';
import { DEFAULT_ALLOCATION_LIFETIME_SECONDS } from './timing.js';
import { tlsConnector, type TurnTlsOptions } from './tls.js';
import { UdpTurnConnection } from './udp-connection.js';
import { formatTurnServer, type TurnServerAddress } from './url.js';

/** RFC 8656 §18.8 / IANA protocol numbers: REQUESTED-TRANSPORT 17 asks for a UDP relay (the only one RFC 8656 defines). */
export const REQUESTED_TRANSPORT_UDP = 17;

export interface AllocateOptions {
  server: TurnServerAddress;
  credentials: TurnCredentials;
  /** LIFETIME to ask for (RFC 8656 §7.1). Default: none, the server picks (600 s on coturn). */
  lifetimeSeconds?: number;
  /**
   * The relayed address's family (REQUESTED-ADDRESS-FAMILY, RFC 8656 §7.1). Default: none sent,
   * which means IPv4 whatever family the client reaches the server over.
   */
  relayFamily?: 4 | 6;
  /** For a turns: server: SNI, extra trusted CAs, verification (tls.ts). Default: SNI from the host, system roots, verified. */
  tls?: TurnTlsOptions;
  clock?: Clock;
  signal?: AbortSignal;
  /** Local address to bind. Default loopback for a loopback server, every interface otherwise. */
  bindAddress?: string;
  /**
   * Local port of the first attempt. Default 0 (the kernel picks). After a 437 the client
   * moves to kernel-picked ports (RFC 8656 §7.4).
   */
  bindPort?: number;
  /** Bound on the whole allocate (resolve, connect, challenge, Allocate), in ms. Default 5000. */
  timeoutMs?: number;
  /** Bound on each later request (permission, channel, refresh), in ms. Default 5000. */
  requestTimeoutMs?: number;
  /** Bound on close()'s Refresh(0), in ms. Default 1000. */
  closeTimeoutMs?: number;
  /** Steps, for the `turn` command's live view. Never carries secrets. */
  onEvent?: (event: TurnClientEvent) => void;
}

/**
 * Creates an allocation (RFC 8656 §7): opens the connection, sends Allocate, answers the 401
 * challenge with long-term credentials, and returns the allocation with its refresh timer
 * running. Every failure is a typed NatProbeError (errors.ts); the connection is closed on
 * any failure.
 */
export async function allocate(options: AllocateOptions): Promise<TurnAllocation> {
  const clock = options.clock ?? systemClock;
  const timeoutMs = options.timeoutMs ?? 5000;
  const started = clock.now();
  const remaining = (): number => Math.max(1, timeoutMs - (clock.now() - started));
  const label = formatTurnServer(options.server);
  const emit = options.onEvent ?? (() => undefined);

  const remote = await resolveServer(options.server, label);
  const transport = options.server.transport;
  const connector = transport === 'tls' ? tlsConnector(options.server.host, options.tls) : tcpConnector;
  const open = (bindPort: number | undefined): Promise<TurnConnection> =>
    transport === 'udp'
      ? UdpTurnConnection.open({ server: remote, label, bindAddress: options.bindAddress, bindPort, clock })
      : StreamTurnConnection.open({ server: remote, connector, label, bindAddress: options.bindAddress, bindPort, clock, connectTimeoutMs: remaining(), signal: options.signal });

  let previous: TurnConnection | undefined;
  for (let attempt = 1; ; attempt++) {
    // The previous connection stays open until the new one is bound, so the kernel cannot hand
    // out the same local port again (which would be the same 5-tuple, and the same 437).
    let connection: TurnConnection;
    try {
      connection = await open(attempt === 1 ? options.bindPort : undefined);
    } finally {
      await previous?.close();
      previous = undefined;
    }
    const session = new TurnSession(connection, options.credentials, clock, label, emit, started);
    emit({ type: 'turn-connected', at: clock.now() - started, transport: options.server.transport, local: formatTransportAddress(connection.local), server: formatTransportAddress(remote) });
    try {
      return await allocateOn(session, options, remaining, label);
    } catch (error) {
      // RFC 8656 §7.4: 437 to an Allocate means the server still holds an allocation on this
      // 5-tuple (e.g. one just released: coturn deletes it on its next one-second tick, and the
      // kernel may reuse the port). Pick another client address, up to three in all.
      if (error instanceof TurnErrorResponse && error.status === 437 && attempt < MAX_CLIENT_ADDRESSES && timeoutMs - (clock.now() - started) > 0) {
        emit({ type: 'turn-address-retry', at: clock.now() - started, local: formatTransportAddress(connection.local), status: 437 });
        previous = connection;
        continue;
      }
      await connection.close();
      throw error;
    }
  }
}

/** RFC 8656 §7.4: how many client transport addresses to try after 437 Allocation Mismatch. */
export const MAX_CLIENT_ADDRESSES = 3;

async function allocateOn(session: TurnSession, options: AllocateOptions, remaining: () => number, label: string): Promise<TurnAllocation> {
  const connection = session.connection;
  const attributes = [attr('REQUESTED-TRANSPORT', REQUESTED_TRANSPORT_UDP)];
  if (options.lifetimeSeconds !== undefined) attributes.push(attr('LIFETIME', options.lifetimeSeconds));
  if (options.relayFamily !== undefined) attributes.push(attr('REQUESTED-ADDRESS-FAMILY', options.relayFamily));
  const { response, rttMs } = await session.request('allocate', attributes, { deadlineMs: remaining(), signal: options.signal });
  const relayed = getAttribute(response, 'XOR-RELAYED-ADDRESS');
  if (relayed === undefined) throw new TurnProtocolError(label, 'the Allocate success response has no XOR-RELAYED-ADDRESS (RFC 8656 §7.3)');
  // XOR-MAPPED-ADDRESS is a MUST in RFC 8656 §7.3 but some servers omit it; the local address is the honest fallback.
  const mapped = getAttribute(response, 'XOR-MAPPED-ADDRESS') ?? connection.local;
  const lifetimeSeconds = getAttribute(response, 'LIFETIME') ?? DEFAULT_ALLOCATION_LIFETIME_SECONDS;
  session.event({
    type: 'turn-allocated',
    at: session.elapsed(),
    relayed: formatTransportAddress(relayed),
    mapped: formatTransportAddress(mapped),
    lifetimeSeconds,
    rttMs,
  });
  return new Allocation({
    session,
    server: options.server,
    relayed,
    mapped,
    lifetimeSeconds,
    requestTimeoutMs: options.requestTimeoutMs ?? 5000,
    closeTimeoutMs: options.closeTimeoutMs ?? 1000,
  });
}

async function resolveServer(server: TurnServerAddress, label: string): Promise<TransportAddress> {
  const family = isIP(server.host);
  if (family !== 0) return { family: family === 6 ? 6 : 4, address: server.host, port: server.port };
  try {
    const found = await lookup(server.host);
    return { family: found.family === 6 ? 6 : 4, address: found.address, port: server.port };
  } catch (error) {
    throw new TurnUnreachableError(label, `cannot resolve "${server.host}" (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, error);
  }
}
