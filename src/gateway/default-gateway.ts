/**
 * Where the default gateway is: Linux's /proc/net/route, read for the namespace the process
 * runs in (so inside a lab client namespace it is the lab router). Elsewhere: unknown, and
 * `detect` says so rather than guessing.
 */
import { readFile } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';

export interface DefaultGateway {
  /** The next hop of the IPv4 default route. */
  address: string;
  /** The interface the route leaves by. */
  interface: string;
  /** This host's IPv4 address on that interface: what PCP must put in its header (RFC 6887 §8.1). */
  clientAddress?: string;
}

/** RTF_UP | RTF_GATEWAY (linux/route.h). */
const RTF_UP = 0x1;
const RTF_GATEWAY = 0x2;

/**
 * /proc/net/route: a header line, then one route a line, tab-separated; Destination, Gateway
 * and Mask are 32-bit hex in host byte order (little-endian on every Linux nat-probe runs on).
 * The default route is Destination 0 with mask 0; the lowest metric wins.
 */
export function parseProcNetRoute(text: string): Array<{ interface: string; address: string; metric: number }> {
  const routes: Array<{ interface: string; address: string; metric: number }> = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    const [iface, destination, gateway, flags, , , metric, mask] = f as [string, string, string, string, string, string, string, string];
    const flagBits = parseInt(flags, 16);
    if (destination !== '00000000' || mask !== '00000000' || (flagBits & (RTF_UP | RTF_GATEWAY)) !== (RTF_UP | RTF_GATEWAY)) continue;
    const n = parseInt(gateway, 16);
    const address = [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff].join('.');
    routes.push({ interface: iface, address, metric: Number(metric) });
  }
  return routes.sort((a, b) => a.metric - b.metric);
}

export async function findDefaultGateway(routeFile = '/proc/net/route'): Promise<DefaultGateway | undefined> {
  let text: string;
  try {
    text = await readFile(routeFile, 'utf8');
  } catch {
    return undefined;
  }
  const route = parseProcNetRoute(text)[0];
  if (!route) return undefined;
  const clientAddress = networkInterfaces()[route.interface]?.find((a) => a.family === 'IPv4')?.address;
  return { address: route.address, interface: route.interface, clientAddress };
}
