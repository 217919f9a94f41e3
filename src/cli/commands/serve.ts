import { InvalidArgumentError, type Command } from 'commander';
import { startStunServer, type StunServer } from '../../server/index.js';
import { startSignalingServer, type SignalingServer } from '../../signaling/index.js';
// Type-only: the Redis client (and prom-client below) load only when --redis (--metrics) asks for them.
import type { RedisSignaling } from '../../signaling/redis-store.js';
import { formatTransportAddress, parseIp } from '../../stun/index.js';
import { ExitCode } from '../exit-codes.js';
import { writeLine, type CliIo } from '../io.js';
import { integerOption, parseHostPort } from '../options.js';
import { createServeLogger, LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from '../serve-logging.js';
import type { ServeMetrics } from '../serve-metrics.js';
import { envValue, turnIceServersFor, turnTtlOption, turnUrlOption, TURN_SECRET_ENV } from '../turn-flags.js';

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
  turnUrl?: string;
  turnSecret?: string;
  turnTtl?: number;
  redis?: string;
  authSecret?: string;
  metrics?: string;
  logLevel: LogLevel;
  logFormat: LogFormat;
}

/** Environment variable for --auth-secret (kept out of `ps`). */
export const AUTH_SECRET_ENV = 'NAT_PROBE_AUTH_SECRET';
/**
 * Default lifetime of handed-out TURN credentials: the bound of a session (a room idles out
 * after 10 minutes), not a day, so a leaked credential is a short-lived relay.
 */
export const DEFAULT_SERVE_TURN_TTL_SECONDS = 600;

/** Environment variable for --redis (a URL may carry a password; keep it out of `ps`). */
export const REDIS_URL_ENV = 'NAT_PROBE_REDIS_URL';

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
    .option('--turn-url <url>', 'TURN server to hand each joining peer, turn:HOST[:PORT][?transport=udp|tcp] or turns:HOST[:PORT] (with --turn-secret)', turnUrlOption('--turn-url'))
    .option('--turn-secret <secret>', `the TURN server's REST API shared secret (coturn --static-auth-secret; or set ${TURN_SECRET_ENV}): each peer gets its own expiring credentials; the secret is never sent or printed`)
    .option('--turn-ttl <seconds>', `lifetime of the handed-out TURN credentials (default ${DEFAULT_SERVE_TURN_TTL_SECONDS}: a session's bound)`, turnTtlOption)
    .option('--auth-secret <secret>', `require an operator token on every join, signed with this secret (or set ${AUTH_SECRET_ENV}); mint tokens with \`nat-probe token\`. Never printed`)
    .option('--redis <url>', `keep rooms, sessions and message logs in Redis 7 (redis://[user:password@]host:port[/db], or set ${REDIS_URL_ENV}) so that several serve instances share them and a peer resumes on any instance`, redisUrlOption)
    .option('--metrics <host:port>', 'serve Prometheus metrics at http://host:port/metrics (STUN, signaling, Redis latency, process), e.g. 127.0.0.1:9478', metricsOption)
    .option('--log-level <level>', `structured log level on stderr: ${LOG_LEVELS.join(', ')}`, choiceOption('--log-level', LOG_LEVELS), 'warn')
    .option('--log-format <format>', 'pretty (one line per event) or json (one pino object per line)', choiceOption('--log-format', LOG_FORMATS), 'pretty')
    .option('--json', 'announce the listening addresses as one JSON line on stdout; logs go to stderr')
    .addHelpText(
      'after',
      `
RFC 5780 needs two IP addresses on this host. On loopback, 127.0.0.1 and 127.0.0.2 both work
with no set-up, which is the default. Clients learn the alternate address from OTHER-ADDRESS.

The signaling server pairs two peers per room for "nat-probe peer" and "nat-probe trials"
(protocol: src/signaling/PROTOCOL.md). Peers on other machines need it on a reachable address.

With --turn-url and --turn-secret, the signaling server's config message gives every peer that
joins TURN REST API credentials (username "expiry:peerId", password HMAC-SHA1 of it with the
secret), which coturn's use-auth-secret accepts; peers then need no TURN flags.

With --redis, any number of serve instances share rooms and sessions: two peers of one room may
be on different instances, and a peer whose instance dies resumes on another (give peers every
instance: --signal URL1,URL2) and gets every message it missed, once, in order. If Redis loses
its data (restart without persistence), sessions are reset, never silently lost. See the README,
"Several signaling instances".

Examples:
  nat-probe serve                                   STUN 127.0.0.1:3478 + 127.0.0.2:3479, ws://127.0.0.1:8478
  nat-probe serve --redis redis://127.0.0.1:6379 --signal-port 8478   one of several instances (others on 8479, …)
  nat-probe serve --turn-url turn:203.0.113.1:3478 --turn-secret "$TURN_SECRET"   hand out TURN credentials
  nat-probe serve --primary 203.0.113.1 --alternate 203.0.113.2
  nat-probe serve --primary 0.0.0.0 --no-alternate  plain STUN on every interface

Stop with Ctrl-C (SIGINT) or SIGTERM; the request counters are printed on stderr.`,
    )
    .action((options: ServeCommandOptions) => run(runServe(options, io)));
}

