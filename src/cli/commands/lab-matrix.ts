/**
 * `nat-probe lab matrix` (every pair of NAT types: detect verdicts and traversal trials against
 * theory) and its hidden peer worker `nat-probe lab _peer`, which the matrix runs in each client
 * namespace. Registered on the `lab` command by src/cli/commands/lab.ts.
 */
import { writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { InvalidArgumentError, type Command } from 'commander';
import { NatProbeError } from '../../errors.js';
import type { LabMatrixEvent } from '../../events.js';
import type { TranslatingNatType } from '../../lab/nat-types.js';
import type { PeerTurnServer } from '../../peer/session.js';
import { MATRIX_DEFAULTS, parseCgnType, parseTypeList } from '../../lab/matrix-plan.js';
import type { MatrixResult, MatrixVariant } from '../../lab/matrix-types.js';
import { ICE_VARIANT, parseStrategyVariants } from '../../lab/matrix-variants.js';
import { WORKER_GO, type WorkerLine } from '../../lab/matrix-worker-lines.js';
import { buildLabMatrixReport, type LabMatrixReport } from '../../report/lab-matrix-report.js';
import { formatLabMatrixEventLine } from '../../report/lab-matrix-lines.js';
import { VERSION } from '../../version.js';
import { ExitCode } from '../exit-codes.js';
import { outputMode, writeLine, type CliIo } from '../io.js';
import { startLiveView, type LiveView } from '../live-view.js';
import { integerOption } from '../options.js';
import { turnUrlOption } from '../turn-flags.js';
import { interruptSignal, resolveStunOption, signalUrlOption } from './peer.js';

export interface LabMatrixOptions {
  types: string;
  runs: number;
  turn?: boolean;
  loss: number;
  delay: number;
  jitter: number;
  cgn?: string;
  concurrency: number;
  json?: boolean;
  html?: string;
  prefix: string;
  strategy: string;
}

export function registerLabMatrix(lab: Command, io: CliIo, run: (code: Promise<number>) => void): void {
  lab
    .command('matrix')
    .description('Every pair of NAT types in its own lab: detect on each side against the type built, direct (and relay) trials against hole-punching theory')
    .option('--types <list>', 'comma-separated NAT types, or "all"', 'all')
    .option('-n, --runs <n>', 'trials per cell (and as many relay-only trials with --turn)', integerOption('--runs', 1, 1000), MATRIX_DEFAULTS.runs)
    .option('--turn', 'also start coturn in every cell and run relay-only trials through it')
    .option('--loss <pct>', 'drop this percentage of packets at every client access hop', integerOption('--loss', 0, 100), 0)
    .option('--delay <ms>', 'one-way delay at every client access hop, each direction (peers 4×ms apart; needs python3)', integerOption('--delay', 0, 5000), 0)
    .option('--jitter <ms>', 'vary each packet\'s delay by ±ms (at most --delay, no reordering)', integerOption('--jitter', 0, 5000), 0)
    .option('--cgn <type>', 'put side A behind a carrier-grade NAT of this type (cells become ordered pairs)')
    .option('--strategy <list>', 'comma-separated variants run side by side in every cell: ice, predict, birthday, relay-ladder, portmap, all', 'ice')
    .option('-c, --concurrency <k>', 'cells at once (each is its own lab)', integerOption('--concurrency', 1, 64), MATRIX_DEFAULTS.concurrency)
    .option('--json', 'one JSON document (schema nat-probe.lab-matrix/v2) on stdout; progress on stderr')
    .option('--html <file>', 'also write a self-contained HTML report (heatmap, time-to-connect distributions, detect verdicts, differences from theory)')
    .option('--prefix <prefix>', 'namespace prefix of every cell\'s lab', 'np-')
    .addHelpText(
      'after',
      `
How it works:
  For every pair of types (unordered, each type with itself: 36 cells for all eight; ordered
  with --cgn, which applies to side A) a lab is built with nat-probe serve (and coturn with
  --turn) in its public namespace. detect runs in each client namespace and must give the
  mapping, filtering and classic name the type was built with. Then one peer worker per side
  runs --runs sessions (rooms direct-1…N, then relay-1…N relay-only with --turn). Theory is the
  RFC 4787 hole-punching table (LAB-NOTES.md, src/lab/expected.ts): a cell matches when every
  trial went the way theory says, and every relayed trial connects.

Strategy variants (--strategy):
  Each element is one variant, run --runs times in every cell of the same run, trial by trial
  (trial i of every variant before trial i+1): ice is plain ICE, predict / birthday /
  relay-ladder add that strategy, all adds every one. Per cell and variant the report gives
  successes/runs, the uplift against ice (points and relative), p50 time to connect, probes
  and sockets per trial (median), and the plan (technique, reason, probability); a cell no
  technique reaches shows as relay-only. A strategy variant must not lose a trial where theory
  says plain ICE connects; what it rescues elsewhere is uplift. The overall success of each
  variant is also weighted by a published distribution of NAT types (src/lab/nat-mix.ts).
  portmap (and all) need a gateway that maps ports: when any variant asks for it, every
  cell's NAT routers run miniupnpd (NAT-PMP, as lab up --portmap), for every variant of the
  run alike (plain ICE asks it nothing); the report adds each portmap variant's mappings
  (mapped/asked, advertised, deleted, time to map). miniupnpd must be installed.

Output:
  A live grid on a terminal; otherwise progress lines on stderr and a table on stdout.

Examples:
  sudo nat-probe lab matrix                                   all 36 cells
  sudo nat-probe lab matrix --types none,port-restricted,symmetric --runs 5 --html lab.html
  sudo nat-probe lab matrix --types port-restricted --cgn symmetric
  sudo nat-probe lab matrix --turn --json > matrix.json
  sudo nat-probe lab matrix --types port-restricted,symmetric --delay 25   peers 100 ms apart
  sudo nat-probe lab matrix --strategy ice,predict,birthday,all --runs 20 --html strategies.html
  sudo nat-probe lab matrix --strategy ice,portmap,all --runs 5     miniupnpd in every router

Exit codes: 0 measured matches theory in every cell and every detect verdict is right, 1 a
difference (or an interrupted run), 2 usage or environment error (not root, a tool missing,
an unknown type or strategy).`,
    )
    .action((options: LabMatrixOptions) => run(runLabMatrixCommand(options, io)));

  lab
    .command('_peer', { hidden: true })
    .description('internal: one side of a lab matrix cell, N peer sessions in a row (see src/lab/matrix-worker-lines.ts)')
    .requiredOption('--signal <url>', 'signaling server', signalUrlOption)
    .requiredOption('--stun <host:port>', 'STUN server')
    .requiredOption('--runs <n>', 'sessions', integerOption('--runs', 1, 1000))
    .requiredOption('--timeout <ms>', 'bound of each session', integerOption('--timeout', 100, 600_000))
    .option('--turn <url>', 'TURN server for the relay-only sessions that follow the direct ones', turnUrlOption('--turn'))
    .option('--turn-secret <secret>', 'TURN REST API secret (coturn use-auth-secret)')
    .option('--relay-timeout <ms>', 'bound of each relay-only session (default: --timeout)', integerOption('--relay-timeout', 100, 600_000))
    .option('--variants <list>', '`lab matrix --strategy` variants; each direct trial runs once per variant (default: ice)')
    .option('--strategy-timeout <ms>', 'bound of each strategy variant\'s session (default: --timeout)', integerOption('--strategy-timeout', 100, 600_000))
    .action((options: PeerWorkerOptions) => run(runPeerWorker(options, io)));
}

/** CLI strings → the runner's typed options; bad input is a LabSpecError or StrategyNameError (exit 2). */
function parseMatrixOptions(options: LabMatrixOptions): { types: ReturnType<typeof parseTypeList>; cgn: TranslatingNatType | undefined; variants: MatrixVariant[] } {
  return {
    types: parseTypeList(options.types),
    cgn: options.cgn === undefined ? undefined : parseCgnType(options.cgn),
    variants: parseStrategyVariants(options.strategy ?? ICE_VARIANT.name),
  };
}

export async function runLabMatrixCommand(options: LabMatrixOptions, io: CliIo, stop?: AbortSignal): Promise<number> {
  const { types, cgn, variants } = parseMatrixOptions(options);
  const interrupt = stop === undefined ? interruptSignal() : undefined;
  const signal = stop ?? interrupt!.signal;
  const mode = outputMode(io, options.json ?? false);
  const { runMatrix } = await import('../../lab/matrix.js');
  const live = mode === 'ink' ? await startMatrixView(io) : undefined;
  const onEvent = (event: LabMatrixEvent): void => {
    if (live) live.update(event);
    else {
      // Progress goes to stderr so stdout holds only the table or the JSON document.
      const line = formatLabMatrixEventLine(event);
      if (line !== undefined) writeLine(io.stderr, line);
    }
  };
  let result: MatrixResult;
  try {
    result = await runMatrix({
      types,
      ...(cgn !== undefined ? { cgn } : {}),
      runs: options.runs,
      turn: options.turn ?? false,
      lossPercent: options.loss,
      delayMs: options.delay ?? 0,
      jitterMs: options.jitter ?? 0,
      concurrency: options.concurrency,
      prefix: options.prefix,
      variants,
      onEvent,
      signal,
    });
  } catch (error) {
    await live?.abandon();
    throw error;
  } finally {
    interrupt?.dispose();
  }
  const report = buildLabMatrixReport(result, { version: VERSION });
  if (options.html !== undefined) await writeHtml(options.html, report);
  if (mode === 'json') writeLine(io.stdout, JSON.stringify(report));
  else if (live) await live.finish(report);
  else writeLine(io.stdout, (await import('../../report/lab-matrix-table.js')).renderLabMatrixTable(report));
  return report.exitCode === 0 ? ExitCode.ok : ExitCode.failure;
}

async function writeHtml(file: string, report: LabMatrixReport): Promise<void> {
  const { renderLabMatrixHtml } = await import('../../report/lab-matrix-html.js');
  try {
    await writeFile(file, renderLabMatrixHtml(report), 'utf8');
  } catch (error) {
    throw new NatProbeError('html-write-failed', `Cannot write the HTML report to ${file}: ${(error as Error).message}. Check the path and permissions.`, { cause: error });
  }
}

async function startMatrixView(io: CliIo): Promise<LiveView<LabMatrixEvent, LabMatrixReport>> {
  const [{ createElement }, { LabMatrixView }, { initialLabMatrixState, reduceLabMatrixEvent, withLabMatrixReport }] = await Promise.all([
    import('react'),
    import('../../ui/LabMatrixView.js'),
    import('../../ui/lab-matrix-state.js'),
  ]);
  return startLiveView(io, {
    initial: initialLabMatrixState(),
    reduce: reduceLabMatrixEvent,
    withReport: withLabMatrixReport,
    view: (state) => createElement(LabMatrixView, { state }),
  });
}

// ---- the worker ----------------------------------------------------------------------------

export interface PeerWorkerOptions {
  signal: string;
  stun: string;
  runs: number;
  timeout: number;
  turn?: string;
  turnSecret?: string;
  relayTimeout?: number;
  variants?: string;
  strategyTimeout?: number;
}

/** How long a worker waits for "go" before giving up: the runner sends it within its own start-up bound. */
const GO_BOUND_MS = 60_000;

function waitForGo(): Promise<void> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: process.stdin });
    const timer = setTimeout(() => finish(new NatProbeError('lab-worker-no-go', `No "${WORKER_GO}" on stdin within ${GO_BOUND_MS} ms; this command is run by \`nat-probe lab matrix\`.`)), GO_BOUND_MS);
    let settled = false;
    const finish = (error?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) reject(error);
      else resolve();
      // After settling: close() emits 'close' synchronously, which must not count as "no go".
      lines.close();
    };
    lines.on('line', (line) => {
      if (line.trim() === WORKER_GO) finish();
    });
    lines.on('close', () => finish(new NatProbeError('lab-worker-no-go', `stdin closed before "${WORKER_GO}"; this command is run by \`nat-probe lab matrix\`.`)));
  });
}

