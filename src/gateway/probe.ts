/**
 * Asks the default gateway, in parallel, whether it speaks NAT-PMP (RFC 6886), PCP (RFC 6887)
 * and UPnP IGD, and what external address it states. Creates no mapping: the NAT-PMP external
 * address request, PCP ANNOUNCE, SSDP M-SEARCH, the description and GetExternalIPAddress all
 * leave no state on the gateway.
 *
 * Where this sends: only to `gateway` (unicast) and, when `multicast` is on and the unicast
 * M-SEARCH got no answer, to the SSDP group with TTL 1 (the local link). Callers decide whether
 * the gateway may be asked at all (`detect` never asks it for loopback-only or embedded runs).
 */
import { SystemClock, UdpEndpoint, type Clock, type ReceivedDatagram, type TimerHandle } from '../transport/index.js';
import type { GatewayEvent } from './events.js';
import { httpText } from './http.js';
import { encodeSoapAction, parseExternalIpResponse, parseIgdDescription } from './igd.js';
import { decodeExternalAddressResponse, encodeExternalAddressRequest, NAT_PMP_PORT, NAT_PMP_RESULT } from './natpmp.js';
import { decodePcpResponseHeader, encodeAnnounceRequest, PCP_OPCODE, PCP_PORT, PCP_RESULT, PCP_VERSION } from './pcp.js';
import { decodeSsdpResponse, encodeMSearch, SSDP_MULTICAST_ADDRESS, SSDP_PORT, type SsdpResponse } from './ssdp.js';
import type { GatewayReport, PortMappingProtocolReport } from './types.js';

export interface GatewayProbeOptions {
  /** The gateway's IPv4 address (the default route's next hop). */
  gateway: string;
  /** This host's address as the gateway sees it, for the PCP header. Default: the bound socket's. */
  clientAddress?: string;
  /** Ports to ask; tests point these at loopback fakes. Defaults: 5351, 5351, 1900. */
  ports?: { natPmp?: number; pcp?: number; ssdp?: number };
  /** After an unanswered unicast M-SEARCH, search the SSDP group too. Default true. */
  multicast?: boolean;
  /** Override of the SSDP group, for tests. Default 239.255.255.250:1900. */
  multicastTarget?: { address: string; port: number };
  /** How long the unicast M-SEARCH may stay unanswered before the multicast one. Default 250 ms. */
  unicastSsdpWaitMs?: number;
  /** First retransmission timeout. Default 250 ms (RFC 6886 §3.1). */
  rtoMs?: number;
  /** Sends per UDP request (doubling intervals). Default 4, so 4 losses in a row make a false "absent". */
  maxAttempts?: number;
  /** Hard cap on the whole probe. Default 5000 ms. */
  timeoutMs?: number;
  /**
   * Soft stop: when it fires, protocols that have had no answer at all are given up (reported
   * absent); a UPnP conversation already under way continues until the hard cap. `detect`
   * fires it when its STUN tests end, so a silent gateway never makes detect slower.
   */
  quiet?: AbortSignal;
  /** Bind address for the probe sockets. Default 0.0.0.0. */
  bindAddress?: string;
  clock?: Clock;
  onEvent?: (event: GatewayEvent) => void;
}

/** RFC 6886 §3.1 starts at 250 ms and doubles. */
const DEFAULT_RTO_MS = 250;

export async function probeGateway(options: GatewayProbeOptions): Promise<GatewayReport> {
  const clock = options.clock ?? new SystemClock();
  const startedAt = clock.now();
  const hard = new AbortController();
  const hardTimer = clock.setTimeout(() => hard.abort(), options.timeoutMs ?? 5000);
  const emit = (report: PortMappingProtocolReport): PortMappingProtocolReport => {
    options.onEvent?.({ type: 'portmap-result', at: clock.now() - startedAt, gateway: options.gateway, report });
    return report;
  };
  try {
    const [natPmp, pcp, upnp] = await Promise.all([
      probeNatPmp(options, clock, hard.signal).then(emit),
      probePcp(options, clock, hard.signal).then(emit),
      probeUpnp(options, clock, hard.signal).then(emit),
    ]);
    return { gateway: options.gateway, natPmp, pcp, upnp, durationMs: Math.round((clock.now() - startedAt) * 10) / 10 };
  } finally {
    clock.clearTimeout(hardTimer);
  }
}

