import { writeFileSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import type { FieldEvent } from '../../field/events.js';
import type { FieldVisitResult } from '../../field/visit.js';
import type { FieldVisitReport } from '../../report/field-report.js';
import { VERSION } from '../../version.js';
import { ExitCode } from '../exit-codes.js';
import { outputMode, writeLine, type CliIo } from '../io.js';
import { integerOption, parseHostPort } from '../options.js';
import { addTurnFlags, turnServersFromFlags, withTurnCredentialsFromEnv, type TurnFlags } from '../turn-flags.js';
import { interruptSignal, resolveStunOption } from './peer.js';
import type { LiveView } from '../live-view.js';

export interface FieldCommandOptions extends TurnFlags {
  listen?: { host: string; port: number };
  publicUrl?: string;
  stun?: string[];
  stunPort: number;
  visits?: number;
  linkVisits: number;
  ttl: number;
  iceRole: 'controlling' | 'controlled' | 'alternate';
  visitTimeout: number;
  bind?: string;
  json?: boolean;
  html?: string;
}

export const FIELD_DEFAULT_LISTEN = { host: '127.0.0.1', port: 8480 } as const;

/** --listen host:port ([v6]:port too). */
export function listenOption(value: string): { host: string; port: number } {
  const parsed = parseHostPort(value);
  if (parsed === undefined) throw new InvalidArgumentError(`--listen must be HOST:PORT such as 127.0.0.1:8480 or [::1]:8480, got "${value}".`);
  return parsed;
}

function publicUrlOption(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError(`--public-url must be a URL such as https://probe.example.com, got "${value}".`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidArgumentError(`--public-url must start with http:// or https://, got "${value}".`);
  return url.href.replace(/\/+$/, '');
}

function roleOption(value: string): FieldCommandOptions['iceRole'] {
  if (value !== 'controlling' && value !== 'controlled' && value !== 'alternate') throw new InvalidArgumentError(`--ice-role must be controlling, controlled or alternate, got "${value}".`);
  return value;
}

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

export function registerField(program: Command, io: CliIo, run: (code: Promise<number>) => void): void {
  const command = program
    .command('field')
    .description("Serve a link for a customer to open: their browser's own WebRTC runs ICE against nat-probe, and the answer appears here live")
    .option('--listen <host:port>', 'address of the HTTP server for the page (and its signaling, on /signal/<visit>) (default: 127.0.0.1:8480)', listenOption)
    .option('--public-url <url>', 'the base URL the customer reaches, when it differs from --listen (a proxy, a public name)', publicUrlOption)
    .option('--stun <host[:port]>', 'STUN server for the page and nat-probe (repeat it: the page compares the ports different servers see); default the built-in RFC 5780 server', collect)
    .option('--stun-port <port>', 'UDP port of the built-in STUN server (its alternate uses port + 1; 0 picks free ones)', integerOption('--stun-port', 0, 65534), 3478)
    .option('--visits <n>', 'exit after this many visits (default: keep serving, a new link after each)', integerOption('--visits', 1, 10_000))
    .option('--link-visits <n>', 'visits one link serves', integerOption('--link-visits', 1, 1_000), 1)
    .option('--ttl <seconds>', 'lifetime of each link', integerOption('--ttl', 10, 7 * 86_400), 3_600)
    .option('--ice-role <role>', "nat-probe's ICE role: controlling, controlled, or alternate (switch every visit)", roleOption, 'controlling')
    .option('--visit-timeout <ms>', 'bound on one visit, from opening the link to the report', integerOption('--visit-timeout', 5_000, 600_000), 30_000)
    .option('--bind <address>', "local address for nat-probe's ICE sockets (default: every interface)")
    .option('--json', 'NDJSON on stdout: each visit\'s events, then its report (schema nat-probe.field-visit/v1)')
    .option('--html <file>', 'write a self-contained HTML report per visit (v2 onwards get -v2, -v3 … before the extension)');
  addTurnFlags(command)
    .addHelpText(
      'after',
      `
What the customer's page does (it says so itself, in one sentence):
  1. gathers candidates with each STUN server (and TURN, if given): the ports different servers
     see from one socket tell whether the customer's NAT maps endpoint-independently; it also
     notices when mDNS (.local names) hides the host addresses;
  2. runs ICE from the browser's own WebRTC stack against a nat-probe peer in this process,
     which checks every candidate pair (as peer --survey): pair types, RTT, why each failed;
  3. shows the customer one plain sentence ("Direct connections work…", "…needs a relay…").
  Only ICE is tested: nat-probe does not speak DTLS, so the browser's DTLS handshake that
  follows never completes; the page ignores it and judges from ICE state and getStats().
  The page sends the browser's addresses, its user agent and the test results to this server
  only. With TURN, prefer --turn-secret: each page gets its own credentials, valid 1 h (or
  --turn-ttl); --turn-user/--turn-pass are handed to the customer's browser as they are. Links are random 128-bit tokens, expire after --ttl, serve --link-visits visits, and
  anything else is a plain 404.

Examples:
  nat-probe field                                          link on http://127.0.0.1:8480
  nat-probe field --listen 0.0.0.0:8480 --public-url http://203.0.113.1:8480 --stun-port 3478
  nat-probe field --listen 0.0.0.0:8480 --turn turn:203.0.113.1:3478 --turn-secret "$S" --visits 1 --json
  nat-probe field --visits 1 --html visit.html

Exit codes: 0 every visit connected (directly or through a relay), 1 a visit did not,
2 usage or environment error (e.g. the port is taken). Ctrl-C stops serving.`,
    )
    .action((options: FieldCommandOptions) => run(runField(options, io)));
}

export async function runField(options: FieldCommandOptions, io: CliIo): Promise<number> {
  const listen = options.listen ?? FIELD_DEFAULT_LISTEN;
  const flags = withTurnCredentialsFromEnv(options, io.env);
  if (flags.relayOnly === true || flags.directOnly === true) {
    writeLine(io.stderr, 'nat-probe: --relay-only and --direct-only do not apply to field: the page and nat-probe gather with every server given.');
    return ExitCode.usage;
  }
  const turnServers = turnServersFromFlags(flags);
  const stunServers = options.stun !== undefined ? await Promise.all(options.stun.map(resolveStunOption)) : undefined;
  const mode = outputMode(io, options.json ?? false);
  const [{ startFieldServer }, { buildFieldVisitReport }, { formatFieldEventLine, renderFieldVisitSummary }] = await Promise.all([
    import('../../field/server.js'),
    import('../../report/field-report.js'),
    import('../../report/field-lines.js'),
  ]);
  const live = mode === 'ink' ? await startFieldView(io) : undefined;
  const onEvent = (event: FieldEvent): void => {
    if (mode === 'json') writeLine(io.stdout, JSON.stringify(event));
    else if (live !== undefined) live.update(event);
    else {
      const line = formatFieldEventLine(event);
      if (line !== undefined) writeLine(io.stdout, line);
    }
  };

  const interrupt = interruptSignal();
  let ended = 0;
  let failed = 0;
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
    interrupt.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  let server: Awaited<ReturnType<typeof startFieldServer>> | undefined;
  const announce = (): void => {
    if (server === undefined) return;
    const link = server.issueLink();
    onEvent({ type: 'field-listening', at: 0, link: link.url, expiresAt: link.expiresAt.toISOString(), visits: options.linkVisits });
  };
  let served = 0;
  const writes: Promise<void>[] = [];
  const onVisitEnd = (result: FieldVisitResult): void => {
    const report: FieldVisitReport = buildFieldVisitReport(result, VERSION);
    ended += 1;
    if (report.exitCode !== 0) failed += 1;
    if (mode === 'json') writeLine(io.stdout, JSON.stringify(report));
    else if (live !== undefined) live.report(report);
    else writeLine(io.stdout, renderFieldVisitSummary(report));
    if (options.html !== undefined) writes.push(writeHtml(options.html, report, ended, io));
    if (options.visits !== undefined && ended >= options.visits) finish();
  };
  try {
    server = await startFieldServer({
      host: listen.host,
      port: listen.port,
      ...(options.publicUrl !== undefined ? { publicUrl: options.publicUrl } : {}),
      ...(stunServers !== undefined ? { stunServers } : {}),
      stunPort: options.stunPort,
      ...(turnServers !== undefined ? { turnServers } : {}),
      natProbeRole: options.iceRole,
      ttlMs: options.ttl * 1000,
      visitsPerLink: options.linkVisits,
      visitTimeoutMs: options.visitTimeout,
      ...(options.bind !== undefined ? { bindAddress: options.bind } : {}),
      onEvent: (event) => {
        onEvent(event);
        // A link whose visits are used up is replaced, while more visits are wanted.
        if (event.type === 'field-visit-started') {
          served += 1;
          const wanted = options.visits === undefined || served < options.visits;
          if (wanted && served % options.linkVisits === 0) announce();
        }
      },
      onVisitEnd,
    });
  } catch (error) {
    interrupt.dispose();
    await live?.abandon();
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      writeLine(io.stderr, `nat-probe: cannot listen (${code}): ${(error as Error).message}. Choose another --listen or --stun-port (0 picks a free one).`);
      return ExitCode.usage;
    }
    throw error;
  }
  announce();
  await finished;
  interrupt.dispose();
  await server.close();
  await Promise.all(writes);
  await live?.finish();
  return failed > 0 ? ExitCode.failure : ExitCode.ok;
}

/** The HTML file of visit n: the given name for the first, `-v<n>` before the extension after. */
export function htmlPathFor(file: string, n: number): string {
  if (n === 1) return file;
  const dot = file.lastIndexOf('.');
  return dot > file.lastIndexOf('/') ? `${file.slice(0, dot)}-v${n}${file.slice(dot)}` : `${file}-v${n}`;
}

async function writeHtml(file: string, report: FieldVisitReport, n: number, io: CliIo): Promise<void> {
  const { renderFieldVisitHtml } = await import('../../report/field-html.js');
  const path = htmlPathFor(file, n);
  try {
    writeFileSync(path, renderFieldVisitHtml(report));
  } catch (error) {
    writeLine(io.stderr, `nat-probe: could not write ${path}: ${(error as Error).message}`);
  }
}

interface FieldLiveView extends Omit<LiveView<FieldEvent, FieldVisitReport>, 'finish'> {
  report(report: FieldVisitReport): void;
  finish(): Promise<void>;
}

async function startFieldView(io: CliIo): Promise<FieldLiveView> {
  const [{ createElement }, { FieldView }, { initialFieldViewState, reduceFieldEvent, withFieldReport }, { startLiveView }] = await Promise.all([
    import('react'),
    import('../../ui/FieldView.js'),
    import('../../ui/field-state.js'),
    import('../live-view.js'),
  ]);
  // The live view folds reports like events: a visit's report is one more thing to draw.
  type Input = { kind: 'event'; event: FieldEvent } | { kind: 'report'; report: FieldVisitReport };
  const view = await startLiveView<ReturnType<typeof initialFieldViewState>, Input, null>(io, {
    initial: initialFieldViewState(),
    reduce: (state, input) => (input.kind === 'event' ? reduceFieldEvent(state, input.event) : withFieldReport(state, input.report)),
    withReport: (state) => state,
    view: (state) => createElement(FieldView, { state }),
  });
  return {
    update: (event) => view.update({ kind: 'event', event }),
    report: (report) => view.update({ kind: 'report', report }),
    finish: () => view.finish(null),
    abandon: () => view.abandon(),
  };
}
