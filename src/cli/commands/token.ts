import { InvalidArgumentError, type Command } from 'commander';
import { mintAuthToken } from '../../signaling/index.js';
import { ExitCode } from '../exit-codes.js';
import { writeLine, type CliIo } from '../io.js';
import { integerOption } from '../options.js';
import { envValue } from '../turn-flags.js';
import { roomOption } from './peer.js';
import { AUTH_SECRET_ENV } from './serve.js';

export interface TokenCommandOptions {
  room?: string;
  roomPrefix?: string;
  ttl: number;
  authSecret?: string;
  json?: boolean;
}

/** Version of `token --json`. */
export const TOKEN_SCHEMA = 'nat-probe.token/v1';

export function registerToken(program: Command, io: CliIo, run: (code: Promise<number>) => void): void {
  program
    .command('token')
    .description('Mint an operator token for a signaling server started with --auth-secret (HMAC-SHA256; one room or a room-name prefix, with an expiry)')
    .option('--room <name>', 'the one room the token admits', roomOption)
    .option('--room-prefix <prefix>', 'admit every room whose name starts with this (e.g. trials- for `nat-probe trials`)', prefixOption)
    .option('--ttl <seconds>', 'lifetime of the token', integerOption('--ttl', 1, 31_536_000), 3_600)
    .option('--auth-secret <secret>', `the server's secret (or set ${AUTH_SECRET_ENV}, which keeps it out of ps and shell history)`)
    .option('--json', `print {"schema":"${TOKEN_SCHEMA}","token","expires","room"|"roomPrefix"} instead of the bare token`)
    .addHelpText(
      'after',
      `
The token goes to peers as --auth-token (or NAT_PROBE_AUTH_TOKEN). Its format:
  npt1.<base64url JSON {"room"|"prefix","exp"}>.<base64url HMAC-SHA256(secret, "npt1.<payload>")>
A token is a bearer secret until it expires: hand it out like a password.

Examples:
  NAT_PROBE_AUTH_SECRET=$(cat /etc/nat-probe/secret) nat-probe token --room support-4711 --ttl 900
  nat-probe token --room-prefix trials- --ttl 86400     for a CI fleet running nat-probe trials

Exit codes: 0 printed, 2 usage error (no secret, neither or both of --room and --room-prefix).`,
    )
    .action((options: TokenCommandOptions) => run(Promise.resolve(runToken(options, io))));
}

export function runToken(options: TokenCommandOptions, io: CliIo, nowMs = Date.now()): number {
  const secret = options.authSecret ?? envValue(io.env, AUTH_SECRET_ENV);
  if (secret === undefined) {
    writeLine(io.stderr, `nat-probe: token needs the server's secret: set ${AUTH_SECRET_ENV} (or give --auth-secret).`);
    return ExitCode.usage;
  }
  if ((options.room === undefined) === (options.roomPrefix === undefined)) {
    writeLine(io.stderr, 'nat-probe: give exactly one of --room and --room-prefix: the token admits one room, or the rooms with that prefix.');
    return ExitCode.usage;
  }
  const nowSeconds = Math.floor(nowMs / 1000);
  const token = mintAuthToken(secret, {
    ...(options.room !== undefined ? { room: options.room } : { prefix: options.roomPrefix! }),
    ttlSeconds: options.ttl,
    nowSeconds,
  });
  if (options.json === true) {
    const expires = new Date((nowSeconds + options.ttl) * 1000).toISOString();
    const scope = options.room !== undefined ? { room: options.room } : { roomPrefix: options.roomPrefix };
    writeLine(io.stdout, JSON.stringify({ schema: TOKEN_SCHEMA, token, expires, ...scope }));
  } else {
    writeLine(io.stdout, token);
  }
  return ExitCode.ok;
}

function prefixOption(value: string): string {
  if (!/^[A-Za-z0-9._~:-]{1,127}$/.test(value)) throw new InvalidArgumentError(`--room-prefix must be 1–127 characters from A–Z a–z 0–9 . _ ~ : -, got "${value}".`);
  return value;
}