export type ExchangeOutcome<T> =
  | { kind: 'answer'; value: T; rttMs: number; sent: number }
  | { kind: 'malformed'; error: string; rttMs: number; sent: number }
  | { kind: 'silent'; sent: number; waitedMs: number; why: 'attempts' | 'quiet' | 'deadline' };

/**
 * Sends `payload` to `to` at 0, R, 3R, 7R … (doubling), then waits 2R after the last; the first
 * datagram from `to` decides. Only the gateway's own address and port are believed (RFC 6886
 * §3.1: "MUST check the source IP address"; RFC 6887 §8.3).
 */
export async function exchange<T>(
  endpoint: UdpEndpoint,
  to: { address: string; port: number },
  payload: Uint8Array,
  decode: (data: Buffer) => T,
  options: Pick<GatewayProbeOptions, 'rtoMs' | 'maxAttempts' | 'quiet'>,
  clock: Clock,
  hard: AbortSignal,
): Promise<ExchangeOutcome<T>> {
  const rto = options.rtoMs ?? DEFAULT_RTO_MS;
  const maxAttempts = options.maxAttempts ?? 4;
  const first = clock.now();
  let sent = 0;
  return new Promise((resolve) => {
    let timer: TimerHandle | undefined;
    const done = (outcome: ExchangeOutcome<T>): void => {
      if (timer) clock.clearTimeout(timer);
      stop();
      hard.removeEventListener('abort', onHard);
      options.quiet?.removeEventListener('abort', onQuiet);
      resolve(outcome);
    };
    const silent = (why: 'attempts' | 'quiet' | 'deadline') => (): void => done({ kind: 'silent', sent, waitedMs: clock.now() - first, why });
    const onHard = silent('deadline');
    const onQuiet = silent('quiet');
    const stop = endpoint.onDatagram((datagram: ReceivedDatagram) => {
      if (datagram.from.address !== to.address || datagram.from.port !== to.port) return;
      const rttMs = clock.now() - first;
      try {
        done({ kind: 'answer', value: decode(datagram.data), rttMs, sent });
      } catch (error) {
        done({ kind: 'malformed', error: (error as Error).message, rttMs, sent });
      }
    });
    if (hard.aborted) return onHard();
    if (options.quiet?.aborted) return onQuiet();
    hard.addEventListener('abort', onHard, { once: true });
    options.quiet?.addEventListener('abort', onQuiet, { once: true });
    const send = (interval: number): void => {
      sent++;
      endpoint.send(payload, to).catch(() => undefined);
      timer = sent < maxAttempts ? clock.setTimeout(() => send(interval * 2), interval) : clock.setTimeout(silent('attempts'), interval * 2);
    };
    send(rto);
  });
}

function silenceMessage(outcome: { sent: number; waitedMs: number; why: 'attempts' | 'quiet' | 'deadline' }, what: string): string {
  const when = outcome.why === 'attempts' ? '' : outcome.why === 'quiet' ? ', given up when the STUN tests ended' : ', cut by the time budget';
  return `no ${what} answer to ${outcome.sent} request(s) in ${Math.round(outcome.waitedMs)} ms${when}`;
}

async function withSocket<T>(options: GatewayProbeOptions, run: (endpoint: UdpEndpoint) => Promise<T>): Promise<T> {
  const endpoint = await UdpEndpoint.bind({ family: 4, address: options.bindAddress });
  try {
    return await run(endpoint);
  } finally {
    await endpoint.close();
  }
}

async function probeNatPmp(options: GatewayProbeOptions, clock: Clock, hard: AbortSignal): Promise<PortMappingProtocolReport> {
  const to = { address: options.gateway, port: options.ports?.natPmp ?? NAT_PMP_PORT };
  try {
    return await withSocket(options, async (endpoint) => {
      const outcome = await exchange(endpoint, to, encodeExternalAddressRequest(), decodeExternalAddressResponse, options, clock, hard);
      if (outcome.kind === 'silent') return { protocol: 'nat-pmp', present: false, sent: outcome.sent, error: silenceMessage(outcome, 'NAT-PMP') };
      const rttMs = round1(outcome.rttMs);
      if (outcome.kind === 'malformed') return { protocol: 'nat-pmp', present: true, sent: outcome.sent, rttMs, error: `the answer on port ${to.port} is not NAT-PMP: ${outcome.error}` };
      const r = outcome.value;
      if (r.version !== 0) {
        // A PCP server that does not speak NAT-PMP answers with its own version (RFC 6887 §9).
        return { protocol: 'nat-pmp', present: false, sent: outcome.sent, rttMs, error: `the gateway answered in version ${r.version}, not NAT-PMP (result ${r.resultCode})` };
      }
      const result = { code: r.resultCode, name: NAT_PMP_RESULT[r.resultCode] ?? `result ${r.resultCode}` };
      return {
        protocol: 'nat-pmp',
        present: true,
        version: '0',
        result,
        epochSeconds: r.epochSeconds,
        rttMs,
        sent: outcome.sent,
        ...(r.resultCode === 0 ? { externalAddress: r.externalAddress } : { error: `NAT-PMP answered ${result.code} ${result.name} (RFC 6886 §3.5)` }),
      };
    });
  } catch (error) {
    return { protocol: 'nat-pmp', present: false, sent: 0, error: (error as Error).message };
  }
}

