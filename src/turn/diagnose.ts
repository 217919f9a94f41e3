import { isIP } from 'node:net';
import { formatTransportAddress, type TransportAddress } from '../stun/index.js';
import { systemClock, UdpEndpoint, type Clock, type TimerHandle } from '../transport/index.js';
import { isNatProbeError } from '../errors.js';
import { allocate } from './allocate.js';
import type { TurnAllocation } from './allocation.js';
import type { TurnCredentials } from './credentials.js';
import { TURN_STEPS, type RoundTripStats, type TurnCheckEvent, type TurnDiagnosis, type TurnStepName, type TurnStepResult } from './diagnose-types.js';
import type { TurnClientEvent } from './events.js';
import { measureRoundTrips } from './round-trip.js';
import type { TurnTlsOptions } from './tls.js';
import { formatTurnServer, type TurnServerAddress } from './url.js';

export interface DiagnoseOptions {
  server: TurnServerAddress;
  credentials: TurnCredentials;
  credentialKind: 'long-term' | 'rest-api';
  /** The relayed address family to ask for. Default none (IPv4, RFC 8656 §7.1). */
  relayFamily?: 4 | 6;
  /** Packets in the round-trip measurement. Default 100. */
  packets?: number;
  /** Bytes per round-trip packet. Default 100. */
  payloadBytes?: number;
  /** Where the echo peer binds. Default every interface of the relayed address's family. */
  peerAddress?: string;
  /** Bound on each step, in ms. Default 5000. */
  stepTimeoutMs?: number;
  bindAddress?: string;
  /** For a turns: server: SNI, extra trusted CAs, verification (see allocate). */
  tls?: TurnTlsOptions;
  clock?: Clock;
  /** Stops after the current step (the allocation is still released); later steps are skipped as interrupted. */
  signal?: AbortSignal;
  onEvent?: (event: TurnCheckEvent) => void;
}

/** A step's pass bar for delivery: more loss than this through a loopback-near echo is a broken relay path. */
export const MAX_ROUND_TRIP_LOSS = 0.1;
const HELLO = new TextEncoder().encode('nat-probe-turn-hello');
const INDICATION_CHECK = new TextEncoder().encode('nat-probe-turn-indication');

class StepFailure extends Error {
  constructor(readonly detail: string, readonly code: string) {
    super(detail);
  }
}

/**
 * `nat-probe turn`'s engine: checks one TURN server step by step (reachability,
 * authentication, allocation, permission, channel, round trip) against an echo peer this
 * process binds itself. A failed step marks the later ones skipped; the result says which
 * failed and why. Never throws for a server's failure, only for a local one (the echo
 * peer's address cannot be bound).
 */