export async function runPeerWorker(options: PeerWorkerOptions, io: CliIo): Promise<number> {
  if ((options.turn === undefined) !== (options.turnSecret === undefined)) throw new InvalidArgumentError('--turn and --turn-secret go together.');
  const variants = parseStrategyVariants(options.variants ?? ICE_VARIANT.name);
  const stunServer = await resolveStunOption(options.stun);
  // Load the session code before saying ready, so "ready" means start-up is over.
  const [{ runRepeatedSessions }, { runVariantSessions }] = await Promise.all([import('../../peer/repeat.js'), import('../../lab/matrix-worker.js')]);
  const say = (line: WorkerLine): void => writeLine(io.stdout, JSON.stringify(line));
  say({ type: 'ready', startupMs: Math.round(performance.now() * 10) / 10 });
  await waitForGo();
  // Direct sessions never use TURN, even if a signaling server offered it: they measure hole punching.
  const base = { signalUrl: options.signal, stunServer, mode: 'connect' as const, useSignaledIceServers: false };
  const session = { ...base, timeoutMs: options.timeout };
  await runVariantSessions({
    runs: options.runs,
    variants,
    session: base,
    timeoutMs: options.timeout,
    strategyTimeoutMs: options.strategyTimeout ?? options.timeout,
    // Plain ICE lines carry no variant, as before variants existed.
    onRecord: (variant, record) => say({ type: 'session', kind: 'direct', ...(variant.name === ICE_VARIANT.name ? {} : { variant: variant.name }), record }),
  });
  if (options.turn !== undefined) {
    const relaySession = relaySessionOptions({ ...session, timeoutMs: options.relayTimeout ?? options.timeout }, options.turn, options.turnSecret!);
    await runRepeatedSessions({ runs: options.runs, roomPrefix: 'relay', session: relaySession, onRecord: (record) => say({ type: 'session', kind: 'relay', record }) });
  }
  say({ type: 'done' });
  return ExitCode.ok;
}

/**
 * Relay-only sessions (iceTransportPolicy "relay") through the lab's coturn, with TURN REST API
 * credentials made from its secret: every pair then runs through an allocation (RFC 8656), so
 * the trial measures the relay, whatever the NATs allow directly.
 */
function relaySessionOptions<T extends object>(session: T, url: string, secret: string): T & { turnServers: PeerTurnServer[]; relayOnly: true; useSignaledIceServers: false } {
  return { ...session, turnServers: [{ url, secret, secretUser: 'lab-matrix' }], relayOnly: true, useSignaledIceServers: false };
}
