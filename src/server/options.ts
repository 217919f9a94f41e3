import { MAX_SOFTWARE_CHARS, parseIp, type IpFamily } from '../stun/index.js';
import { systemClock, type Clock } from '../transport/index.js';
import { VERSION } from '../version.js';
import { StunServerError } from './errors.js';
import type { StunServerEvent } from './events.js';

/** Per-source token bucket. Pass `false` to turn rate limiting off (benchmarks, trusted labs). */
export interface RateLimitOptions {
  /** Tokens added per second, per source IP. Default 200. */
  ratePerSecond?: number;
  /** Bucket size: how many requests a quiet source may send at once. Default 400. */
  burst?: number;
  /** Most source IPs tracked at once; the least recently seen is evicted beyond this. Default 10 000. */
  maxSources?: number;
}

export interface StunServerOptions {
  /** The primary IP address (A1 in RFC 5780 §6.1). Default '127.0.0.1'. */
  primary?: string;
  /**
   * The alternate IP address (A2), same family as `primary`. With it the server binds four
   * sockets and supports RFC 5780 NAT behaviour discovery; without it, it is a plain RFC 8489
   * server on one socket. On loopback use '127.0.0.2': all of 127.0.0.0/8 is on `lo`.
   */
  alternate?: string;
  /** The primary port (P1). Default 3478 (RFC 8489 §18.4). 0 picks a free port. */
  port?: number;
  /**
   * The alternate port (P2), used only with `alternate`. Default `port + 1`. When `port` is 0,
   * a pair (P1, P1 + 1) free on both addresses is searched for, with bounded retries.
   */
  alternatePort?: number;
  /** SOFTWARE attribute value (RFC 8489 §14.14). Default `nat-probe/<version>`; `false` omits it. */
  software?: string | false;
  /** Per-source rate limit. Defaults as documented on RateLimitOptions; `false` disables. */
  rateLimit?: RateLimitOptions | false;
  /**
   * Largest PADDING the server puts in a response (RFC 5780 §7.6 says it SHOULD be the MTU
   * of the outgoing interface). Default 1500, the Ethernet MTU.
   */
  maxResponsePadding?: number;
  /** Time source for the rate limiter and event timestamps. Default the system clock. */
  clock?: Clock;
  /** Called for every request served, datagram dropped or source rate-limited (for logging). */
  onEvent?: (event: StunServerEvent) => void;
}

export interface ResolvedRateLimit {
  ratePerSecond: number;
  burst: number;
  maxSources: number;
}

export interface ResolvedServerOptions {
  family: IpFamily;
  primary: string;
  /** True when `primary` is 0.0.0.0 or ::, so the address a response leaves from is unknown. */
  primaryIsWildcard: boolean;
  alternate: string | undefined;
  port: number;
  alternatePort: number | undefined;
  software: string | undefined;
  rateLimit: ResolvedRateLimit | undefined;
  maxResponsePadding: number;
  clock: Clock;
  onEvent: ((event: StunServerEvent) => void) | undefined;
}

export const DEFAULT_STUN_PORT = 3478;
export const DEFAULT_RATE_PER_SECOND = 200;
export const DEFAULT_BURST = 400;
export const DEFAULT_MAX_SOURCES = 10_000;
export const DEFAULT_MAX_RESPONSE_PADDING = 1500;

function bad(message: string): never {
  throw new StunServerError('server-bad-options', message);
}

function checkPort(name: string, port: number): void {
  if (!Number.isInteger(port) || port < 0 || port > 0xffff) bad(`${name} ${port} is not a UDP port (0..65535).`);
}

function isUnspecified(bytes: Uint8Array): boolean {
  return bytes.every((byte) => byte === 0);
}