export async function runServe(given: ServeCommandOptions, io: CliIo, stop: Promise<unknown> = untilSignal()): Promise<number> {
  // The secret may come from the environment instead of the command line (kept out of `ps`).
  const envSecret = given.turnUrl !== undefined && given.turnSecret === undefined ? envValue(io.env, TURN_SECRET_ENV) : undefined;
  const options = envSecret === undefined ? given : { ...given, turnSecret: envSecret };
  if ((options.turnUrl === undefined) !== (options.turnSecret === undefined) || (options.turnTtl !== undefined && options.turnUrl === undefined)) {
    writeLine(io.stderr, 'nat-probe: --turn-url and --turn-secret go together (and --turn-ttl needs them): the secret signs the credentials for that server.');
    return ExitCode.usage;
  }
  if (options.turnUrl !== undefined && options.signal === false) {
    writeLine(io.stderr, 'nat-probe: --turn-url hands out credentials through the signaling server; it cannot be used with --no-signal.');
    return ExitCode.usage;
  }
  const redisUrl = options.redis ?? envValue(io.env, REDIS_URL_ENV);
  const authSecret = options.authSecret ?? envValue(io.env, AUTH_SECRET_ENV);
  if (authSecret !== undefined && options.signal === false) {
    writeLine(io.stderr, 'nat-probe: --auth-secret guards the signaling server; it cannot be used with --no-signal.');
    return ExitCode.usage;
  }
  if (authSecret !== undefined && authSecret.length < 16) {
    writeLine(io.stderr, 'nat-probe: --auth-secret must be at least 16 characters (e.g. openssl rand -base64 32): tokens are only as strong as it.');
    return ExitCode.usage;
  }
  if (redisUrl !== undefined && options.signal === false) {
    writeLine(io.stderr, 'nat-probe: --redis holds signaling state; it cannot be used with --no-signal.');
    return ExitCode.usage;
  }
  const alternate = options.alternate === false ? undefined : (options.alternate ?? (options.primary === '127.0.0.1' ? '127.0.0.2' : undefined));
  if (parseIp(options.primary) === undefined) {
    writeLine(io.stderr, `nat-probe: --primary "${options.primary}" is not an IP address; give a literal such as 127.0.0.1 or ::1.`);
    return ExitCode.usage;
  }
  const logger = createServeLogger(options.logLevel ?? 'warn', options.logFormat ?? 'pretty', io.stderr);
  const server = await startStunServer({
    primary: options.primary,
    alternate,
    port: options.port,
    alternatePort: options.alternatePort,
    rateLimit: options.rateLimit === 0 ? false : { ratePerSecond: options.rateLimit, burst: options.rateLimit * 2 },
  });
  let signaling: SignalingServer | undefined;
  let redis: RedisSignaling | undefined;
  /** The --redis URL without its password, for the announce line. */
  let redisLabel: string | undefined;
  let metrics: ServeMetrics | undefined;
  try {
    if (options.metrics !== undefined) metrics = (await import('../serve-metrics.js')).createServeMetrics(server, () => signaling);
    if (options.signal) {
      if (redisUrl !== undefined) {
        const { connectRedisSignaling, redactUrl, RedisUnreachableError } = await import('../../signaling/redis-store.js');
        redisLabel = redactUrl(redisUrl);
        try {
          const observe = metrics;
          redis = await connectRedisSignaling({ url: redisUrl, ...(observe !== undefined ? { onCommand: (name, seconds) => observe.observeRedisCommand(name, seconds) } : {}) });
          redis.on('unavailable', (reason) => logger.warn({ redis: redactUrl(redisUrl), reason }, 'Redis unreachable: new joins get store-unavailable until it is back'));
          redis.on('available', () => logger.info({ redis: redactUrl(redisUrl), epoch: redis?.epoch() }, 'Redis reachable again'));
        } catch (error) {
          if (!(error instanceof RedisUnreachableError)) throw error;
          writeLine(io.stderr, `nat-probe: cannot start signaling: ${error.message}. Start Redis 7 there, or fix --redis. [redis-unreachable]`);
          return ExitCode.usage;
        }
      }
      const signalHost = options.signalHost ?? options.primary;
      try {
        signaling = await startSignalingServer({
          host: signalHost,
          port: options.signalPort,
          ...(redis !== undefined ? { store: redis.store, bus: redis.bus } : {}),
          ...(authSecret !== undefined ? { authSecret } : {}),
          logger,
          // With an auth secret every join is authenticated, so only token holders get TURN credentials.
          ...(options.turnUrl !== undefined && options.turnSecret !== undefined
            ? { iceServersFor: turnIceServersFor(options.turnUrl, options.turnSecret, options.turnTtl ?? DEFAULT_SERVE_TURN_TTL_SECONDS) }
            : {}),
        });
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== 'EADDRINUSE' && code !== 'EADDRNOTAVAIL' && code !== 'EACCES') throw error;
        writeLine(io.stderr, `nat-probe: cannot start signaling on TCP ${signalHost}:${options.signalPort}: ${listenAdvice(code)} [signal-bind-failed]`);
        return ExitCode.usage;
      }
    }
    let metricsUrl: string | undefined;
    if (metrics !== undefined) {
      const { host, port } = parseHostPort(options.metrics!)!;
      try {
        metricsUrl = await metrics.listen(host, port);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== 'EADDRINUSE' && code !== 'EADDRNOTAVAIL' && code !== 'EACCES') throw error;
        const advice =
          code === 'EADDRINUSE'
            ? 'the port is already in use; stop that process or pick another port in --metrics (port 0 picks a free one).'
            : code === 'EACCES'
              ? 'permission denied; pick a port of 1024 or more in --metrics.'
              : 'the address is not on this host; give one of its addresses in --metrics.';
        writeLine(io.stderr, `nat-probe: cannot serve metrics on TCP ${options.metrics}: ${advice} [metrics-bind-failed]`);
        return ExitCode.usage;
      }
    }
    if (signaling !== undefined && options.turnUrl !== undefined && authSecret === undefined) {
      writeLine(
        io.stderr,
        `nat-probe serve: warning: --turn-secret without --auth-secret hands TURN credentials for ${options.turnUrl} to anyone who can reach ${signaling.url}, which makes an open relay of a public server. Set --auth-secret (or ${AUTH_SECRET_ENV}) and give peers tokens from \`nat-probe token\`.`,
      );
    }
    announce(server, signaling, io, options.json ?? false, options.turnUrl, redis === undefined ? undefined : redisLabel, authSecret !== undefined, metricsUrl);
    await stop;
    writeLine(io.stderr, `nat-probe serve: stopping. ${summarise(server)}`);
    return ExitCode.ok;
  } finally {
    await metrics?.close();
    await signaling?.close();
    await redis?.close();
    await server.close();
  }
}

