/**
 * The TURN flags `peer` and `trials` share (--turn, --turn-user/--turn-pass or --turn-secret,
 * --turn-ttl, --turn-ca, --relay-only; `turn` takes --turn-ca too), and the per-peer
 * credentials `serve --turn-url --turn-secret` hands out through signaling. The secret and
 * passwords are only ever passed on to the TURN client or turned into an HMAC; no message here
 * repeats them.
 */
import { readFileSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import { NatProbeError } from '../errors.js';
import type { PeerTurnServer } from '../peer/relay.js';
import type { IceServer } from '../signaling/index.js';
import { parseTurnUrl, restApiCredentials } from '../turn/index.js';
import { integerOption } from './options.js';

export interface TurnFlags {
  turn?: string;
  turnUser?: string;
  turnPass?: string;
  turnSecret?: string;
  turnTtl?: number;
  turnTimeout?: number;
  /** --turn-ca FILE, already read: the PEM text to trust for a turns: server. */
  turnCa?: string;
  relayOnly?: boolean;
  directOnly?: boolean;
}

/**
 * Environment fallbacks for the TURN password and REST secret (every command that takes them), so
 * a secret need not appear in the process list or shell history. A flag wins over the variable.
 */
export const TURN_PASSWORD_ENV = 'NAT_PROBE_TURN_PASSWORD';
export const TURN_SECRET_ENV = 'NAT_PROBE_TURN_SECRET';

/** An environment variable's value, unset when empty. */
export function envValue(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
}

/**
 * With --turn and no credential flag, the credentials from the environment: the REST secret, or
 * (with --turn-user) the password. Without --turn nothing is read, so variables set for other
 * tools (lab exec exports a password) never trip the flag checks.
 */
export function withTurnCredentialsFromEnv<F extends TurnFlags>(flags: F, env: NodeJS.ProcessEnv): F {
  if (flags.turn === undefined || flags.turnPass !== undefined || flags.turnSecret !== undefined) return flags;
  const secret = envValue(env, TURN_SECRET_ENV);
  if (secret !== undefined && flags.turnUser === undefined) return { ...flags, turnSecret: secret };
  const password = envValue(env, TURN_PASSWORD_ENV);
  if (password !== undefined && flags.turnUser !== undefined) return { ...flags, turnPass: password };
  if (secret !== undefined) return { ...flags, turnSecret: secret };
  return flags;
}

/** Longest REST credential lifetime accepted: a week (RFC 8656 leaves it to the operator; a day is usual). */
const MAX_TTL_SECONDS = 7 * 24 * 3600;

/** Commander parser: a turn: URL (RFC 7065), refused with the TURN client's own one-line reason. */
export function turnUrlOption(flag: string) {
  return (value: string): string => {
    try {
      parseTurnUrl(value);
    } catch (error) {
      throw new InvalidArgumentError(`${flag}: ${(error as Error).message}`);
    }
    return value;
  };
}

export const turnTtlOption = integerOption('--turn-ttl', 60, MAX_TTL_SECONDS);

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/;

/**
 * Commander parser for --turn-ca FILE: reads the file now, so an unreadable one is a usage error
 * (exit 2) before anything starts, and returns its PEM text (one or more certificates).
 */
export function turnCaOption(flag = '--turn-ca') {
  return (file: string): string => {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      throw new InvalidArgumentError(`${flag}: cannot read "${file}" (${reason}); give a PEM file with the TURN server's CA certificate.`);
    }
    if (!PEM_CERTIFICATE.test(text)) throw new InvalidArgumentError(`${flag}: "${file}" holds no PEM certificate (-----BEGIN CERTIFICATE-----); give the TURN server's CA certificate in PEM.`);
    return text;
  };
}

/** The --turn-ca help line, one wording for every command. */
export const TURN_CA_HELP = 'PEM file of a CA (or a self-signed certificate) to trust for turns: servers, besides the system roots';