/** Fills in the documented defaults and rejects combinations the server cannot honour. */
export function resolveServerOptions(options: StunServerOptions = {}): ResolvedServerOptions {
  const primary = options.primary ?? '127.0.0.1';
  const parsedPrimary = parseIp(primary) ?? bad(`primary "${primary}" is not an IP address; give a literal IPv4 or IPv6 address.`);
  const alternate = options.alternate;
  if (alternate !== undefined) {
    const parsedAlternate = parseIp(alternate) ?? bad(`alternate "${alternate}" is not an IP address; give a literal IPv4 or IPv6 address.`);
    if (parsedAlternate.family !== parsedPrimary.family) {
      bad(`primary ${primary} and alternate ${alternate} are different IP families; RFC 5780 needs two addresses of one family.`);
    }
    if (parsedAlternate.bytes.every((byte, i) => byte === parsedPrimary.bytes[i])) {
      bad(`primary and alternate are both ${primary}; RFC 5780 needs two different addresses (e.g. 127.0.0.1 and 127.0.0.2).`);
    }
    // RESPONSE-ORIGIN and OTHER-ADDRESS must name real addresses (RFC 5780 §6.1), so a
    // wildcard bind cannot serve RFC 5780.
    if (isUnspecified(parsedPrimary.bytes) || isUnspecified(parsedAlternate.bytes)) {
      bad('with an alternate address, bind specific addresses, not a wildcard: RESPONSE-ORIGIN and OTHER-ADDRESS must name them.');
    }
  }
  const port = options.port ?? DEFAULT_STUN_PORT;
  checkPort('port', port);
  let alternatePort: number | undefined;
  if (alternate !== undefined) {
    if (options.alternatePort !== undefined) {
      checkPort('alternatePort', options.alternatePort);
      if (options.alternatePort !== 0 && options.alternatePort === port) bad(`port and alternatePort are both ${port}; they must differ.`);
      alternatePort = options.alternatePort;
    } else if (port !== 0) {
      if (port === 0xffff) bad('port 65535 leaves no room for the default alternate port (port + 1); set alternatePort.');
      alternatePort = port + 1;
    }
  }

  let rateLimit: ResolvedRateLimit | undefined;
  if (options.rateLimit !== false) {
    const given = options.rateLimit ?? {};
    rateLimit = {
      ratePerSecond: given.ratePerSecond ?? DEFAULT_RATE_PER_SECOND,
      burst: given.burst ?? DEFAULT_BURST,
      maxSources: given.maxSources ?? DEFAULT_MAX_SOURCES,
    };
    if (!(rateLimit.ratePerSecond > 0)) bad(`rateLimit.ratePerSecond must be positive, got ${rateLimit.ratePerSecond}; pass rateLimit: false to disable.`);
    if (!(rateLimit.burst >= 1)) bad(`rateLimit.burst must be at least 1, got ${rateLimit.burst}.`);
    if (!Number.isInteger(rateLimit.maxSources) || rateLimit.maxSources < 1) bad(`rateLimit.maxSources must be a positive integer, got ${rateLimit.maxSources}.`);
  }

  const maxResponsePadding = options.maxResponsePadding ?? DEFAULT_MAX_RESPONSE_PADDING;
  if (!Number.isInteger(maxResponsePadding) || maxResponsePadding < 0 || maxResponsePadding > 0xff00) {
    bad(`maxResponsePadding must be an integer in 0..65280, got ${maxResponsePadding}.`);
  }
  const software = options.software === false ? undefined : (options.software ?? `nat-probe/${VERSION}`);
  if (software !== undefined && [...software].length > MAX_SOFTWARE_CHARS) {
    bad(`software is longer than the ${MAX_SOFTWARE_CHARS} characters SOFTWARE may carry (RFC 8489 §14.14).`);
  }

  return {
    family: parsedPrimary.family,
    primary,
    primaryIsWildcard: isUnspecified(parsedPrimary.bytes),
    alternate,
    port,
    alternatePort,
    software,
    rateLimit,
    maxResponsePadding,
    clock: options.clock ?? systemClock,
    onEvent: options.onEvent,
  };
}
