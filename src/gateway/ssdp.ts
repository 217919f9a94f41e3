/**
 * SSDP discovery of a UPnP Internet Gateway Device (UPnP Device Architecture 1.1 §1.3.2):
 * the M-SEARCH request and the parsing of its HTTP-over-UDP answers. Pure: no sockets.
 */
import { GatewayDecodeError } from './errors.js';

/** UDA 1.1 §1.3.2: the SSDP multicast group and port. */
export const SSDP_MULTICAST_ADDRESS = '239.255.255.250';
export const SSDP_PORT = 1900;
/** The device type every IGD (v1 and v2) announces; v2 devices answer v1 searches too. */
export const IGD_SEARCH_TARGET = 'urn:schemas-upnp-org:device:InternetGatewayDevice:1';

/**
 * UDA 1.1 §1.3.2. A multicast search carries MX (seconds the device may wait before answering,
 * to spread answers out); a unicast search to one device must not carry it, and HOST names the
 * device. The gateway is asked by unicast first, so no other device on the LAN is involved.
 */
export function encodeMSearch(options: { unicastTo?: { address: string; port: number }; mxSeconds?: number; searchTarget?: string }): string {
  const host = options.unicastTo ? `${options.unicastTo.address}:${options.unicastTo.port}` : `${SSDP_MULTICAST_ADDRESS}:${SSDP_PORT}`;
  const lines = ['M-SEARCH * HTTP/1.1', `HOST: ${host}`, 'MAN: "ssdp:discover"'];
  if (!options.unicastTo) lines.push(`MX: ${options.mxSeconds ?? 1}`);
  lines.push(`ST: ${options.searchTarget ?? IGD_SEARCH_TARGET}`, '', '');
  return lines.join('\r\n');
}

export interface SsdpResponse {
  /** URL of the device description (the LOCATION header). */
  location: string;
  /** The ST header: which device or service type answered. */
  searchTarget: string;
  server?: string;
  usn?: string;
}

/** An M-SEARCH answer: "HTTP/1.1 200 OK" and headers, case-insensitive names (UDA 1.1 §1.3.3). */
export function decodeSsdpResponse(text: string): SsdpResponse {
  const lines = text.split(/\r?\n/);
  if (!/^HTTP\/1\.[01] 200\b/i.test(lines[0] ?? '')) throw new GatewayDecodeError('ssdp', `first line "${(lines[0] ?? '').slice(0, 40)}" is not "HTTP/1.1 200 OK"`);
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const location = headers.get('location');
  if (!location || !/^https?:\/\//i.test(location)) throw new GatewayDecodeError('ssdp', 'the answer has no http LOCATION header');
  return { location, searchTarget: headers.get('st') ?? '', server: headers.get('server'), usn: headers.get('usn') };
}