/** Adds the shared TURN flags to `peer` or `trials`. */
export function addTurnFlags(command: Command): Command {
  return command
    .option('--turn <url>', 'TURN server for a relayed candidate: turn:HOST[:PORT][?transport=udp|tcp] or turns:HOST[:PORT] (TLS) (default: what the signaling server hands out, if anything)', turnUrlOption('--turn'))
    .option('--turn-user <name>', 'TURN long-term username (with --turn-pass)')
    .option('--turn-pass <password>', `TURN long-term password (with --turn-user; or set ${TURN_PASSWORD_ENV}); never printed`)
    .option('--turn-secret <secret>', `TURN REST API shared secret (coturn use-auth-secret; or set ${TURN_SECRET_ENV}): credentials are made locally; never printed`)
    .option('--turn-ttl <seconds>', 'lifetime of the REST credentials made from --turn-secret', turnTtlOption)
    .option('--turn-ca <file>', `${TURN_CA_HELP} (with --turn)`, turnCaOption())
    .option('--turn-timeout <ms>', 'how long to keep waiting for each TURN allocation before giving up on relay; the direct checks never wait for it, a relayed candidate joins them when it comes (default 5000)', integerOption('--turn-timeout', 100, 60_000))
    .option('--relay-only', 'pair and signal relayed candidates only (iceTransportPolicy "relay"): forces the path through TURN')
    .option('--direct-only', 'ignore TURN servers the signaling server hands out: measure the direct paths only');
}

/**
 * The TURN servers the flags ask for, or undefined when --turn is not given (the session then
 * uses the signaling config's). Inconsistent flags are a usage error (exit 2).
 */
export function turnServersFromFlags(flags: TurnFlags): PeerTurnServer[] | undefined {
  const credentialFlags = [
    flags.turnUser !== undefined && '--turn-user',
    flags.turnPass !== undefined && '--turn-pass',
    flags.turnSecret !== undefined && '--turn-secret',
    flags.turnTtl !== undefined && '--turn-ttl',
    flags.turnCa !== undefined && '--turn-ca',
  ].filter(
    (name): name is string => name !== false,
  );
  if (flags.directOnly === true && (flags.turn !== undefined || flags.relayOnly === true)) {
    throw new TurnFlagsError('--direct-only excludes TURN: it cannot go with --turn or --relay-only.');
  }
  if (flags.turn === undefined) {
    if (credentialFlags.length > 0) throw new TurnFlagsError(`${credentialFlags.join(', ')} need --turn turn:HOST:PORT to say which TURN server they are for.`);
    return undefined;
  }
  const ca = flags.turnCa !== undefined ? { ca: flags.turnCa } : {};
  if (flags.turnSecret !== undefined) {
    if (flags.turnUser !== undefined && flags.turnPass !== undefined) {
      throw new TurnFlagsError('Give either --turn-secret or --turn-user with --turn-pass, not both.');
    }
    if (flags.turnPass !== undefined) throw new TurnFlagsError('--turn-pass does not go with --turn-secret: the password is made from the secret.');
    return [
      {
        url: flags.turn,
        secret: flags.turnSecret,
        ...(flags.turnUser !== undefined ? { secretUser: flags.turnUser } : {}),
        ...(flags.turnTtl !== undefined ? { ttlSeconds: flags.turnTtl } : {}),
        ...ca,
      },
    ];
  }
  if (flags.turnUser === undefined || flags.turnPass === undefined) {
    throw new TurnFlagsError('--turn needs credentials: --turn-user U --turn-pass P, or --turn-secret S (coturn use-auth-secret).');
  }
  if (flags.turnTtl !== undefined) throw new TurnFlagsError('--turn-ttl applies to --turn-secret only.');
  return [{ url: flags.turn, username: flags.turnUser, credential: flags.turnPass, ...ca }];
}

/**
 * `serve`'s hand-out: for each joining peer, TURN REST API credentials (username
 * `${expiry}:${peerId}`, password base64(HMAC-SHA1(secret, username))) for `url`.
 */
export function turnIceServersFor(url: string, secret: string, ttlSeconds?: number): (peerId: string) => IceServer[] {
  return (peerId) => {
    const credentials = restApiCredentials(secret, { user: peerId, ...(ttlSeconds !== undefined ? { ttlSeconds } : {}) });
    return [{ urls: [url], username: credentials.username, credential: credentials.password }];
  };
}

/** Inconsistent TURN flags (exit 2). */
export class TurnFlagsError extends NatProbeError {
  constructor(message: string) {
    super('turn-bad-flags', message);
  }
}
