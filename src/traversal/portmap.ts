/**
 * The `portmap` strategy's mapping: one NAT-PMP UDP mapping (RFC 6886 §3.3) of the session's ICE
 * host socket on the default gateway, for the length of the session only — or, when the gateway
 * answers that it speaks only PCP (result 1, Unsupported Version: RFC 6887 §9), one PCP MAP
 * (RFC 6887 §11, a random 96-bit nonce that renewals and the deletion repeat); or, when neither
 * answers, UPnP IGD AddPortMapping on the service a unicast M-SEARCH found (gateway/upnp-map.ts;
 * the discovery is state-free and starts once NAT-PMP has been silent for 250 ms). The protocol code
 * is gateway/map.ts, the same `detect --map` uses; this file owns the mapping's life:
 *
 *   acquire   the external address (§3.2) and the mapping (§3.3) asked at once, so the whole
 *             exchange is one gateway round trip; both bounded (two sends, given up at
 *             1.25 s), so a gateway that does not speak NAT-PMP costs the behaviour exchange
 *             at most that;
 *   renew     at half the granted lifetime (§3.3: "the client SHOULD begin trying to renew the
 *             mapping halfway to expiry"), suggesting the port it has;
 *   release   deletion (§3.4: lifetime 0) when the session no longer needs it — at once when
 *             the plan does not use it, otherwise when the session ends. The lifetime asked for
 *             is short (120 s), so a mapping whose deletion is lost, or whose process dies,
 *             expires on its own soon after.
 *
 * Who may ask: never with every server on loopback or with an embedded self-test (the caller's
 * `skip`, from nat/port-mapping.ts portMappingSkipReason, the rule `detect` follows), and only
 * when the user asked for portmap (`--strategy portmap` or `all`).
 */
import { randomBytes } from 'node:crypto';
import {
  findDefaultGateway,
  findUpnpService,
  mapUdpPort,
  natPmpExternalAddress,
  pcpMapUdpPort,
  unmapUdpPort,
  upnpAddPortMapping,
  upnpDeletePortMapping,
  upnpExternalAddress,
  type UdpMappingOptions,
  type UpnpService,
} from '../gateway/index.js';
import type { Clock, TimerHandle } from '../transport/clock.js';
import { TRAVERSAL_DEFAULTS, type PortmapOffer, type PortmapProtocol, type PortmapReport } from './types.js';

export interface SessionPortMappingOptions {
  readonly gateway: string;
  readonly internalPort: number;
  /** The ICE host socket's address: the gateway maps for the address the request comes from. */
  readonly bindAddress: string;
  readonly lifetimeSeconds?: number;
  /** NAT-PMP and PCP port (tests). Default 5351. */
  readonly port?: number;
  /** SSDP port for UPnP discovery (tests). Default 1900. */
  readonly ssdpPort?: number;
  readonly clock: Clock;
  readonly signal: AbortSignal;
}

/** The gateway to ask: the option, else the default route's next hop; undefined when there is none. */
export async function portmapGateway(explicit: string | undefined): Promise<string | undefined> {
  return explicit ?? (await findDefaultGateway())?.address;
}

export class SessionPortMapping {
  private protocol: PortmapProtocol = 'nat-pmp';
  /** PCP: the mapping's nonce (RFC 6887 §11.1), repeated by renewals and the deletion. */
  private readonly nonce = new Uint8Array(randomBytes(12));
  /** UPnP: the IGD's WAN connection service the mapping was added on. */
  private upnp: UpnpService | undefined;
  private externalAddress: string | undefined;
  private externalPort: number | undefined;
  private grantedSeconds: number | undefined;
  private durationMs: number | undefined;
  private renewals = 0;
  private error: string | undefined;
  private advertised = false;
  private deleted = false;
  private released: Promise<void> | undefined;
  private renewTimer: TimerHandle | undefined;

  private constructor(private readonly o: SessionPortMappingOptions) {}

  /** Asks for the mapping; never rejects (a refusal or silence is in the report and the offer). */
  static async acquire(options: SessionPortMappingOptions): Promise<SessionPortMapping> {
    const mapping = new SessionPortMapping(options);
    await mapping.request();
    return mapping;
  }

  get mapped(): boolean {
    return this.externalPort !== undefined && this.externalAddress !== undefined && !this.deleted;
  }

  /** What the other side is told (messages.ts `behaviour.portmap`). */
  offer(): PortmapOffer {
    if (this.externalPort !== undefined && this.externalAddress !== undefined) return { mapped: true, protocol: this.protocol, address: this.externalAddress, port: this.externalPort };
    return { mapped: false, reason: this.error ?? 'not mapped' };
  }