async function probePcp(options: GatewayProbeOptions, clock: Clock, hard: AbortSignal): Promise<PortMappingProtocolReport> {
  const to = { address: options.gateway, port: options.ports?.pcp ?? PCP_PORT };
  try {
    return await withSocket(options, async (endpoint) => {
      const client = options.clientAddress ?? endpoint.local.address;
      const outcome = await exchange(endpoint, to, encodeAnnounceRequest(client), decodePcpResponseHeader, options, clock, hard);
      if (outcome.kind === 'silent') return { protocol: 'pcp', present: false, sent: outcome.sent, error: silenceMessage(outcome, 'PCP') };
      const rttMs = round1(outcome.rttMs);
      if (outcome.kind === 'malformed') return { protocol: 'pcp', present: true, sent: outcome.sent, rttMs, error: `the answer on port ${to.port} is not PCP: ${outcome.error}` };
      const r = outcome.value;
      if (r.version !== PCP_VERSION) {
        // RFC 6887 §9: a NAT-PMP-only gateway answers version 0, UNSUPP_VERSION.
        return { protocol: 'pcp', present: false, sent: outcome.sent, rttMs, error: `the gateway answered in version ${r.version} (result ${r.resultCode}): NAT-PMP only, no PCP` };
      }
      const result = { code: r.resultCode, name: PCP_RESULT[r.resultCode] ?? `result ${r.resultCode}` };
      const ok = r.resultCode === 0 && r.opcode === PCP_OPCODE.announce;
      return {
        protocol: 'pcp',
        present: true,
        version: String(r.version),
        result,
        epochSeconds: r.epochSeconds,
        rttMs,
        sent: outcome.sent,
        ...(ok
          ? {}
          : {
              error:
                r.resultCode === 12
                  ? `PCP answered ADDRESS_MISMATCH: it saw another source than ${client}, so a NAT sits between this host and the gateway (RFC 6887 §8.1)`
                  : `PCP answered ${result.code} ${result.name} (RFC 6887 §7.4)`,
            }),
      };
    });
  } catch (error) {
    return { protocol: 'pcp', present: false, sent: 0, error: (error as Error).message };
  }
}

async function probeUpnp(options: GatewayProbeOptions, clock: Clock, hard: AbortSignal): Promise<PortMappingProtocolReport> {
  let sent = 0;
  try {
    const found = await withSocket(options, (endpoint) => searchIgd(endpoint, options, clock, hard, () => sent++));
    if (found.kind === 'silent') return { protocol: 'upnp', present: false, sent, error: found.error };
    const { response, searchedBy, rttMs } = found;
    const upnp: NonNullable<PortMappingProtocolReport['upnp']> = { location: response.location, searchedBy, server: response.server };
    const base = { protocol: 'upnp' as const, present: true, sent, rttMs: round1(rttMs), upnp };
    // The conversation is under way: only the hard cap stops it now.
    const description = await httpText(response.location, { signal: hard });
    if (description.status !== 200) return { ...base, error: `the device description at ${response.location} answered HTTP ${description.status}` };
    const igd = parseIgdDescription(description.body, response.location);
    upnp.friendlyName = igd.friendlyName;
    if (!igd.service) return { ...base, version: igd.version, error: 'the IGD has no WANIPConnection or WANPPPConnection service' };
    upnp.serviceType = igd.service.serviceType;
    const soap = encodeSoapAction(igd.service.serviceType, 'GetExternalIPAddress');
    const answer = await httpText(igd.service.controlUrl, {
      method: 'POST',
      headers: { 'content-type': 'text/xml; charset="utf-8"', soapaction: soap.soapAction },
      body: soap.body,
      signal: hard,
    });
    const parsed = parseExternalIpResponse(answer.body);
    if ('errorCode' in parsed) {
      return { ...base, version: igd.version, result: { code: parsed.errorCode, name: parsed.errorDescription }, error: `GetExternalIPAddress failed: UPnP error ${parsed.errorCode} ${parsed.errorDescription}` };
    }
    return { ...base, version: igd.version, externalAddress: parsed.externalAddress };
  } catch (error) {
    const message = hard.aborted ? 'cut by the time budget during the UPnP conversation' : (error as Error).message;
    // Past the search, the device did answer: a failure later is an error of a present IGD.
    return { protocol: 'upnp', present: sent > 0, sent, error: message };
  }
}

