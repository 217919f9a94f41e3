import { peerBindAddress } from '../peer-bind.js';
import { InvalidArgumentError, type Command } from 'commander';
import { NatProbeError } from '../../errors.js';
import type { PeerEvent } from '../../events.js';
import { parseServerSpec, resolveServer } from '../../nat/index.js';
import { buildPeerReport, type PeerReport } from '../../report/peer-report.js';
import { describePeerSession } from '../../peer/session-view.js';
import { formatPeerEventLine } from '../../report/trials-lines.js';
import { VERSION } from '../../version.js';
import { ExitCode } from '../exit-codes.js';
import { outputMode, writeLine, type CliIo } from '../io.js';
import { startLiveView, type LiveView } from '../live-view.js';
import { integerOption } from '../options.js';
import { addStrategyFlags, STRATEGY_HELP, traversalFromFlags, type StrategyFlags } from '../strategy-flags.js';
import { addTurnFlags, turnServersFromFlags, withTurnCredentialsFromEnv, type TurnFlags } from '../turn-flags.js';

export interface PeerCommandOptions extends TurnFlags, StrategyFlags {
  /** One or more instances of one signaling service (--signal repeated or comma-separated). */
  signal: string[];
  room: string;
  token?: string;
  authToken?: string;
  stun?: string;
  survey?: boolean;
  timeout: number;
  bind?: string;
  json?: boolean;
  mdns?: boolean;
  /** --hold: seconds to keep the selected pair after the verdict, consent checks only. */
  hold?: number;
  /** --mapping-lifetime: seconds, from `detect --lifetime`; judged against consent traffic during --hold. */
  mappingLifetime?: number;
}

export const PEER_DEFAULT_TIMEOUT_MS = 15_000;

/** Environment variable for --auth-token (kept out of `ps`). */
export const AUTH_TOKEN_ENV = 'NAT_PROBE_AUTH_TOKEN';

/** --auth-token, or the environment's; never printed. */
export function authTokenFrom(options: { authToken?: string }, env: NodeJS.ProcessEnv): { authToken?: string } {
  const token = options.authToken ?? (env[AUTH_TOKEN_ENV] === '' ? undefined : env[AUTH_TOKEN_ENV]);
  return token === undefined ? {} : { authToken: token };
}

/** --signal must be a ws:// or wss:// URL. */
export function signalUrlOption(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError(`--signal must be a WebSocket URL such as ws://127.0.0.1:8080/, got "${value}".`);
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
    throw new InvalidArgumentError(`--signal must start with ws:// or wss://, got "${value}".`);
  }
  return url.href;
}

/**
 * --signal, repeatable and comma-separated: several instances of one signaling service (serve
 * --redis). The first is used first; the others take over a session when an instance dies.
 */
export function signalUrlsOption(value: string, previous: string[] | undefined): string[] {
  const urls = value.split(',').map((part) => part.trim()).filter((part) => part !== '');
  if (urls.length === 0) throw new InvalidArgumentError('--signal needs a WebSocket URL such as ws://127.0.0.1:8080/.');
  return [...(previous ?? []), ...urls.map(signalUrlOption)];
}

/** Room names the signaling protocol accepts (PROTOCOL.md): 1–128 of A–Z a–z 0–9 . _ ~ : - */
export function roomOption(value: string): string {
  if (!/^[A-Za-z0-9._~:-]{1,128}$/.test(value)) {
    throw new InvalidArgumentError(`--room must be 1–128 characters from A–Z a–z 0–9 . _ ~ : -, got "${value}".`);
  }
  return value;
}

/** --stun host[:port] → an IP address and port (IPv4 preferred, as the peers gather IPv4 first). */
export async function resolveStunOption(text: string): Promise<{ address: string; port: number }> {
  const spec = parseServerSpec(text);
  const resolved = (await resolveServer(spec, 4)) ?? (await resolveServer(spec, 6));
  if (!resolved) throw new NatProbeError('no-server', `--stun "${text}" does not resolve to an address. Check the name, or give an IP address.`);
  return { address: resolved.address.address, port: resolved.address.port };
}

