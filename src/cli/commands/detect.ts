import { Option, type Command } from 'commander';
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
  analyseDoubleNat,
  withMappingEvidence,
  portMappingSkipReason,
  type PortMappingSummary,
} from '../../nat/index.js';
import { findDefaultGateway, probeGateway } from '../../gateway/index.js';
import { checkMappedPort, measureLifetime } from '../../nat/index.js';
import type { LifetimeReport } from '../../report/detect-report.js';
import { interruptSignal } from './peer.js';
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
  /** commander's negatable --no-portmap: false when given. */
  portmap: boolean;
  lifetime?: boolean;
  map?: boolean;
  /** Seconds. */
  lifetimeMax: number;
  lifetimeSearch: 'parallel' | 'sequential';
  lifetimeCase: 'one-way' | 'two-way' | 'both';
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
    .option('--no-portmap', 'do not ask the default gateway about NAT-PMP, PCP and UPnP')
    .option('--map', 'create one NAT-PMP mapping for the run (60 s), check that an unsolicited STUN answer arrives through it, then delete it; the double-NAT verdict takes the outcome as evidence')
    .option('--lifetime', 'also measure how long a UDP mapping survives silence, one-way and after two-way traffic (RFC 5780 §4.6; takes about the lifetime)')
    .option('--lifetime-max <s>', 'longest silence tested by --lifetime', integerOption('--lifetime-max', 4, 3600), 300)
    .addOption(
      new Option('--lifetime-case <which>', 'one-way (one exchange, then silence), two-way (traffic both ways first), or both')
        .choices(['one-way', 'two-way', 'both'])
        .default('both'),
    )
    .addOption(
      new Option('--lifetime-search <how>', 'parallel: many mappings at once (default); sequential: doubling then bisecting, one mapping at a time (the slow baseline)')
        .choices(['parallel', 'sequential'])
        .default('parallel'),
    )
    .option('--json', 'print one JSON document (schema nat-probe.detect/v2) on stdout; logs go to stderr')
    .addHelpText(
      'after',
      `
How it works:
  Several local sockets send STUN Binding requests to each server's two addresses and ports.
  If the public address stays the same whatever the destination, mapping is endpoint-independent.
  Fresh sockets then ask the server to answer from its other address (CHANGE-REQUEST); which
  answers get through tells the filtering. Every request is retransmitted, so one lost packet
  cannot flip the verdict; a behaviour without solid evidence is reported as inconclusive.

  At the same time, within the same --timeout, the default gateway is asked whether it speaks
  NAT-PMP (external address request), PCP (ANNOUNCE) and UPnP IGD (M-SEARCH to the gateway,
  then to the SSDP group; GetExternalIPAddress). Nothing is mapped. A gateway that states a
  private or 100.64/10 address, or another address than STUN saw, means double NAT. Skipped
  with --no-portmap, --embedded, or when every server is a loopback address.

  --lifetime makes many mappings at once, lets them go quiet, and after a different wait each
  asks the server (from another socket, with RESPONSE-PORT) to answer to the old mapping: the
  lifetime lies between the longest wait that was answered and the shortest that was not. It
  needs a server that honours RESPONSE-PORT (nat-probe serve, coturn) and runs about as long as
  the lifetime it finds (at most --lifetime-max, twice for the two-way case's extra exchange).

Examples:
  nat-probe                                   probe the built-in public servers
  nat-probe detect --server stun.example.org --server 198.51.100.7:3478
  nat-probe detect --embedded --json          self-test against a local server
  nat-probe detect --hairpin --family 4
  nat-probe detect --server stun.example.org --lifetime --lifetime-max 180

Exit codes: 0 verdict given, 1 UDP blocked, inconclusive (also: something answers but not
STUN) or --lifetime not measurable, 2 usage or environment error.`,
    )
    .action((options: DetectCommandOptions) => run(runDetect(options, io)));
}

