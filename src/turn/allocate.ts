import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { attr, formatTransportAddress, getAttribute, type TransportAddress } from '../stun/index.js';
import { systemClock, type Clock } from '../transport/index.js';
import { Allocation, type TurnAllocation } from './allocation.js';
import type { TurnConnection } from './connection.js';
import type { TurnCredentials } from './credentials.js';
import { TurnProtocolError, TurnUnreachableError } from './errors.js';
import type { TurnClientEvent } from './events.js';
import { TurnSession } from './session.js';
import { TcpTurnConnection } from './tcp-connection.js';
import { DEFAULT_ALLOCATION_LIFETIME_SECONDS } from './timing.js';
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
  clock?: Clock;
  signal?: AbortSignal;
  /** Local address to bind. Default loopback for a loopback server, every interface otherwise. */
  bindAddress?: string;
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
  const connection: TurnConnection =
    options.server.transport === 'tcp'
      ? await TcpTurnConnection.open({ server: remote, bindAddress: options.bindAddress, clock, connectTimeoutMs: remaining(), signal: options.signal })
      : await UdpTurnConnection.open({ server: remote, bindAddress: options.bindAddress, clock });
  const session = new TurnSession(connection, options.credentials, clock, label, emit);
  emit({ type: 'turn-connected', at: 0, transport: options.server.transport, local: formatTransportAddress(connection.local), server: formatTransportAddress(remote) });
  try {
    const attributes = [attr('REQUESTED-TRANSPORT', REQUESTED_TRANSPORT_UDP)];
    if (options.lifetimeSeconds !== undefined) attributes.push(attr('LIFETIME', options.lifetimeSeconds));
    if (options.relayFamily !== undefined) attributes.push(attr('REQUESTED-ADDRESS-FAMILY', options.relayFamily));
    const { response, rttMs } = await session.request('allocate', attributes, { deadlineMs: remaining(), signal: options.signal });
    const relayed = getAttribute(response, 'XOR-RELAYED-ADDRESS');
    if (relayed === undefined) throw new TurnProtocolError(label, 'the Allocate success response has no XOR-RELAYED-ADDRESS (RFC 8656 §7.3)');
    // XOR-MAPPED-ADDRESS is a MUST in RFC 8656 §7.3 but some servers omit it; the local address is the honest fallback.
    const mapped = getAttribute(response, 'XOR-MAPPED-ADDRESS') ?? connection.local;
    const lifetimeSeconds = getAttribute(response, 'LIFETIME') ?? DEFAULT_ALLOCATION_LIFETIME_SECONDS;
    emit({
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
  } catch (error) {
    await connection.close();
    throw error;
  }
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