function listenAdvice(code: string | undefined): string {
  switch (code) {
    case 'EADDRINUSE':
      return 'the port is already in use (another nat-probe serve?); stop that process, or pick another port with --signal-port (0 picks a free one), or --no-signal.';
    case 'EACCES':
      return 'permission denied (ports below 1024 need privileges); pick a port of 1024 or more with --signal-port.';
    default:
      return 'the address is not on this host; give one of its addresses with --signal-host.';
  }
}

function metricsOption(value: string): string {
  if (parseHostPort(value) === undefined) throw new InvalidArgumentError(`--metrics takes HOST:PORT, e.g. 127.0.0.1:9478 or [::1]:9478, got "${value}".`);
  return value;
}

function choiceOption<T extends string>(flag: string, choices: readonly T[]): (value: string) => T {
  return (value) => {
    if (!(choices as readonly string[]).includes(value)) throw new InvalidArgumentError(`${flag} must be one of ${choices.join(', ')}, got "${value}".`);
    return value as T;
  };
}

function redisUrlOption(value: string): string {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new InvalidArgumentError(`"${value}" is not a URL; give redis://host:port (e.g. redis://127.0.0.1:6379).`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') throw new InvalidArgumentError(`use a redis:// or rediss:// URL, not ${parsed.protocol}//.`);
  return value;
}

function announce(server: StunServer, signaling: SignalingServer | undefined, io: CliIo, json: boolean, turnUrl: string | undefined, redisUrl: string | undefined, auth: boolean, metricsUrl: string | undefined): void {
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
        signaling: signaling ? { url: signaling.url, redis: redisUrl ?? null, auth } : null,
        // The URL only: the secret stays in this process.
        turn: turnUrl !== undefined ? { url: turnUrl, handedOut: true } : null,
        metrics: metricsUrl !== undefined ? { url: metricsUrl } : null,
      }),
    );
  } else {
    writeLine(io.stdout, server.describe());
    if (signaling) writeLine(io.stdout, `Signaling: ${signaling.url}${redisUrl === undefined ? '' : ` (rooms and sessions in Redis ${redisUrl}, shared with other instances)`}${auth ? ' (joins need an operator token)' : ''}`);
    if (turnUrl !== undefined) writeLine(io.stdout, `TURN: ${turnUrl} (each joining peer gets its own REST API credentials)`);
    if (metricsUrl !== undefined) writeLine(io.stdout, `Metrics: ${metricsUrl}`);
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
