import { peerBindAddress } from '../peer-bind.js';
import { writeFile } from 'node:fs/promises';
import { InvalidArgumentError, type Command } from 'commander';
import { NatProbeError } from '../../errors.js';
import type { SourcedPeerEvent, TrialEvent } from '../../events.js';
import { runTrials, TRIALS_DEFAULTS, type TrialsResult } from '../../peer/trials.js';
import { startBuiltInServers } from '../embedded-servers.js';
import { buildTrialsReport, DEFAULT_MIN_SUCCESS, type TrialsReport } from '../../report/trials-report.js';
import { formatTrialEventLine } from '../../report/trials-lines.js';
import { VERSION } from '../../version.js';
import { ExitCode } from '../exit-codes.js';
import { outputMode, writeLine, type CliIo } from '../io.js';
import { startLiveView, type LiveView } from '../live-view.js';
import { integerOption } from '../options.js';
import { addStrategyFlags, STRATEGY_HELP, traversalFromFlags, type StrategyFlags } from '../strategy-flags.js';
import { addTurnFlags, turnServersFromFlags, withTurnCredentialsFromEnv, type TurnFlags } from '../turn-flags.js';
import { AUTH_TOKEN_ENV, authTokenFrom, interruptSignal, resolveStunOption, signalUrlsOption } from './peer.js';

export interface TrialsCommandOptions extends TurnFlags, StrategyFlags {
  runs: number;
  concurrency: number;
  signal?: string[];
  token?: string;
  authToken?: string;
  stun?: string;
  survey?: boolean;
  timeout: number;
  minSuccess: number;
  bind?: string;
  json?: boolean;
  junit?: string;
  allEvents?: boolean;
}

/** A ratio from 0 to 1, e.g. --min-success 0.95. */
export function ratioOption(name: string) {
  return (value: string): number => {
    const parsed = Number(value);
    if (value.trim() === '' || !Number.isFinite(parsed) || parsed < 0 || parsed > 1) {
      throw new InvalidArgumentError(`${name} must be a ratio from 0 to 1 (0.95 means 95%), got "${value}".`);
    }
    return parsed;
  };
}

/**
 * Failure reasons that mean the run could not test traversal at all (the invocation or the
 * environment is wrong), so the exit status is 2, not 1, when every trial ended with one.
 */
const ENVIRONMENT_REASONS = new Set(['unauthorized', 'signaling-unreachable', 'room-token-mismatch', 'too-many-rooms', 'too-many-peers', 'unsupported-protocol', 'trials-bad-options']);

export function registerTrials(program: Command, io: CliIo, run: (code: Promise<number>) => void): void {
  const command = program
    .command('trials')
    .description('Run N fresh pairings of two peers and measure traversal: success rate with a 95% CI, time to connect, pair types, failure reasons')
    .option('-n, --runs <n>', 'pairings to run', integerOption('--runs', 1, 1_000_000), 20)
    .option('-c, --concurrency <n>', 'pairings in flight at once', integerOption('--concurrency', 1, 256), TRIALS_DEFAULTS.concurrency)
    .option('--signal <url>', 'signaling server (ws:// or wss://); default: a built-in one on 127.0.0.1 with a built-in STUN server. Repeat it or separate URLs with commas for several instances sharing one Redis', signalUrlsOption)
    .option('--token <secret>', 'room secret the signaling server expects')
    .option('--auth-token <token>', `operator token for a signaling server started with --auth-secret (or set ${AUTH_TOKEN_ENV}); rooms are named trials-<random>-N, so mint a prefix token: nat-probe token --room-prefix trials-`)
    .option('--stun <host[:port]>', 'STUN server for server-reflexive candidates (default: the built-in one without --signal, none with it)')
    .option('--survey', 'check every candidate pair to the end, to see which pair types work (default: stop at the first nominated pair)')
    .option('--timeout <ms>', 'time bound of each peer session', integerOption('--timeout', 100, 600_000), TRIALS_DEFAULTS.timeoutMs)
    .option('--min-success <ratio>', 'exit 1 when the success rate is below this (0..1)', ratioOption('--min-success'), DEFAULT_MIN_SUCCESS)
    .option('--bind <address>', 'local address the peers bind (default: loopback when every server is on loopback, as the built-in ones are; else every interface)')
    .option('--json', 'NDJSON on stdout: one line per event, then the report (schema nat-probe.trials/v2) as the last line')
    .option('--all-events', 'with --json, also print each trial\'s ICE events (candidates, pair states), not only trial-started/trial-done')
    .option('--junit <file>', 'also write a JUnit XML report (one testcase per trial) to this file');
  addStrategyFlags(addTurnFlags(command))
    .addHelpText(
      'after',
      `
How it works:
  Each trial is a fresh pairing: two peer sessions join a room of their own on the signaling
  server, with new sockets and ICE credentials, gather candidates, and run RFC 8445
  connectivity checks. At most --concurrency trials run at once. The success rate comes with a
  95% Wilson score interval, so 20/20 reads "100%, CI 83.9%–100%", not a certainty.
  Without --signal everything runs in this process on loopback: a self-test of the machine
  and of nat-probe. With --signal (e.g. a \`nat-probe serve\` elsewhere) peers meet there.
  With --strategy every session of every trial runs the strategies; the summary counts
  which path won each trial (ice, predict, birthday, relay-*) and the probes and sockets
  they cost.

${STRATEGY_HELP}

Output:
  On a terminal: a live dashboard. Piped or in CI: one line per trial, then a summary table.
  --json: NDJSON on stdout, one event per line ({"type":"trial-done",...}), and the report
  ({"schema":"nat-probe.trials/v2",...}) as the last line:  nat-probe trials --json | tail -n1

Examples:
  nat-probe trials                                   20 built-in pairings on loopback
  nat-probe trials --runs 200 --concurrency 16 --min-success 0.99
  nat-probe trials --signal ws://203.0.113.1:8080/ --stun 203.0.113.1:3478 --survey
  nat-probe trials --json --junit trials.xml         for CI
  nat-probe trials --turn turn:127.0.0.1:3478 --turn-user u --turn-pass p --relay-only --survey
                                                     built-in servers, relayed through an external coturn
  nat-probe trials --signal ws://203.0.113.1:8080/ --stun 203.0.113.1:3478 --strategy all --runs 50
                                                     how often each strategy rescues a pairing

Exit codes: 0 success rate at or above --min-success (default 1: every trial connects),
1 below it or interrupted, 2 usage or environment error (e.g. the signaling server cannot be
reached). Ctrl-C (or SIGTERM) stops starting trials; those in flight finish, the report covers
them, and the exit status is 1. A second Ctrl-C ends at once.`,
    )
    .action((options: TrialsCommandOptions) => run(runTrialsCommand(options, io)));
}