export function registerPeer(program: Command, io: CliIo, run: (code: Promise<number>) => void): void {
  const command = program
    .command('peer')
    .description('Join a room as one peer, exchange candidates with the other peer, run ICE connectivity checks and report what worked')
    .requiredOption('--signal <url>', 'signaling server (ws:// or wss://), e.g. from `nat-probe serve`; repeat it or separate URLs with commas to give several instances sharing one Redis, tried in turn if one dies', signalUrlsOption)
    .requiredOption('--room <name>', 'room to meet the other peer in; both peers give the same name', roomOption)
    .option('--token <secret>', 'room secret: the first peer sets it, the second must give the same')
    .option('--auth-token <token>', `operator token for a signaling server started with --auth-secret (or set ${AUTH_TOKEN_ENV}); mint one with \`nat-probe token\``)
    .option('--stun <host[:port]>', 'STUN server for a server-reflexive candidate (default: none, host candidates only)')
    .option('--survey', 'check every candidate pair to the end, to see which pair types work (default: stop at the first nominated pair)')
    .option('--timeout <ms>', 'time bound from joining to the verdict, waiting for the other peer included', integerOption('--timeout', 100, 600_000), PEER_DEFAULT_TIMEOUT_MS)
    .option('--bind <address>', 'local address to bind (default: loopback when every server is on loopback; else every interface)')
    .option('--mdns', "resolve the other peer's mDNS host candidates (<uuid>.local, as browsers send them) by a Multicast DNS query on the local network (RFC 6762); unresolved ones are reported as skipped (default: off, no multicast is sent)")
    .option('--hold <s>', 'after connecting, keep the selected pair this many seconds with only ICE consent checks on it (RFC 7675, every 4–6 s) and report whether that traffic keeps the NAT mapping alive; give the other peer --hold too', integerOption('--hold', 1, 3600))
    .option('--mapping-lifetime <s>', 'with --hold: the UDP mapping lifetime `nat-probe detect --lifetime` measured on this network (use the two-way lower bound), to judge consent traffic against', integerOption('--mapping-lifetime', 1, 3600))
    .option('--json', 'NDJSON on stdout: one line per event, then the report (schema nat-probe.peer/v2) as the last line');
  addStrategyFlags(addTurnFlags(command))
    .addHelpText(
      'after',
      `
How it works:
  Both peers join the same room on a signaling server and swap ICE parameters and candidates
  (host, server-reflexive with --stun, relayed with --turn or TURN credentials the signaling
  server hands out). Each pairs its candidates with the other's and sends STUN connectivity
  checks on every pair (RFC 8445). The report shows the selected pair, every pair's state, RTT
  and attempts, why failed pairs failed, and each TURN allocation (or why it failed: the run
  then goes on with direct candidates). With --strategy, both peers also swap their NAT
  behaviour, agree on a plan, and run port prediction, birthday probing or a gateway port
  mapping (portmap) beside ICE; the report's traversal section gives the plan, each attempt,
  the mapping and which path won.

  Long sessions: --hold S keeps the selected pair for S seconds after the verdict with nothing
  on it but ICE consent checks (RFC 7675: one every 4–6 s), as a silent call would. The report
  says how many checks went out and were answered, the longest gap, and, with
  --mapping-lifetime (what \`nat-probe detect --lifetime\` measured), whether that traffic keeps
  the NAT mapping alive or a silent call would lose its path.

  Candidates this side cannot use (a browser's mDNS .local names, TCP candidates) are listed as
  skipped, with the reason; the other peer may still reach this side through its own checks
  (RFC 8445 §7.3.1.3), so a peer with no usable candidate waits for them (1 s + 4 × the signaling
  round trip, at most 5 s) before it reports no-candidate-pairs. --mdns resolves .local names.

${STRATEGY_HELP}

Examples:
  nat-probe serve                                            on a reachable host: STUN + signaling
  nat-probe peer --signal ws://203.0.113.1:8080/ --room lab-1 --stun 203.0.113.1:3478
  nat-probe peer --signal ws://203.0.113.1:8080/ --room lab-1 --survey --json
  nat-probe peer --signal ws://203.0.113.1:8080/ --room lab-1 --turn turn:203.0.113.1:3478 --turn-secret S --relay-only
  nat-probe peer --signal ws://203.0.113.1:8080/ --room lab-1 --stun 203.0.113.1:3478 --strategy predict,birthday
  nat-probe peer --signal ws://203.0.113.1:8080/ --room lab-1 --stun 203.0.113.1:3478 --hold 60 --mapping-lifetime 30

Exit codes: 0 connected, 1 not connected, 2 usage or environment error (e.g. the signaling
server cannot be reached, or the room already holds two peers). With --hold, a path that lost
consent during the hold exits 1 too.`,
    )
    .action((options: PeerCommandOptions) => run(runPeer(options, io)));
}

