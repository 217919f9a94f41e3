import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { InvalidArgumentError, type Command } from 'commander';
import { NatProbeError } from '../../errors.js';
import { buildTurnReport, formatTurnEventLine, type TurnCheckEvent, type TurnReport } from '../../report/turn-report.js';
import {
  defaultServername,
  diagnoseTurnServer,
  formatTurnServer,
  parseTurnUrl,
  restApiCredentials,
  TurnUrlError,
  type TurnCredentials,
  type TurnServerAddress,
  type TurnTlsOptions,
} from '../../turn/index.js';
import { VERSION } from '../../version.js';
import { ExitCode } from '../exit-codes.js';
import { outputMode, writeLine, type CliIo } from '../io.js';
import { startLiveView, type LiveView } from '../live-view.js';
import { integerOption } from '../options.js';
import { envValue, TURN_CA_HELP, TURN_PASSWORD_ENV, TURN_SECRET_ENV, turnCaOption } from '../turn-flags.js';
import { interruptSignal } from './peer.js';

export interface TurnCommandOptions {
  server: TurnServerAddress & { url: string };
  user?: string;
  pass?: string;
  secret?: string;
  ttl: number;
  packets: number;
  size: number;
  peerAddress?: string;
  relayFamily?: 4 | 6;
  bind?: string;
  /** --turn-ca FILE, already read (PEM). */
  turnCa?: string;
  timeout: number;
  json?: boolean;
}


function turnUrlOption(value: string): TurnServerAddress & { url: string } {
  try {
    return { ...parseTurnUrl(value), url: value };
  } catch (error) {
    if (error instanceof TurnUrlError) throw new InvalidArgumentError(error.message);
    throw error;
  }
}

function ipOption(name: string) {
  return (value: string): string => {
    if (isIP(value) === 0) throw new InvalidArgumentError(`${name} must be an IP address on this host, got "${value}".`);
    return value;
  };
}

function relayFamilyOption(value: string): 4 | 6 {
  if (value === '4' || value === '6') return Number(value) as 4 | 6;
  throw new InvalidArgumentError(`--relay-family must be 4 or 6, got "${value}".`);
}

export function registerTurn(program: Command, io: CliIo, run: (code: Promise<number>) => void): void {
  program
    .command('turn')
    .description('Check a TURN server step by step: reachable, credentials accepted, allocation, permission, channel, and data relayed to an echo peer and back')
    .requiredOption('--server <url>', 'TURN server as turn:HOST[:PORT][?transport=udp|tcp] (RFC 7065; default port 3478) or turns:HOST[:PORT] (TLS; default port 5349)', turnUrlOption)
    .option('--user <name>', 'long-term username; with --secret, the user part of the REST-API username')
    .option('--pass <password>', `long-term password (or set ${TURN_PASSWORD_ENV}); never printed`)
    .option('--secret <secret>', `TURN REST API shared secret (coturn static-auth-secret, or set ${TURN_SECRET_ENV}); never printed`)
    .option('--ttl <seconds>', 'lifetime of REST-API credentials made from --secret', integerOption('--ttl', 1, 31_536_000), 86_400)
    .option('--packets <n>', 'packets in the round-trip measurement', integerOption('--packets', 1, 100_000), 100)
    .option('--size <bytes>', 'bytes per round-trip packet', integerOption('--size', 4, 1200), 100)
    .option('--peer-address <ip>', 'where the local echo peer listens (default: every interface); its address as the relay sees it gets the permission', ipOption('--peer-address'))
    .option('--relay-family <4|6>', 'address family of the relayed address (REQUESTED-ADDRESS-FAMILY; default: IPv4, the RFC 8656 default)', relayFamilyOption)
    .option('--turn-ca <file>', TURN_CA_HELP, turnCaOption())
    .option('--bind <address>', 'local address for the connection to the server (default: loopback for a loopback server, else every interface)', ipOption('--bind'))
    .option('--timeout <ms>', 'time bound of each check', integerOption('--timeout', 100, 120_000), 5000)
    .option('--json', 'one JSON document on stdout (schema nat-probe.turn/v1); logs on stderr')
    .addHelpText(
      'after',
      `
How it works:
  1 reachability    an Allocate without credentials; the server's 401 proves it answers
  2 authentication  the Allocate again with the long-term credentials (RFC 8489 §9.2)
  3 allocation      the relayed and server-reflexive addresses and the lifetime granted
  4 permission      CreatePermission, then Send/Data indications to and from an echo peer
                    this command binds itself (RFC 8656 §9–§11)
  5 channel bind    ChannelBind for the echo peer (RFC 8656 §12)
  6 round trip      --packets ChannelData packets to the echo peer and back: RTT and rate
  The allocation is released (Refresh with lifetime 0) at the end.

Examples:
  nat-probe turn --server turn:turn.example.com --user alice --pass "$PASS"
  nat-probe turn --server "turn:203.0.113.1:3478?transport=tcp" --secret "$SECRET" --user probe
  nat-probe turn --server turns:turn.example.com:443 --turn-ca ca.pem --user alice --pass "$PASS"
  ${TURN_SECRET_ENV}=... nat-probe turn --server turn:127.0.0.1 --json | jq .steps

  The echo peer runs on this host, so the relay must be allowed to send to it: for a server
  on loopback, coturn needs --allow-loopback-peers.

Exit codes: 0 every check passed, 1 a check failed (unreachable, TLS certificate not accepted,
wrong credentials, refused, no data through the relay), 2 usage or environment error (bad URL
or flags, unreadable --turn-ca file, unresolvable host).`,
    )
    .action((options: TurnCommandOptions) => run(runTurn(options, io)));
}