  /** The plan uses the mapping: it was signalled as a candidate. */
  markAdvertised(): void {
    this.advertised = true;
  }

  report(): PortmapReport {
    return {
      protocol: this.protocol,
      gateway: this.o.gateway,
      internalPort: this.o.internalPort,
      mapped: this.externalPort !== undefined,
      ...(this.externalAddress !== undefined ? { externalAddress: this.externalAddress } : {}),
      ...(this.externalPort !== undefined ? { externalPort: this.externalPort } : {}),
      ...(this.grantedSeconds !== undefined ? { lifetimeSeconds: this.grantedSeconds } : {}),
      ...(this.durationMs !== undefined ? { durationMs: this.durationMs } : {}),
      renewals: this.renewals,
      advertised: this.advertised,
      deleted: this.deleted,
      ...(this.error !== undefined ? { error: this.error } : {}),
    };
  }

  /** Deletes the mapping (once; bounded by the request schedule). Never rejects. */
  release(): Promise<void> {
    this.released ??= (async () => {
      if (this.renewTimer !== undefined) this.o.clock.clearTimeout(this.renewTimer);
      if (this.externalPort === undefined) return;
      // Not the session's abort signal: the session is ending when this runs, and the deletion
      // must still go out.
      const options = this.requestOptions(new AbortController().signal);
      // RFC 6886 §3.4 / RFC 6887 §15: lifetime 0 deletes (PCP: with the mapping's own nonce).
      const result =
        this.protocol === 'pcp'
          ? await pcpMapUdpPort({ ...options, lifetimeSeconds: 0, clientAddress: this.o.bindAddress, nonce: this.nonce, suggestedExternalPort: 0 })
          : this.protocol === 'upnp' && this.upnp !== undefined
            ? await upnpDeletePortMapping(this.upnp, this.externalPort)
            : await unmapUdpPort(options);
      if (result.ok) this.deleted = true;
      else this.error = `deleting the mapping failed (${result.error}); it expires within ${this.grantedSeconds ?? '?'} s`;
    })();
    return this.released;
  }

  private requestOptions(signal: AbortSignal): UdpMappingOptions {
    return {
      gateway: this.o.gateway,
      internalPort: this.o.internalPort,
      bindAddress: this.o.bindAddress,
      lifetimeSeconds: this.o.lifetimeSeconds ?? TRAVERSAL_DEFAULTS.portmapLifetimeSeconds,
      ...(this.o.port !== undefined ? { port: this.o.port } : {}),
      rtoMs: TRAVERSAL_DEFAULTS.portmapRtoMs,
      maxAttempts: TRAVERSAL_DEFAULTS.portmapAttempts,
      clock: this.o.clock,
      signal,
    };
  }

