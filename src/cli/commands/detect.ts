import type { Command } from 'commander';
import type { DetectEvent } from '../../events.js';
import {
  DEFAULT_PUBLIC_SERVERS,
  detectNat,
  hasRoutableIpv6,
  parseServerSpec,
  resolveServer,
  type DetectResult,
  type ResolvedServer,
  type ServerSpec,
} from '../../nat/index.js';
import { buildDetectReport, type DetectReport } from '../../report/detect-report.js';
import { startStunServer } from '../../server/index.js';
import { formatTransportAddress } from '../../stun/index.js';
import { VERSION } from '../../version.js';
import { ExitCode } from '../exit-codes.js';
import { outputMode, writeLine, type CliIo } from '../io.js';
import { startLiveView, type LiveView } from '../live-view.js';
import { collect, familyOption, integerOption } from '../options.js';
import { NatProbeError } from '../../errors.js';

export interface DetectCommandOptions {
  server?: string[];
  embedded?: boolean;
  family: 'auto' | 4 | 6;
  hairpin?: boolean;
  timeout: number;
  sockets: number;
  attempts: number;
  bind?: string;
  json?: boolean;
}

export function registerDetect(program: Command, io: CliIo, run: (code: Promise<number>) => void): void {
  program
    .command('detect', { isDefault: true })
    .description('Find out what NAT this host is behind (RFC 5780 mapping, filtering, port allocation, hairpinning)')
    .option('-s, --server <host[:port]>', 'STUN server to probe; repeat for several (default: built-in public list)', collect)
    .option('--embedded', 'start the built-in RFC 5780 server on 127.0.0.1/127.0.0.2 and probe it (a self-test)')
    .option('--family <4|6|auto>', 'IP family to test; auto tests IPv6 too when this host has a routable IPv6 address', familyOption, 'auto')
    .option('--hairpin', 'also test hairpinning (off by default: some firewalls flag it as an attack)')
    .option('--timeout <ms>', 'overall cap on the run', integerOption('--timeout', 100, 120_000), 5000)
    .option('--sockets <n>', 'local sockets used for the mapping tests', integerOption('--sockets', 1, 16), 3)
    .option('--attempts <n>', 'sends per probe before "no answer" is believed', integerOption('--attempts', 1, 10), 4)
    .option('--bind <address>', 'local address to bind (default: all interfaces)')
    .option('--json', 'print one JSON document (schema nat-probe.detect/v1) on stdout; logs go to stderr')
    .addHelpText(
      'after',
      `
How it works:
  Several local sockets send STUN Binding requests to each server's two addresses and ports.
  If the public address stays the same whatever the destination, mapping is endpoint-independent.
  Fresh sockets then ask the server to answer from its other address (CHANGE-REQUEST); which
  answers get through tells the filtering. Every request is retransmitted, so one lost packet
  cannot flip the verdict; a behaviour without solid evidence is reported as inconclusive.

Examples:
  nat-probe                                   probe the built-in public servers
  nat-probe detect --server stun.example.org --server 198.51.100.7:3478
  nat-probe detect --embedded --json          self-test against a local server
  nat-probe detect --hairpin --family 4

Exit codes: 0 verdict given, 1 UDP blocked or inconclusive, 2 usage or environment error.`,
    )
    .action((options: DetectCommandOptions) => run(runDetect(options, io)));
}

export async function runDetect(options: DetectCommandOptions, io: CliIo): Promise<number> {
  const mode = outputMode(io, options.json ?? false);
  const startedAt = new Date();
  const t0 = performance.now();
  const embedded = options.embedded ? await startStunServer({ primary: '127.0.0.1', alternate: '127.0.0.2', port: 0, rateLimit: false }) : undefined;
  try {
    const specs: ServerSpec[] = embedded
      ? [{ label: `embedded ${formatTransportAddress(embedded.addresses.primary)}`, host: embedded.addresses.primary.address, port: embedded.addresses.primary.port }]
      : options.server && options.server.length > 0
        ? options.server.map(parseServerSpec)
        : [...DEFAULT_PUBLIC_SERVERS];
    const families = chooseFamilies(options.family, specs);
    const plans: Array<{ family: 4 | 6; servers: ResolvedServer[] }> = [];
    for (const family of families) {
      const resolved = (await Promise.all(specs.map((spec) => resolveServer(spec, family)))).filter((s): s is ResolvedServer => s !== undefined);
      if (resolved.length > 0) plans.push({ family, servers: resolved });
      else if (options.family === family) {
        throw new NatProbeError('no-server-for-family', `None of the servers has an IPv${family} address. Give one with --server.`);
      }
    }
    if (plans.length === 0) throw new NatProbeError('no-server', 'No STUN server could be resolved. Check your DNS, or give an address with --server.');

    // Ink and React load only for a terminal: `--json` and CI runs start faster without them.
    const live = mode === 'ink' ? await startDetectView(io) : undefined;
    const onEvent = (event: DetectEvent): void => live?.update(event);
    const results: DetectResult[] = [];
    // Families run one after the other: their sockets and servers are independent, but running
    // them at once would interleave port allocations and muddle the port-allocation analysis.
    for (const plan of plans) {
      results.push(
        await detectNat({
          servers: plan.servers,
          hairpin: options.hairpin ?? false,
          timeoutMs: options.timeout,
          mappingSockets: options.sockets,
          attempts: options.attempts,
          bindAddress: options.bind,
          onEvent,
        }),
      );
    }
    const report = buildDetectReport(results, { version: VERSION, startedAt, durationMs: performance.now() - t0 });
    if (mode === 'json') writeLine(io.stdout, JSON.stringify(report, null, 2));
    else if (live) await live.finish(report);
    else writeLine(io.stdout, (await import('../../report/detect-table.js')).renderDetectTable(report));
    return report.exitCode === 0 ? ExitCode.ok : ExitCode.failure;
  } finally {
    await embedded?.close();
  }
}

async function startDetectView(io: CliIo): Promise<LiveView<DetectEvent, DetectReport>> {
  const [{ createElement }, { DetectView }, { initialDetectViewState, reduceDetectEvent, withResults }] = await Promise.all([
    import('react'),
    import('../../ui/DetectView.js'),
    import('../../ui/detect-state.js'),
  ]);
  return startLiveView(io, {
    initial: initialDetectViewState,
    reduce: reduceDetectEvent,
    withReport: (state, report) => withResults(state, report.results),
    view: (state) => createElement(DetectView, { state }),
  });
}

function chooseFamilies(requested: 'auto' | 4 | 6, specs: readonly ServerSpec[]): Array<4 | 6> {
  if (requested !== 'auto') return [requested];
  const onlyV6Literals = specs.every((spec) => spec.host.includes(':'));
  if (onlyV6Literals) return [6];
  return hasRoutableIpv6() ? [4, 6] : [4];
}