export async function diagnoseTurnServer(options: DiagnoseOptions): Promise<TurnDiagnosis> {
  const clock = options.clock ?? systemClock;
  const stepTimeoutMs = options.stepTimeoutMs ?? 5000;
  const started = clock.now();
  const at = (): number => clock.now() - started;
  const emit = options.onEvent ?? (() => undefined);
  const interrupted = (): boolean => options.signal?.aborted === true;
  const results = new Map<TurnStepName, TurnStepResult>();
  const stepStarted = new Map<TurnStepName, number>();
  const running = (step: TurnStepName): void => {
    stepStarted.set(step, clock.now());
    emit({ type: 'turn-step', at: at(), step, status: 'running' });
  };
  const settle = (step: TurnStepName, status: TurnStepResult['status'], detail: string, code?: string): void => {
    if (results.has(step)) return;
    const result: TurnStepResult = { step, status, detail, ...(code === undefined ? {} : { code }), durationMs: clock.now() - (stepStarted.get(step) ?? clock.now()) };
    results.set(step, result);
    emit({ type: 'turn-step', at: at(), step, status, result });
  };

  let realm: string | null = null;
  let algorithm: 'md5' | 'sha256' | null = null;
  let allocation: TurnAllocation | undefined;
  let echo: UdpEndpoint | undefined;
  let roundTrip: RoundTripStats | null = null;
  let channel: number | null = null;

  running('reachability');
  const onClientEvent = (event: TurnClientEvent): void => {
    if (event.type === 'turn-challenge') {
      realm = event.realm;
      algorithm = event.algorithm;
      settle('reachability', 'pass', `answered the unauthenticated Allocate with 401 in ${event.rttMs.toFixed(1)} ms (realm "${event.realm}")`);
      running('authentication');
    }
  };
  try {
    try {
      allocation = await allocate({
        server: options.server,
        credentials: options.credentials,
        bindAddress: options.bindAddress,
        relayFamily: options.relayFamily,
        ...(options.tls !== undefined ? { tls: options.tls } : {}),
        clock,
        signal: options.signal,
        timeoutMs: stepTimeoutMs,
        requestTimeoutMs: stepTimeoutMs,
        onEvent: onClientEvent,
      });
    } catch (error) {
      failAllocate(error, results.has('reachability'), settle, running);
      return finish();
    }
    // A server without authentication (no 401) is reachable and open: say so.
    if (!results.has('reachability')) {
      settle('reachability', 'pass', 'answered Allocate');
      running('authentication');
      settle('authentication', 'pass', 'the server asked for no credentials (open relay: anyone can use it)');
    } else {
      settle('authentication', 'pass', `credentials accepted for "${options.credentials.username}" (${options.credentialKind}, ${algorithm === 'sha256' ? 'SHA-256' : 'MD5'} key)`);
    }
    running('allocation');
    settle(
      'allocation',
      'pass',
      `relayed ${formatTransportAddress(allocation.relayed)}, server-reflexive ${formatTransportAddress(allocation.mapped)}, lifetime ${allocation.lifetimeSeconds} s`,
    );

    if (interrupted()) return finish();
    running('permission');
    echo = await UdpEndpoint.bind({ address: options.peerAddress ?? (allocation.relayed.family === 6 ? '::' : '0.0.0.0'), family: allocation.relayed.family });
    const echoSocket = echo;
    echoSocket.onDatagram(({ data, from }) => echoSocket.sendDetached(data, from));
    let peer: TransportAddress;
    try {
      peer = await checkPermission(allocation, echoSocket, options.peerAddress, stepTimeoutMs, clock, (detail) => settle('permission', 'pass', detail));
    } catch (error) {
      settle('permission', 'fail', describe(error), codeOf(error));
      return finish();
    }

    if (interrupted()) return finish();
    running('channel');
    try {
      const bindStarted = clock.now();
      channel = await allocation.bindChannel(peer);
      settle('channel', 'pass', `channel 0x${channel.toString(16)} bound to ${formatTransportAddress(peer)} in ${(clock.now() - bindStarted).toFixed(1)} ms`);
    } catch (error) {
      settle('channel', 'fail', describe(error), codeOf(error));
      return finish();
    }

    if (interrupted()) return finish();
    running('round-trip');
    const current = allocation;
    const packets = options.packets ?? 100;
    roundTrip = await measureRoundTrips({
      send: (data) => current.send(data, peer),
      onEcho: (listener) =>
        current.onData((data, from) => {
          if (from.port === peer.port && from.address === peer.address) listener(data);
        }),
      peer,
      packets,
      payloadBytes: options.payloadBytes ?? 100,
      window: 16,
      lossTimeoutMs: Math.min(1000, stepTimeoutMs),
      timeoutMs: stepTimeoutMs,
      clock,
      signal: options.signal,
      onProgress: (sent, received) => emit({ type: 'turn-progress', at: at(), sent, received, total: packets }),
    });
    const lossRatio = roundTrip.sent === 0 ? 1 : roundTrip.lost / roundTrip.sent;
    const rtt = roundTrip.rttMs;
    const summary =
      `${roundTrip.received}/${roundTrip.sent} echoed through the relay` +
      (rtt ? `, RTT median ${rtt.median.toFixed(2)} ms (min ${rtt.min.toFixed(2)}, p95 ${rtt.p95.toFixed(2)}, max ${rtt.max.toFixed(2)})` : '') +
      `, ${Math.round(roundTrip.packetsPerSecond)} packets/s`;
    if (interrupted()) settle('round-trip', 'fail', `${summary}: interrupted before the last packet`, 'interrupted');
    else if (lossRatio <= MAX_ROUND_TRIP_LOSS && roundTrip.received > 0) settle('round-trip', 'pass', summary);
    else settle('round-trip', 'fail', `${summary}: ${(lossRatio * 100).toFixed(0)}% lost, more than ${MAX_ROUND_TRIP_LOSS * 100}% — the relay path drops packets`, 'turn-relay-loss');
    return finish();
  } finally {
    await allocation?.close();
    await echo?.close();
  }

  function finish(): TurnDiagnosis {
    const why = interrupted() ? 'not run: interrupted' : 'not run: an earlier step failed';
    for (const step of TURN_STEPS) if (!results.has(step)) settle(step, 'skipped', why);
    const steps = TURN_STEPS.map((step) => results.get(step)!);
    return {
      server: formatTurnServer(options.server),
      transport: options.server.transport,
      username: options.credentials.username,
      credentialKind: options.credentialKind,
      steps,
      realm,
      algorithm,
      local: allocation ? formatTransportAddress(allocation.local) : null,
      mapped: allocation ? formatTransportAddress(allocation.mapped) : null,
      relayed: allocation ? formatTransportAddress(allocation.relayed) : null,
      lifetimeSeconds: allocation?.lifetimeSeconds ?? null,
      channel,
      roundTrip,
      interrupted: interrupted(),
      passed: steps.every((step) => step.status === 'pass'),
    };
  }
}