  private async request(): Promise<void> {
    const started = this.o.clock.now();
    const options = this.requestOptions(this.o.signal);
    // UPnP discovery (state-free: a unicast M-SEARCH to the gateway and its description) starts
    // when NAT-PMP has stayed silent for its first retransmission timeout, so a gateway that
    // answers NAT-PMP sees no UPnP traffic (in the 36-cell lab matrix, with the search beside
    // NAT-PMP from the start, single-threaded miniupnpd's time to a mapping went from a per-cell
    // median of 14–15 ms to 33 ms, max 162 ms), and one that speaks only UPnP costs little
    // extra wait. It is dropped as soon as NAT-PMP or PCP answers.
    const upnpAbort = new AbortController();
    const onAbort = (): void => upnpAbort.abort();
    this.o.signal.addEventListener('abort', onAbort, { once: true });
    let upnp: ReturnType<typeof findUpnpService> | undefined;
    const startUpnp = (): ReturnType<typeof findUpnpService> =>
      (upnp ??= findUpnpService({ gateway: this.o.gateway, bindAddress: this.o.bindAddress, ...(this.o.ssdpPort !== undefined ? { ssdpPort: this.o.ssdpPort } : {}), rtoMs: TRAVERSAL_DEFAULTS.portmapRtoMs, maxAttempts: TRAVERSAL_DEFAULTS.portmapAttempts, clock: this.o.clock, signal: upnpAbort.signal }));
    const upnpTimer = this.o.clock.setTimeout(() => void startUpnp(), TRAVERSAL_DEFAULTS.portmapRtoMs);
    try {
      const [address, mapping] = await Promise.all([natPmpExternalAddress(options), mapUdpPort(options)]);
      if (mapping.ok || mapping.resultCode !== undefined) this.o.clock.clearTimeout(upnpTimer);
      let failures = mapping.ok ? '' : mapping.error;
      if (!mapping.ok && mapping.resultCode === 1) {
        // Not NAT-PMP (RFC 6887 §9): PCP MAP gives the port and the address in one exchange.
        const pcp = await pcpMapUdpPort({ ...options, clientAddress: this.o.bindAddress, nonce: this.nonce });
        if (pcp.ok) {
          upnpAbort.abort();
          this.protocol = 'pcp';
          await this.granted({ ok: true, address: pcp.externalAddress }, pcp.externalPort, pcp.lifetimeSeconds, started);
          return;
        }
        failures = `${failures}; ${pcp.error}`;
      }
      if (mapping.ok || (mapping.resultCode !== undefined && mapping.resultCode !== 1)) {
        // NAT-PMP answered (granted, or refused: UPnP on the same gateway would refuse too).
        upnpAbort.abort();
        if (!mapping.ok) {
          this.durationMs = this.since(started);
          this.error = mapping.error;
          return;
        }
        await this.granted(address, mapping.externalPort, mapping.lifetimeSeconds, started);
        return;
      }
      // Neither NAT-PMP nor PCP: UPnP IGD AddPortMapping (WANIPConnection §2.4.16).
      const found = await startUpnp();
      if (!found.ok) {
        this.durationMs = this.since(started);
        this.error = `${failures}; ${found.error}`;
        return;
      }
      this.protocol = 'upnp';
      this.upnp = found.service;
      const [external, added] = await Promise.all([
        upnpExternalAddress(found.service, this.o.signal),
        upnpAddPortMapping(found.service, this.upnpMapping(), this.o.signal),
      ]);
      if (!added.ok) {
        this.durationMs = this.since(started);
        this.error = added.error;
        return;
      }
      await this.granted(external, this.o.internalPort, this.o.lifetimeSeconds ?? TRAVERSAL_DEFAULTS.portmapLifetimeSeconds, started);
    } finally {
      this.o.clock.clearTimeout(upnpTimer);
      this.o.signal.removeEventListener('abort', onAbort);
      upnpAbort.abort();
      await upnp?.catch(() => undefined);
    }
  }

  /**
   * A mapping the gateway granted (NAT-PMP, PCP or UPnP): kept and renewed on the external address
   * the gateway states. A port without the address it is on is no candidate, so when the gateway
   * would not say the address, the mapping is given back at once.
   */
  private async granted(address: { ok: true; address: string } | { ok: false; error: string }, port: number, lifetimeSeconds: number, started: number): Promise<void> {
    this.durationMs = this.since(started);
    this.externalPort = port;
    this.grantedSeconds = lifetimeSeconds;
    if (!address.ok) {
      this.error = address.error;
      await this.release();
      return;
    }
    this.externalAddress = address.address;
    this.scheduleRenewal();
  }

  private since(started: number): number {
    return Math.round((this.o.clock.now() - started) * 10) / 10;
  }

  /** UPnP: the external port is the internal one (as NAT-PMP suggests); asking again refreshes it. */
  private upnpMapping(): { externalPort: number; internalPort: number; internalClient: string; lifetimeSeconds: number } {
    return { externalPort: this.o.internalPort, internalPort: this.o.internalPort, internalClient: this.o.bindAddress, lifetimeSeconds: this.o.lifetimeSeconds ?? TRAVERSAL_DEFAULTS.portmapLifetimeSeconds };
  }

  private scheduleRenewal(): void {
    const seconds = this.grantedSeconds ?? 0;
    if (seconds <= 0 || this.released !== undefined) return;
    this.renewTimer = this.o.clock.setTimeout(() => {
      this.renewTimer = undefined;
      if (this.released !== undefined || this.o.signal.aborted) return;
      const options = { ...this.requestOptions(this.o.signal), suggestedExternalPort: this.externalPort };
      const renewal =
        this.protocol === 'pcp'
          ? pcpMapUdpPort({ ...options, clientAddress: this.o.bindAddress, nonce: this.nonce })
          : this.protocol === 'upnp' && this.upnp !== undefined
            ? upnpAddPortMapping(this.upnp, this.upnpMapping(), this.o.signal).then((r) => (r.ok ? { ok: true as const, externalPort: this.o.internalPort, lifetimeSeconds: this.grantedSeconds ?? 0 } : r))
            : mapUdpPort(options);
      void renewal.then((result) => {
        if (this.released !== undefined) return;
        if (result.ok && result.externalPort === this.externalPort) {
          this.renewals++;
          this.grantedSeconds = result.lifetimeSeconds;
          this.scheduleRenewal();
        } else {
          this.error = result.ok ? `the renewal moved the mapping to port ${result.externalPort}` : `renewal failed: ${result.error}`;
        }
      });
    }, (seconds * 1000) / 2);
  }
}