/** `stop`: when it aborts, no new trial starts. Default: the first SIGINT or SIGTERM. */
export async function runTrialsCommand(options: TrialsCommandOptions, io: CliIo, stop?: AbortSignal): Promise<number> {
  if (stop) return runTrialsUntil(options, io, stop);
  const interrupt = interruptSignal();
  try {
    return await runTrialsUntil(options, io, interrupt.signal);
  } finally {
    interrupt.dispose();
  }
}

async function runTrialsUntil(options: TrialsCommandOptions, io: CliIo, stop: AbortSignal): Promise<number> {
  const mode = outputMode(io, options.json ?? false);
  const turnServers = turnServersFromFlags(withTurnCredentialsFromEnv(options, io.env));
  const traversal = traversalFromFlags(options);
  const stunServer = options.stun !== undefined ? await resolveStunOption(options.stun) : undefined;
  // Ink and React load only for a terminal: `--json` and CI runs start faster without them.
  const live = mode === 'ink' ? await startTrialsView(io, options.runs) : undefined;
  const onEvent = (event: TrialEvent | SourcedPeerEvent): void => {
    if (mode === 'json') writeLine(io.stdout, JSON.stringify(event));
    else if (live) live.update(event);
    else if (event.type === 'trial-started' || event.type === 'trial-done') {
      const line = formatTrialEventLine(event);
      if (line !== undefined) writeLine(io.stdout, line);
    }
  };
  let result: TrialsResult;
  try {
    result = await runTrials({
      runs: options.runs,
      concurrency: options.concurrency,
      ...(options.signal !== undefined ? { signalUrl: options.signal[0]!, signalFallbackUrls: options.signal.slice(1) } : {}),
      embeddedServers: startBuiltInServers,
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
      onEvent,
      // The dashboard shows a trial's candidates and pairs; plain lines and bare NDJSON do not need them.
      peerEvents: mode === 'ink' || (options.allEvents ?? false),
      signal: stop,
    });
  } catch (error) {
    await live?.abandon();
    throw error;
  }
  const report = buildTrialsReport(result, { version: VERSION, minSuccess: options.minSuccess });
  if (options.junit !== undefined) await writeJunit(options.junit, report);
  if (mode === 'json') writeLine(io.stdout, JSON.stringify(report));
  else if (live) await live.finish(report);
  else writeLine(io.stdout, (await import('../../report/trials-table.js')).renderTrialsTable(report));
  const environmentError = environmentFailure(report);
  if (environmentError) throw environmentError;
  return report.exitCode === 0 ? ExitCode.ok : ExitCode.failure;
}

/** When no trial connected and every one failed for an environment reason, the run tested nothing: exit 2. */
function environmentFailure(report: TrialsReport): NatProbeError | undefined {
  const { summary } = report;
  if (summary.succeeded > 0 || summary.runs === 0) return undefined;
  const reasons = summary.failureReasons.map((r) => r.reason);
  if (!reasons.every((reason) => ENVIRONMENT_REASONS.has(reason))) return undefined;
  return new NatProbeError(
    reasons[0]!,
    `Every trial failed before any check (${reasons.join(', ')}) using ${report.config.signalUrl}. Check --signal and --token, or run without --signal to use the built-in server.`,
  );
}

async function writeJunit(file: string, report: TrialsReport): Promise<void> {
  const { renderTrialsJunit } = await import('../../report/trials-junit.js');
  try {
    await writeFile(file, renderTrialsJunit(report), 'utf8');
  } catch (error) {
    throw new NatProbeError('junit-write-failed', `Cannot write the JUnit report to ${file}: ${(error as Error).message}. Check the path and permissions.`, { cause: error });
  }
}

async function startTrialsView(io: CliIo, planned: number): Promise<LiveView<TrialEvent | SourcedPeerEvent, TrialsReport>> {
  const [{ createElement }, { TrialsView }, { initialTrialsViewState, reduceTrialsEvent, withTrialsReport }] = await Promise.all([
    import('react'),
    import('../../ui/TrialsView.js'),
    import('../../ui/trials-state.js'),
  ]);
  return startLiveView(io, {
    initial: initialTrialsViewState(planned),
    reduce: reduceTrialsEvent,
    withReport: withTrialsReport,
    view: (state) => createElement(TrialsView, { state }),
  });
}