/** Which step an allocate() failure belongs to: no answer at all is reachability; a rejection after the challenge is credentials or the allocation itself. */
function failAllocate(
  error: unknown,
  challenged: boolean,
  settle: (step: TurnStepName, status: TurnStepResult['status'], detail: string, code?: string) => void,
  running: (step: TurnStepName) => void,
): void {
  const code = codeOf(error);
  if (!challenged) {
    settle('reachability', 'fail', describe(error), code);
    return;
  }
  if (code === 'turn-auth-failed' || code === 'turn-timeout' || code === 'turn-protocol') {
    settle('authentication', 'fail', describe(error), code);
    return;
  }
  settle('authentication', 'pass', 'credentials accepted (the server refused the allocation itself)');
  running('allocation');
  settle('allocation', 'fail', describe(error), code);
}

/**
 * Installs the permission for this host's address as the relay will see it, then proves both
 * directions with indications: the echo peer's packets reach the client as Data indications
 * (which tells the peer's address as the relay sees it), and a Send indication comes back echoed.
 */
async function checkPermission(
  allocation: TurnAllocation,
  echo: UdpEndpoint,
  peerAddress: string | undefined,
  timeoutMs: number,
  clock: Clock,
  pass: (detail: string) => void,
): Promise<TransportAddress> {
  const ips = [...new Set([allocation.mapped.address, ...(peerAddress !== undefined && isIP(peerAddress) !== 0 && !isWildcard(peerAddress) ? [peerAddress] : [])])];
  const started = clock.now();
  await allocation.createPermission(ips);
  const installedMs = clock.now() - started;

  const peer = await awaitData(allocation, timeoutMs, clock, (stop) => {
    // Resend the hello every 100 ms until one arrives (bounded by timeoutMs): a first packet may race the permission.
    let timer: TimerHandle | undefined;
    const hello = (): void => {
      echo.send(HELLO, allocation.relayed).catch(() => undefined);
      timer = clock.setTimeout(hello, 100);
    };
    hello();
    stop(() => timer && clock.clearTimeout(timer));
  }, (data) => sameBytes(data, HELLO)).catch(() => {
    throw new StepFailure(
      `the permission for ${ips.join(', ')} was installed, but the echo peer's packets to ${formatTransportAddress(allocation.relayed)} never came back through the relay: ` +
        'the relay sees this host from another address; give --peer-address an address the relay can reach',
      'turn-permission-no-data',
    );
  });

  await awaitData(allocation, timeoutMs, clock, () => {
    allocation.send(INDICATION_CHECK, peer).catch(() => undefined);
  }, (data, from) => sameBytes(data, INDICATION_CHECK) && from.port === peer.port && from.address === peer.address).catch(() => {
    throw new StepFailure(`Data indications arrive, but a Send indication to the echo peer ${formatTransportAddress(peer)} was never echoed back`, 'turn-send-indication-lost');
  });
  pass(`permission for ${ips.join(', ')} installed in ${installedMs.toFixed(1)} ms; Send and Data indications carry data both ways (echo peer ${formatTransportAddress(peer)})`);
  return peer;
}

function awaitData(
  allocation: TurnAllocation,
  timeoutMs: number,
  clock: Clock,
  start: (onStop: (stop: () => void) => void) => void,
  matches: (data: Uint8Array, from: TransportAddress) => boolean,
): Promise<TransportAddress> {
  return new Promise<TransportAddress>((resolve, reject) => {
    const stops: Array<() => void> = [];
    const done = (): void => {
      for (const stop of stops) stop();
    };
    stops.push(
      allocation.onData((data, from) => {
        if (!matches(data, from)) return;
        done();
        resolve(from);
      }),
    );
    const timer = clock.setTimeout(() => {
      done();
      reject(new Error('timeout'));
    }, timeoutMs);
    stops.push(() => clock.clearTimeout(timer));
    start((stop) => stops.push(stop));
  });
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::';
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function codeOf(error: unknown): string {
  if (error instanceof StepFailure) return error.code;
  return isNatProbeError(error) ? error.code : 'turn-error';
}
