/**
 * One UPnP IGD UDP port mapping (WANIPConnection:1 §2.4.16 AddPortMapping, §2.4.17
 * DeletePortMapping; WANIPConnection:2 keeps both), for the `portmap` strategy when the gateway
 * speaks neither NAT-PMP nor PCP. Discovery is the probe's own (`searchIgd`, unicast M-SEARCH to
 * the gateway only: a mapping is asked of the default gateway, never of whatever answers on the
 * multicast group), then the description and SOAP over `httpText`; nothing here is UDP beyond
 * the search.
 */
import { SystemClock, UdpEndpoint, type Clock } from '../transport/index.js';
import { httpText } from './http.js';
import { encodeSoapAction, parseExternalIpResponse, parseIgdDescription, parseUpnpError } from './igd.js';
import { searchIgd } from './probe.js';

export interface UpnpService {
  serviceType: string;
  controlUrl: string;
}

export interface UpnpFindOptions {
  gateway: string;
  /** SSDP port (tests). Default 1900. */
  ssdpPort?: number;
  bindAddress?: string;
  rtoMs?: number;
  maxAttempts?: number;
  clock?: Clock;
  signal?: AbortSignal;
}

/** The gateway's WAN connection service (IGD:1 or IGD:2), found by unicast M-SEARCH and its description. */
export async function findUpnpService(options: UpnpFindOptions): Promise<{ ok: true; service: UpnpService } | { ok: false; error: string }> {
  const clock = options.clock ?? new SystemClock();
  const signal = options.signal ?? new AbortController().signal;
  const endpoint = await UdpEndpoint.bind({ family: 4, address: options.bindAddress });
  try {
    const found = await searchIgd(
      endpoint,
      { gateway: options.gateway, multicast: false, ports: { ssdp: options.ssdpPort }, rtoMs: options.rtoMs, maxAttempts: options.maxAttempts },
      clock,
      signal,
      () => undefined,
    );
    if (found.kind === 'silent') return { ok: false, error: `UPnP: ${found.error}` };
    const description = await httpText(found.response.location, { signal });
    if (description.status !== 200) return { ok: false, error: `UPnP: the device description at ${found.response.location} answered HTTP ${description.status}` };
    const igd = parseIgdDescription(description.body, found.response.location);
    if (igd.service === undefined) return { ok: false, error: 'UPnP: the IGD has no WANIPConnection or WANPPPConnection service' };
    return { ok: true, service: igd.service };
  } catch (error) {
    return { ok: false, error: `UPnP: ${(error as Error).message}` };
  } finally {
    await endpoint.close();
  }
}

async function soap(service: UpnpService, action: string, args: ReadonlyArray<readonly [string, string | number]>, signal: AbortSignal | undefined): Promise<{ ok: true; body: string } | { ok: false; error: string; code?: number }> {
  const request = encodeSoapAction(service.serviceType, action, args);
  try {
    const answer = await httpText(service.controlUrl, {
      method: 'POST',
      headers: { 'content-type': 'text/xml; charset="utf-8"', soapaction: request.soapAction },
      body: request.body,
      ...(signal !== undefined ? { signal } : {}),
    });
    const fault = parseUpnpError(answer.body);
    if (fault !== undefined) return { ok: false, code: fault.errorCode, error: `UPnP ${action} failed: error ${fault.errorCode} ${fault.errorDescription}`.trim() };
    if (answer.status !== 200) return { ok: false, error: `UPnP ${action} answered HTTP ${answer.status}` };
    return { ok: true, body: answer.body };
  } catch (error) {
    return { ok: false, error: `UPnP ${action}: ${(error as Error).message}` };
  }
}

/**
 * AddPortMapping for UDP: external port `externalPort` (the caller suggests its internal port,
 * as NAT-PMP does) to internalClient:internalPort for `lifetimeSeconds` (NewLeaseDuration; IGD:2
 * requires 1–604800). Asking again with the same arguments refreshes it.
 */
export function upnpAddPortMapping(
  service: UpnpService,
  mapping: { externalPort: number; internalPort: number; internalClient: string; lifetimeSeconds: number; description?: string },
  signal?: AbortSignal,
): Promise<{ ok: true; body: string } | { ok: false; error: string; code?: number }> {
  return soap(
    service,
    'AddPortMapping',
    [
      ['NewRemoteHost', ''],
      ['NewExternalPort', mapping.externalPort],
      ['NewProtocol', 'UDP'],
      ['NewInternalPort', mapping.internalPort],
      ['NewInternalClient', mapping.internalClient],
      ['NewEnabled', 1],
      ['NewPortMappingDescription', mapping.description ?? 'nat-probe portmap'],
      ['NewLeaseDuration', mapping.lifetimeSeconds],
    ],
    signal,
  );
}

/** DeletePortMapping for UDP (WANIPConnection:1 §2.4.17). */
export function upnpDeletePortMapping(service: UpnpService, externalPort: number, signal?: AbortSignal): Promise<{ ok: true; body: string } | { ok: false; error: string; code?: number }> {
  return soap(
    service,
    'DeletePortMapping',
    [
      ['NewRemoteHost', ''],
      ['NewExternalPort', externalPort],
      ['NewProtocol', 'UDP'],
    ],
    signal,
  );
}

/** GetExternalIPAddress: where a mapping the IGD grants is reachable. */
export async function upnpExternalAddress(service: UpnpService, signal?: AbortSignal): Promise<{ ok: true; address: string } | { ok: false; error: string }> {
  const answer = await soap(service, 'GetExternalIPAddress', [], signal);
  if (!answer.ok) return answer;
  try {
    const parsed = parseExternalIpResponse(answer.body);
    if ('errorCode' in parsed) return { ok: false, error: `UPnP GetExternalIPAddress failed: error ${parsed.errorCode}` };
    if (parsed.externalAddress === '') return { ok: false, error: 'UPnP GetExternalIPAddress gave an empty address' };
    return { ok: true, address: parsed.externalAddress };
  } catch (error) {
    return { ok: false, error: `UPnP GetExternalIPAddress: ${(error as Error).message}` };
  }
}