export type SearchOutcome = { kind: 'found'; response: SsdpResponse; searchedBy: 'unicast' | 'multicast'; rttMs: number } | { kind: 'silent'; error: string };

/**
 * UDA 1.1 §1.3.2: M-SEARCH by unicast to the gateway first (retransmitted like the others),
 * and by multicast (MX 1, TTL 1) only if that stays unanswered for `unicastSsdpWaitMs`. The first
 * answer that parses wins.
 */
export function searchIgd(endpoint: UdpEndpoint, options: GatewayProbeOptions, clock: Clock, hard: AbortSignal, countSend: () => void): Promise<SearchOutcome> {
  const unicastTo = { address: options.gateway, port: options.ports?.ssdp ?? SSDP_PORT };
  const group = options.multicastTarget ?? { address: SSDP_MULTICAST_ADDRESS, port: SSDP_PORT };
  const multicast = options.multicast ?? true;
  const rto = options.rtoMs ?? DEFAULT_RTO_MS;
  const maxAttempts = options.maxAttempts ?? 4;
  const first = clock.now();
  const timers: TimerHandle[] = [];
  let multicastSent = false;
  let lastError: string | undefined;
  let unicastSends = 0;
  let multicastSends = 0;
  return new Promise((resolve) => {
    const done = (outcome: SearchOutcome): void => {
      for (const t of timers) clock.clearTimeout(t);
      stop();
      hard.removeEventListener('abort', onSilent);
      options.quiet?.removeEventListener('abort', onSilent);
      resolve(outcome);
    };
    const onSilent = (): void => {
      const tried = `${unicastSends} unicast${multicastSent ? ` and ${multicastSends} multicast` : ''} M-SEARCH(es)`;
      done({ kind: 'silent', error: lastError ? `no usable SSDP answer: ${lastError}` : `no SSDP answer to ${tried} in ${Math.round(clock.now() - first)} ms` });
    };
    const stop = endpoint.onDatagram((datagram) => {
      const fromGateway = datagram.from.address === unicastTo.address;
      if (!fromGateway && !multicastSent) return;
      try {
        const response = decodeSsdpResponse(datagram.data.toString('latin1'));
        done({ kind: 'found', response, searchedBy: multicastSent ? 'multicast' : 'unicast', rttMs: clock.now() - first });
      } catch (error) {
        lastError = `${datagram.from.address}:${datagram.from.port}: ${(error as Error).message}`;
      }
    });
    if (hard.aborted || options.quiet?.aborted) return onSilent();
    hard.addEventListener('abort', onSilent, { once: true });
    options.quiet?.addEventListener('abort', onSilent, { once: true });
    const unicast = Buffer.from(encodeMSearch({ unicastTo }));
    const sendUnicast = (interval: number): void => {
      unicastSends++;
      countSend();
      endpoint.send(unicast, unicastTo).catch(() => undefined);
      if (unicastSends < maxAttempts) timers.push(clock.setTimeout(() => sendUnicast(interval * 2), interval));
      else if (!multicast) timers.push(clock.setTimeout(onSilent, interval * 2));
    };
    sendUnicast(rto);
    if (multicast) {
      const search = Buffer.from(encodeMSearch({ mxSeconds: 1 }));
      const sendMulticast = (interval: number): void => {
        multicastSent = true;
        multicastSends++;
        countSend();
        endpoint.send(search, group).catch(() => undefined);
        // MX 1: devices answer within a second of the search.
        timers.push(multicastSends < 2 ? clock.setTimeout(() => sendMulticast(interval), interval) : clock.setTimeout(onSilent, 1000 + interval));
      };
      timers.push(clock.setTimeout(() => sendMulticast(rto), options.unicastSsdpWaitMs ?? 250));
    }
  });
}

const round1 = (ms: number): number => Math.round(ms * 10) / 10;