export async function runDetect(options: DetectCommandOptions, io: CliIo): Promise<number> {
  if (options.map && !options.portmap) throw new NatProbeError('map-without-portmap', '--map needs the gateway probes; drop --no-portmap.');
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
    // The gateway is asked alongside the STUN tests, within the same budget; when the STUN
    // tests end, protocols that have not answered at all are given up, so a gateway that
    // ignores them never makes detect slower.
    const stunDone = new AbortController();
    const skip = portMappingSkipReason({
      embedded: embedded !== undefined,
      portmap: options.portmap,
      serverAddresses: plans.flatMap((plan) => plan.servers.map((s) => s.address.address)),
    });
    const portMapping: Promise<PortMappingSummary> | undefined = skip
      ? undefined
      : askGateway({ timeoutMs: options.timeout, quiet: stunDone.signal, bindAddress: options.bind, onEvent });
    const results: DetectResult[] = [];
    // Families run one after the other: their sockets and servers are independent, but running
    // them at once would interleave port allocations and muddle the port-allocation analysis.
    try {
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
    } finally {
      stunDone.abort();
    }
    let summary: PortMappingSummary = skip ? { status: 'skipped', because: skip } : await portMapping!;
    if (summary.status === 'probed') {
      const v4 = results.find((r) => r.family === 4);
      summary = { ...summary, doubleNat: analyseDoubleNat(summary.gateway, v4?.verdict.publicAddresses ?? []) };
      const server = v4?.servers.find((s) => s.reachable);
      if (options.map && server) {
        summary.map = summary.gateway.natPmp.present
          ? await checkMappedPort({ gateway: summary.gateway.gateway, server: { label: server.label, address: server.primary }, bindAddress: options.bind?.includes(':') ? undefined : options.bind })
          : { protocol: 'nat-pmp', created: false, error: 'the gateway does not speak NAT-PMP' };
        summary.doubleNat = withMappingEvidence(summary.doubleNat, summary.map);
      }
    }
    const lifetime = options.lifetime ? await runLifetime(options, results, io, mode, onEvent) : undefined;
    const report = buildDetectReport(results, { version: VERSION, startedAt, durationMs: performance.now() - t0, portMapping: summary, lifetime });
    if (mode === 'json') writeLine(io.stdout, JSON.stringify(report, null, 2));
    else if (live) await live.finish(report);
    else writeLine(io.stdout, (await import('../../report/detect-table.js')).renderDetectTable(report));
    return report.exitCode === 0 ? ExitCode.ok : ExitCode.failure;
  } finally {
    await embedded?.close();
  }
}

/** --lifetime against the first server that answered (IPv4 first); a failure goes in the report. */
async function runLifetime(
  options: DetectCommandOptions,
  results: readonly DetectResult[],
  io: CliIo,
  mode: ReturnType<typeof outputMode>,
  onEvent: (event: DetectEvent) => void,
): Promise<LifetimeReport> {
  const family = results.find((r) => r.family === 4) ?? results[0];
  const server = family?.servers.find((s) => s.reachable);
  if (!family || !server) return { status: 'failed', error: 'No server answered, so there is nothing to measure a mapping against.' };
  const interrupt = interruptSignal();
  try {
    const measured = await measureLifetime({
      server: { label: server.label, address: server.primary },
      maxMs: options.lifetimeMax * 1000,
      search: options.lifetimeSearch,
      cases: options.lifetimeCase === 'both' ? ['one-way', 'two-way'] : [options.lifetimeCase],
      bindAddress: options.bind,
      signal: interrupt.signal,
      onEvent: (event) => {
        onEvent(event);
        // Plain output: one line per tested mapping on stderr, so a long run shows it is alive.
        if (mode === 'plain' && event.type === 'lifetime-test') {
          writeLine(io.stderr, `lifetime: ${event.case} mapping ${event.alive ? 'alive' : 'gone'} after ${(event.waitMs / 1000).toFixed(1)} s of silence (${(event.at / 1000).toFixed(0)} s elapsed)`);
        }
      },
    });
    return { status: 'measured', ...measured };
  } catch (error) {
    if (error instanceof NatProbeError) return { status: 'failed', error: error.message };
    throw error;
  } finally {
    interrupt.dispose();
  }
}

async function askGateway(options: { timeoutMs: number; quiet: AbortSignal; bindAddress?: string; onEvent: (event: DetectEvent) => void }): Promise<PortMappingSummary> {
  const gateway = await findDefaultGateway();
  if (!gateway) return { status: 'no-gateway', because: 'no IPv4 default route (or not Linux): there is no gateway to ask' };
  // Bound to IPv4 only; a --bind address of the other family leaves the sockets on all interfaces.
  const bindAddress = options.bindAddress?.includes(':') ? undefined : options.bindAddress;
  const report = await probeGateway({ gateway: gateway.address, clientAddress: gateway.clientAddress, timeoutMs: options.timeoutMs, quiet: options.quiet, bindAddress, onEvent: options.onEvent });
  return { status: 'probed', gateway: report, doubleNat: { verdict: 'unknown', cgnLikely: false, evidence: [], meaning: '' } };
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
    withReport: (state, report) => withResults(state, report.results, report.portMapping, report.lifetime),
    view: (state) => createElement(DetectView, { state }),
  });
}

function chooseFamilies(requested: 'auto' | 4 | 6, specs: readonly ServerSpec[]): Array<4 | 6> {
  if (requested !== 'auto') return [requested];
  const onlyV6Literals = specs.every((spec) => spec.host.includes(':'));
  if (onlyV6Literals) return [6];
  return hasRoutableIpv6() ? [4, 6] : [4];
}