export async function runPeer(options: PeerCommandOptions, io: CliIo): Promise<number> {
  if (options.mappingLifetime !== undefined && options.hold === undefined) {
    throw new InvalidArgumentError('--mapping-lifetime is judged against the consent traffic of a held path: add --hold <s> (e.g. --hold 60).');
  }
  const mode = outputMode(io, options.json ?? false);
  const turnServers = turnServersFromFlags(withTurnCredentialsFromEnv(options, io.env));
  const traversal = traversalFromFlags(options);
  const stunServer = options.stun !== undefined ? await resolveStunOption(options.stun) : undefined;
  const live = mode === 'ink' ? await startPeerView(io, options.room) : undefined;
  const onEvent = (event: PeerEvent): void => {
    if (mode === 'json') writeLine(io.stdout, JSON.stringify(event));
    else if (live) live.update(event);
    else {
      const line = formatPeerEventLine(event);
      if (line !== undefined) writeLine(io.stdout, line);
    }
  };
  const startedAt = new Date();
  const t0 = performance.now();
  const { runPeerSession } = await import('../../peer/session.js');
  let report: PeerReport;
  try {
    const result = await runPeerSession({
      signalUrl: options.signal[0]!,
      signalFallbackUrls: options.signal.slice(1),
      room: options.room,
      token: options.token,
      ...authTokenFrom(options, io.env),
      stunServer,
      mode: options.survey ? 'survey' : 'connect',
      timeoutMs: options.timeout,
      bindAddress: peerBindAddress(options.bind, { signalUrls: options.signal, stunHost: stunServer?.address, turnUrls: options.turn !== undefined ? [options.turn] : [] }),
      ...(turnServers !== undefined ? { turnServers } : {}),
      ...(options.relayOnly === true ? { relayOnly: true } : {}),
      ...(options.turnTimeout !== undefined ? { turnTimeoutMs: options.turnTimeout } : {}),
      ...(options.directOnly === true ? { useSignaledIceServers: false } : {}),
      ...(traversal !== undefined ? { traversal } : {}),
      ...(options.mdns === true ? { mdns: {} } : {}),
      ...(options.hold !== undefined ? { hold: { ms: options.hold * 1000, ...(options.mappingLifetime !== undefined ? { mappingLifetimeMs: options.mappingLifetime * 1000 } : {}) } } : {}),
      onEvent,
    });
    report = buildPeerReport(result, describePeerSession(result), { version: VERSION, startedAt, durationMs: performance.now() - t0, mode: options.survey ? 'survey' : 'connect' });
  } catch (error) {
    await live?.abandon();
    throw error;
  }
  if (mode === 'json') writeLine(io.stdout, JSON.stringify(report));
  else if (live) await live.finish(report);
  else writeLine(io.stdout, (await import('../../report/peer-table.js')).renderPeerTable(report));
  return report.exitCode === 0 ? ExitCode.ok : ExitCode.failure;
}

async function startPeerView(io: CliIo, room: string): Promise<LiveView<PeerEvent, PeerReport>> {
  const [{ createElement }, { PeerView }, { initialPeerViewState, reducePeerEvent, withPeerReport }] = await Promise.all([
    import('react'),
    import('../../ui/PeerView.js'),
    import('../../ui/peer-state.js'),
  ]);
  const title = `nat-probe peer · room ${room}`;
  return startLiveView(io, {
    initial: initialPeerViewState(),
    reduce: reducePeerEvent,
    withReport: withPeerReport,
    view: (state) => createElement(PeerView, { state, title }),
  });
}

/**
 * An AbortSignal that fires on the first SIGINT or SIGTERM, so a run can stop starting work and
 * still report what it did. A second signal ends the process as the default action would.
 * `dispose` removes the handlers; commands call it when they finish.
 *
 * The handlers stay installed (`on`, not `once`) until dispose: Ink's exit hook (signal-exit)
 * kills the process on a signal when it sees no other listener, and a `once` listener is gone
 * by the time that hook looks.
 */
export function interruptSignal(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (!controller.signal.aborted) {
      controller.abort(signal);
      return;
    }
    dispose();
    process.kill(process.pid, signal);
  };
  const dispose = (): void => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return { signal: controller.signal, dispose };
}
