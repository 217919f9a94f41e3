/**
 * The address `peer` and `trials` bind when the user gave no `--bind`.
 *
 * When every server the peers will talk to is on this host (the built-in servers of `trials`, or
 * signaling, STUN and TURN given as loopback addresses), the run is a self-test of one machine:
 * both peers are here, so loopback reaches everything. Binding every interface would instead
 * gather this machine's network addresses as host candidates and send connectivity checks to
 * them, which a self-test has no business doing. Otherwise the peers bind every interface, as a
 * peer on a real network must.
 */
import { isLoopbackAddress } from '../stun/index.js';
import { parseTurnUrl } from '../turn/url.js';

export interface PeerServers {
  /** --signal URLs; none means the built-in signaling server (on loopback). */
  readonly signalUrls?: readonly string[];
  /** The resolved --stun address, if any. */
  readonly stunHost?: string;
  /** --turn URLs, if any. */
  readonly turnUrls?: readonly string[];
}

function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  return bare.toLowerCase() === 'localhost' || isLoopbackAddress(bare);
}

function turnHost(url: string): string | undefined {
  try {
    return parseTurnUrl(url).host;
  } catch {
    return undefined; // the TURN flags report a bad URL themselves
  }
}

/** `explicit` when given; else loopback (::1 when a server is on ::1) if every server is on loopback; else undefined (every interface). */
export function peerBindAddress(explicit: string | undefined, servers: PeerServers): string | undefined {
  if (explicit !== undefined) return explicit;
  const hosts: (string | undefined)[] = [
    ...(servers.signalUrls ?? []).map((url) => {
      try {
        return new URL(url).hostname;
      } catch {
        return undefined;
      }
    }),
    ...(servers.stunHost !== undefined ? [servers.stunHost] : []),
    ...(servers.turnUrls ?? []).map(turnHost),
  ];
  const given = hosts.filter((h): h is string => h !== undefined);
  if (hosts.length !== given.length || !given.every(isLoopbackHost)) return undefined;
  // No --signal means the built-in servers, which listen on 127.0.0.1.
  return given.some((h) => h.replace(/^\[|\]$/g, '') === '::1') ? '::1' : '127.0.0.1';
}