function credentialsFrom(options: TurnCommandOptions, io: CliIo): { credentials: TurnCredentials; kind: 'long-term' | 'rest-api' } {
  const pass = options.pass ?? envValue(io.env, TURN_PASSWORD_ENV);
  const secret = options.secret ?? envValue(io.env, TURN_SECRET_ENV);
  if (options.pass !== undefined && options.secret !== undefined) {
    throw new NatProbeError('turn-usage', 'Give either --user with --pass (long-term credentials) or --secret (TURN REST API), not both.');
  }
  if (options.pass !== undefined || (secret === undefined && pass !== undefined)) {
    if (options.user === undefined) throw new NatProbeError('turn-usage', '--pass needs --user: give the long-term username too.');
    return { credentials: { username: options.user, password: pass! }, kind: 'long-term' };
  }
  if (secret !== undefined) {
    const rest = restApiCredentials(secret, { user: options.user, ttlSeconds: options.ttl });
    return { credentials: { username: rest.username, password: rest.password }, kind: 'rest-api' };
  }
  throw new NatProbeError('turn-usage', `Credentials are missing: give --user and --pass, or --secret (or set ${TURN_PASSWORD_ENV} / ${TURN_SECRET_ENV}).`);
}

/** A name that does not resolve is an environment error (exit 2), like `detect --server`. */
async function resolveHost(server: TurnServerAddress & { url: string }): Promise<TurnServerAddress> {
  if (isIP(server.host) !== 0) return { host: server.host, port: server.port, transport: server.transport };
  try {
    const found = await lookup(server.host);
    return { host: found.address, port: server.port, transport: server.transport };
  } catch {
    throw new NatProbeError('turn-unresolvable', `--server "${server.url}": "${server.host}" does not resolve to an address. Check the name, or give an IP address.`);
  }
}

/** The host is resolved before the check starts, so the certificate's name comes from the URL as given. */
function tlsOptions(options: TurnCommandOptions): TurnTlsOptions {
  const servername = defaultServername(options.server.host, undefined);
  return { ...(servername !== undefined ? { servername } : {}), ...(options.turnCa !== undefined ? { ca: options.turnCa } : {}) };
}

export async function runTurn(options: TurnCommandOptions, io: CliIo): Promise<number> {
  const mode = outputMode(io, options.json ?? false);
  const { credentials, kind } = credentialsFrom(options, io);
  const server = await resolveHost(options.server);
  const live = mode === 'ink' ? await startTurnView(io, options.server.url) : undefined;
  const onEvent = (event: TurnCheckEvent): void => {
    if (mode === 'json') return;
    if (live) live.update(event);
    else {
      const line = formatTurnEventLine(event);
      if (line !== undefined) writeLine(io.stdout, line);
    }
  };
  const startedAt = new Date();
  const t0 = performance.now();
  // Ctrl-C stops after the current step and still releases the allocation (Refresh 0), then reports.
  const interrupt = interruptSignal();
  let report: TurnReport;
  try {
    const diagnosis = await diagnoseTurnServer({
      signal: interrupt.signal,
      server,
      credentials,
      credentialKind: kind,
      packets: options.packets,
      payloadBytes: options.size,
      peerAddress: options.peerAddress,
      relayFamily: options.relayFamily,
      bindAddress: options.bind,
      ...(options.server.transport === 'tls' ? { tls: tlsOptions(options) } : {}),
      stepTimeoutMs: options.timeout,
      onEvent,
    });
    report = buildTurnReport({ ...diagnosis, server: formatTurnServer(options.server) }, { version: VERSION, startedAt, durationMs: performance.now() - t0 });
  } catch (error) {
    await live?.abandon();
    throw error;
  } finally {
    interrupt.dispose();
  }
  if (mode === 'json') writeLine(io.stdout, JSON.stringify(report));
  else if (live) await live.finish(report);
  else writeLine(io.stdout, (await import('../../report/turn-table.js')).renderTurnTable(report));
  return report.passed ? ExitCode.ok : ExitCode.failure;
}

async function startTurnView(io: CliIo, url: string): Promise<LiveView<TurnCheckEvent, TurnReport>> {
  const [{ createElement }, { TurnView }, { initialTurnViewState, reduceTurnEvent, withTurnReport }] = await Promise.all([
    import('react'),
    import('../../ui/TurnView.js'),
    import('../../ui/turn-state.js'),
  ]);
  const title = `nat-probe turn · ${url}`;
  return startLiveView(io, {
    initial: initialTurnViewState(),
    reduce: reduceTurnEvent,
    withReport: withTurnReport,
    view: (state) => createElement(TurnView, { state, title }),
  });
}
