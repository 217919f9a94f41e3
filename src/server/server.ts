import { StunDecodeError, decodeMessage, type TransportAddress } from '../stun/index.js';
import { formatAddress, type ReceivedDatagram } from '../transport/index.js';
import { answerRequest, type ServerView } from './binding-response.js';
import type { StunServerEvent } from './events.js';
import { resolveServerOptions, type ResolvedServerOptions, type StunServerOptions } from './options.js';
import { SourceRateLimiter } from './rate-limiter.js';
import { ROLE_LABELS, SOCKET_ROLES, type SocketRole } from './roles.js';
import { bindServerSockets, type ServerSockets } from './sockets.js';
import { copyStats, emptyStats, type SocketStats, type StunServerStats } from './stats.js';

/** Where each socket of the server is bound; the alternates exist only with an alternate address. */
export interface StunServerAddresses {
  /** A1:P1, the address clients are given. */
  primary: TransportAddress;
  /** A2:P1. */
  alternateIp?: TransportAddress;
  /** A1:P2. */
  alternatePort?: TransportAddress;
  /** A2:P2, the OTHER-ADDRESS of a request to the primary. */
  alternateIpAndPort?: TransportAddress;
}

export interface StunServer {
  readonly addresses: StunServerAddresses;
  /** True when the server has an alternate address and port and so serves RFC 5780 tests. */
  readonly rfc5780: boolean;
  /** A snapshot of the counters. */
  stats(): StunServerStats;
  /** A few lines for people: the addresses and what the server can do. */
  describe(): string;
  /** Closes every socket. Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts a STUN server (RFC 8489 Binding), with RFC 5780 NAT behaviour discovery when an
 * alternate address is given, and RFC 3489 answers for cookie-less requests. Rejects with
 * StunServerError when the options are invalid or the sockets cannot be bound.
 */
export async function startStunServer(options: StunServerOptions = {}): Promise<StunServer> {
  const resolved = resolveServerOptions(options);
  const sockets = await bindServerSockets(resolved);
  return new RunningStunServer(resolved, sockets);
}

class RunningStunServer implements StunServer {
  readonly addresses: StunServerAddresses;
  readonly rfc5780: boolean;
  private readonly roles: SocketRole[];
  private readonly counters: StunServerStats;
  private readonly limiter: SourceRateLimiter | undefined;
  private readonly view: ServerView;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly options: ResolvedServerOptions,
    private readonly sockets: ServerSockets,
  ) {
    this.roles = SOCKET_ROLES.filter((role) => sockets[role] !== undefined);
    this.rfc5780 = this.roles.length === 4;
    this.addresses = Object.fromEntries(this.roles.map((role) => [role, { ...sockets[role]!.local }])) as unknown as StunServerAddresses;
    this.counters = emptyStats(this.roles);
    this.limiter = options.rateLimit ? new SourceRateLimiter(options.rateLimit, options.clock) : undefined;
    this.view = {
      rfc5780: this.rfc5780,
      addressOf: (role) => this.addresses[role],
      originKnown: !options.primaryIsWildcard,
      software: options.software,
      maxResponsePadding: options.maxResponsePadding,
    };
    for (const role of this.roles) {
      const socket = sockets[role]!;
      const socketStats = this.counters.bySocket[role]!;
      socket.onDatagram((datagram) => this.receive(role, socketStats, datagram));
      socket.onSendFailure((error, to) => {
        this.counters.sendFailures++;
        if (this.options.onEvent) this.emit({ type: 'send-failed', at: this.options.clock.now(), sentFrom: role, to, message: error.message });
      });
    }
  }

  stats(): StunServerStats {
    return copyStats(this.counters);
  }

