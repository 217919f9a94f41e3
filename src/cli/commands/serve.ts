import type { Command } from 'commander';
import { startStunServer, type StunServer } from '../../server/index.js';
import { startSignalingServer, type SignalingServer } from '../../signaling/index.js';
import { formatTransportAddress, parseIp } from '../../stun/index.js';
import { ExitCode } from '../exit-codes.js';
import { writeLine, type CliIo } from '../io.js';
import { integerOption } from '../options.js';

export interface ServeCommandOptions {
  primary: string;
  alternate?: string | false;
  port: number;
  alternatePort?: number;
  rateLimit: number;
  signal: boolean;
  signalHost?: string;
  signalPort: number;
  json?: boolean;
}

/** Version of the one-line `serve --json` announcement. */
export const SERVE_SCHEMA = 'nat-probe.serve/v1';

export function registerServe(program: Command, io: CliIo, run: (code: Promise<number>) => void): void {
  program
    .command('serve')
    .description('Run the built-in STUN server (RFC 8489, RFC 5780 with an alternate address) and the WebSocket signaling server')
    .option('--primary <address>', 'primary IP address to listen on', '127.0.0.1')
    .option('--alternate <address>', 'alternate IP address for RFC 5780 (default 127.0.0.2 when the primary is 127.0.0.1)')
    .option('--no-alternate', 'serve plain RFC 8489 on one address')
    .option('--port <port>', 'primary UDP port (0 picks a free one)', integerOption('--port', 0, 65535), 3478)
    .option('--alternate-port <port>', 'alternate UDP port (default: port + 1)', integerOption('--alternate-port', 1, 65535))
    .option('--rate-limit <n>', 'requests per second allowed from each source IP (0 turns the limit off)', integerOption('--rate-limit', 0, 10_000_000), 200)
    .option('--signal-host <address>', 'address for the WebSocket signaling server (default: the primary address)')
    .option('--signal-port <port>', 'TCP port for the signaling server (0 picks a free one)', integerOption('--signal-port', 0, 65535), 8478)
    .option('--no-signal', 'run the STUN server only')
    .option('--json', 'announce the listening addresses as one JSON line on stdout; logs go to stderr')
    .addHelpText(
      'after',
      `
RFC 5780 needs two IP addresses on this host. On loopback, 127.0.0.1 and 127.0.0.2 both work
with no set-up, which is the default. Clients learn the alternate address from OTHER-ADDRESS.

The signaling server pairs two peers per room for "nat-probe peer" and "nat-probe trials"
(protocol: src/signaling/PROTOCOL.md). Peers on other machines need it on a reachable address.

Examples:
  nat-probe serve                                   STUN 127.0.0.1:3478 + 127.0.0.2:3479, ws://127.0.0.1:8478
  nat-probe serve --primary 203.0.113.1 --alternate 203.0.113.2
  nat-probe serve --primary 0.0.0.0 --no-alternate  plain STUN on every interface

Stop with Ctrl-C (SIGINT) or SIGTERM; the request counters are printed on stderr.`,
    )
    .action((options: ServeCommandOptions) => run(runServe(options, io)));
}

export async function runServe(options: ServeCommandOptions, io: CliIo, stop: Promise<unknown> = untilSignal()): Promise<number> {
  const alternate = options.alternate === false ? undefined : (options.alternate ?? (options.primary === '127.0.0.1' ? '127.0.0.2' : undefined));
  if (parseIp(options.primary) === undefined) {
    writeLine(io.stderr, `nat-probe: --primary "${options.primary}" is not an IP address; give a literal such as 127.0.0.1 or ::1.`);
    return ExitCode.usage;
  }
  const server = await startStunServer({
    primary: options.primary,
    alternate,
    port: options.port,
    alternatePort: options.alternatePort,
    rateLimit: options.rateLimit === 0 ? false : { ratePerSecond: options.rateLimit, burst: options.rateLimit * 2 },
  });
  let signaling: SignalingServer | undefined;
  try {
    if (options.signal) signaling = await startSignalingServer({ host: options.signalHost ?? options.primary, port: options.signalPort });
    announce(server, signaling, io, options.json ?? false);
    await stop;
    writeLine(io.stderr, `nat-probe serve: stopping. ${summarise(server)}`);
    return ExitCode.ok;
  } finally {
    await signaling?.close();
    await server.close();
  }
}

function announce(server: StunServer, signaling: SignalingServer | undefined, io: CliIo, json: boolean): void {
  const { addresses } = server;
  const stunAddress = formatTransportAddress(addresses.primary);
  if (json) {
    writeLine(
      io.stdout,
      JSON.stringify({
        schema: SERVE_SCHEMA,
        stun: {
          primary: stunAddress,
          alternate: addresses.alternateIpAndPort ? formatTransportAddress(addresses.alternateIpAndPort) : null,
          rfc5780: server.rfc5780,
          url: `stun:${stunAddress}`,
        },
        signaling: signaling ? { url: signaling.url } : null,
      }),
    );
  } else {
    writeLine(io.stdout, server.describe());
    if (signaling) writeLine(io.stdout, `Signaling: ${signaling.url}`);
    writeLine(io.stdout, `Try it: nat-probe detect --server ${stunAddress}`);
    if (signaling) writeLine(io.stdout, `        nat-probe peer --signal ${signaling.url} --room demo --stun ${stunAddress}   (on two hosts)`);
  }
}

function summarise(server: StunServer): string {
  const stats = server.stats() as unknown as Record<string, unknown>;
  return `Counters: ${JSON.stringify(stats)}`;
}

function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
