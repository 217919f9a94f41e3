import { NatProbeError } from '../errors.js';

/**
 * TURN client failures, each with a stable `code` (README "nat-probe turn"). Messages say what
 * to do next and never contain a password or shared secret: callers pass the username at most.
 */

/** The turn: / turns: URL (RFC 7065 §3) could not be parsed. */
export class TurnUrlError extends NatProbeError {
  constructor(url: string, detail: string) {
    super('turn-bad-url', `Bad TURN URL "${url}": ${detail}. Write it as turn:HOST[:PORT][?transport=udp|tcp] or turns:HOST[:PORT] (TLS).`);
  }
}

/** Bad arguments to the client (not a server's answer): a peer address that is not an IP, … */
export class TurnUsageError extends NatProbeError {
  constructor(message: string) {
    super('turn-bad-argument', message);
  }
}

/** 401 with credentials, or 441 Wrong Credentials (RFC 8656 §6.2, RFC 8489 §9.2.4). */
export class TurnAuthError extends NatProbeError {
  readonly status: number;
  constructor(server: string, status: number, reason: string, username: string, realm: string | undefined) {
    super(
      'turn-auth-failed',
      `TURN server ${server} rejected the credentials (${status} ${reason}) for user "${username}"` +
        `${realm === undefined ? '' : ` in realm "${realm}"`}. ` +
        'Check the username and password, or for --secret the shared secret and that the server clock is not past the expiry.',
    );
    this.status = status;
  }
}

/** What each TURN error response means for the person running the check (RFC 8656 §18 / RFC 8489 §14.8). */
const ERROR_ADVICE: Record<number, { code: string; advice: string }> = {
  300: { code: 'turn-try-alternate', advice: 'the server redirects to its ALTERNATE-SERVER; point --server at that address instead' },
  400: { code: 'turn-bad-request', advice: 'the server could not parse the request; this is likely a client bug, please report it' },
  403: { code: 'turn-forbidden', advice: 'the server forbids this (peer address not allowed, e.g. loopback peers need --allow-loopback-peers on coturn, or the user is denied)' },
  420: { code: 'turn-unknown-attribute', advice: 'the server does not support an attribute the client sent' },
  437: { code: 'turn-allocation-mismatch', advice: 'the server has no allocation for this 5-tuple (expired, or another allocation already exists); start a new allocation' },
  440: { code: 'turn-address-family', advice: 'the server cannot relay in the requested address family (IPv4 unless asked otherwise); try the other one (nat-probe turn --relay-family 6 or 4)' },
  442: { code: 'turn-unsupported-transport', advice: 'the server does not relay this transport' },
  443: { code: 'turn-peer-family-mismatch', advice: 'the peer address family differs from the relayed address family' },
  486: { code: 'turn-quota', advice: 'the user has reached the allocation quota; close other allocations or raise the quota (coturn --user-quota)' },
  500: { code: 'turn-server-error', advice: 'the server had an internal error; try again or check its logs' },
  508: { code: 'turn-capacity', advice: 'the server is out of relay capacity (ports or bandwidth); try again later or another server' },
};

/** Any other error response from the TURN server. */
export class TurnErrorResponse extends NatProbeError {
  readonly status: number;
  readonly reason: string;
  constructor(server: string, method: string, status: number, reason: string) {
    const known = ERROR_ADVICE[status];
    super(
      known?.code ?? 'turn-error-response',
      `TURN server ${server} refused ${method} with ${status} ${reason}: ${known?.advice ?? 'see RFC 8656 §18 for the meaning of this code'}.`,
    );
    this.status = status;
    this.reason = reason;
  }
}

/** No answer at all, or the TCP connection was refused / reset. */
export class TurnUnreachableError extends NatProbeError {
  constructor(server: string, detail: string, cause?: unknown) {
    super(
      'turn-unreachable',
      `TURN server ${server} is unreachable: ${detail}. Check the host and port, that the server runs, and that a firewall lets ` +
        'this transport through (try ?transport=tcp when UDP is blocked).',
      { cause },
    );
  }
}

/** The server answered earlier but a later step took longer than its bound. */
export class TurnTimeoutError extends NatProbeError {
  constructor(server: string, what: string, ms: number) {
    super('turn-timeout', `TURN server ${server} did not complete ${what} within ${Math.round(ms)} ms. Raise --timeout, or check for packet loss.`);
  }
}

/** The server's answer broke the protocol (missing attribute, integrity mismatch, bad framing). */
export class TurnProtocolError extends NatProbeError {
  constructor(server: string, detail: string) {
    super('turn-protocol', `TURN server ${server} sent an invalid answer: ${detail}.`);
  }
}

/** The allocation was closed (or its connection lost) before this operation. */
export class TurnClosedError extends NatProbeError {
  constructor(what: string) {
    super('turn-closed', `Cannot ${what}: the TURN allocation is closed.`);
  }
}

/**
 * The TLS handshake with a turns: server failed after the TCP connection was up (RFC 8656 §3.1):
 * the certificate was not accepted, or the port does not speak TLS. `reason` is the verifier's
 * own words (e.g. "self-signed certificate"), `advice` what to do about it.
 */
export class TurnTlsError extends NatProbeError {
  /** The TLS stack's code, e.g. DEPTH_ZERO_SELF_SIGNED_CERT or ERR_TLS_CERT_ALTNAME_INVALID; undefined for a timeout. */
  readonly tlsCode: string | undefined;
  constructor(server: string, reason: string, advice: string, tlsCode: string | undefined, cause?: unknown) {
    super('turn-tls-failed', `TURN server ${server}: the TLS handshake failed: ${reason}. ${advice}.`, { cause });
    this.tlsCode = tlsCode;
  }
}