  describe(): string {
    const kind = this.rfc5780 ? 'RFC 8489 Binding + RFC 5780 NAT behaviour discovery + RFC 3489 clients' : 'RFC 8489 Binding + RFC 3489 clients';
    const lines = [`STUN server (${kind})`];
    for (const role of this.roles) lines.push(`  ${ROLE_LABELS[role].padEnd(32)} ${formatAddress(this.addresses[role]!)}`);
    if (!this.rfc5780) {
      lines.push('  RFC 5780 tests unavailable: no alternate address, so no OTHER-ADDRESS, and CHANGE-REQUEST is answered 420.');
      lines.push('  Give an alternate IP address of this host to enable them.');
    }
    const limit = this.options.rateLimit;
    lines.push(limit ? `  rate limit: ${limit.ratePerSecond} requests/s per source IP, burst ${limit.burst}` : '  rate limit: off');
    lines.push('  responses never exceed the request size beyond the RFC-mandatory attributes (amplification guard)');
    return lines.join('\n');
  }

  close(): Promise<void> {
    this.closing ??= Promise.all(this.roles.map((role) => this.sockets[role]!.close())).then(() => undefined);
    return this.closing;
  }

  private emit(event: StunServerEvent): void {
    if (!this.options.onEvent) return;
    try {
      this.options.onEvent(event);
    } catch {
      // A failing logger must not take the server down; the counters still record everything.
    }
  }

  /**
   * The hot path: one call per datagram. Counters first; events (objects, clock reads) only when
   * someone listens; the response goes out with no promise per datagram (sendDetached).
   */
  private receive(role: SocketRole, socketStats: SocketStats, { data, from }: ReceivedDatagram): void {
    const counters = this.counters;
    const onEvent = this.options.onEvent;
    counters.received++;
    socketStats.received++;
    try {
      // Limit before decoding: a flood of junk costs a source its tokens too.
      if (this.limiter && !this.limiter.allow(from.address)) {
        counters.rateLimited++;
        if (onEvent) this.emit({ type: 'rate-limited', at: this.options.clock.now(), from, receivedOn: role });
        return;
      }
      let message;
      try {
        message = decodeMessage(data);
      } catch (error) {
        if (!(error instanceof StunDecodeError)) throw error;
        // RFC 8489 §6.3: a malformed message is silently discarded.
        counters.malformed[error.reason] = (counters.malformed[error.reason] ?? 0) + 1;
        if (onEvent) this.emit({ type: 'malformed', at: this.options.clock.now(), from, receivedOn: role, reason: error.reason, detail: error.message });
        return;
      }
      const decision = answerRequest(message, data.length, from, role, this.view);
      if (decision.action === 'ignore') {
        counters.ignored[decision.reason]++;
        if (onEvent) this.emit({ type: 'ignored', at: this.options.clock.now(), from, receivedOn: role, reason: decision.reason });
        return;
      }
      counters.requests++;
      if (decision.legacy) counters.legacyRequests++;
      if (decision.trimmed.length > 0) counters.trimmedResponses++;
      if (decision.outcome === 'success') counters.responses.success++;
      else {
        counters.responses.error++;
        const code = decision.errorCode ?? 0;
        counters.responses.byErrorCode[code] = (counters.responses.byErrorCode[code] ?? 0) + 1;
      }
      counters.bySocket[decision.sendFrom]!.sent++;
      // A refused send is counted by the onSendFailure listener set up in the constructor.
      this.sockets[decision.sendFrom]!.sendDetached(decision.bytes, decision.to);
      if (onEvent) {
        this.emit({
          type: 'served',
          at: this.options.clock.now(),
          from,
          receivedOn: role,
          sentFrom: decision.sendFrom,
          to: decision.to,
          outcome: decision.outcome,
          ...(decision.errorCode === undefined ? {} : { errorCode: decision.errorCode }),
          legacy: decision.legacy,
          requestBytes: data.length,
          responseBytes: decision.bytes.length,
          trimmed: decision.trimmed,
        });
      }
    } catch {
      // Never die on a datagram: whatever slipped through is a bug, counted for the operator.
      counters.internalErrors++;
    }
  }
}
