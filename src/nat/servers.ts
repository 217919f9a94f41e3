import { lookup } from 'node:dns/promises';
import { NatProbeError } from '../errors.js';
import { parseIp, type TransportAddress } from '../stun/index.js';

/** RFC 8489 §9: the default STUN port. */
export const DEFAULT_STUN_PORT = 3478;

export interface ServerSpec {
  /** As the user wrote it, or the built-in name. */
  label: string;
  host: string;
  port: number;
  /** Built-in servers are tagged by what they are used for. */
  role?: 'rfc5780' | 'independent';
}

export interface ResolvedServer {
  label: string;
  address: TransportAddress;
  role?: ServerSpec['role'];
}

/**
 * Built-in public servers, used only when no --server is given. The RFC 5780 ones serve the
 * filtering tests; the independent ones (different operators, different networks) show whether
 * the mapping changes with the destination.
 */
export const DEFAULT_PUBLIC_SERVERS: readonly ServerSpec[] = [
  { label: 'stunserver.stunprotocol.org', host: 'stunserver.stunprotocol.org', port: 3478, role: 'rfc5780' },
  { label: 'stun.voipgate.com', host: 'stun.voipgate.com', port: 3478, role: 'rfc5780' },
  { label: 'stun.l.google.com:19302', host: 'stun.l.google.com', port: 19302, role: 'independent' },
  { label: 'stun.cloudflare.com', host: 'stun.cloudflare.com', port: 3478, role: 'independent' },
];

export class ServerSpecError extends NatProbeError {
  constructor(spec: string, why: string) {
    super('bad-server', `Invalid --server "${spec}": ${why}. Use host, host:port, IPv4:port or [IPv6]:port (default port ${DEFAULT_STUN_PORT}).`);
  }
}

export class ServerResolveError extends NatProbeError {
  constructor(label: string, cause: unknown) {
    super('server-unresolvable', `Cannot resolve STUN server "${label}": ${(cause as Error).message ?? String(cause)}. Check the name and your DNS.`, { cause });
  }
}

/** Parses `host`, `host:port`, `1.2.3.4:port`, `[v6]:port`, or a bare IPv6 literal; accepts a `stun:` prefix. */
export function parseServerSpec(text: string): ServerSpec {
  const spec = text.trim().replace(/^stuns?:/i, '');
  if (spec.length === 0) throw new ServerSpecError(text, 'it is empty');
  let host: string;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(spec);
  if (bracketed) {
    host = bracketed[1]!;
    portText = bracketed[2];
  } else if (parseIp(spec)?.family === 6) {
    host = spec;
  } else {
    const parts = spec.split(':');
    if (parts.length > 2) throw new ServerSpecError(text, 'put IPv6 addresses in brackets, e.g. [2001:db8::1]:3478');
    host = parts[0]!;
    portText = parts[1];
  }
  if (host.length === 0) throw new ServerSpecError(text, 'the host is empty');
  if (!/^[A-Za-z0-9.\-:%_]+$/.test(host)) throw new ServerSpecError(text, 'the host has characters a host name cannot have');
  let port = DEFAULT_STUN_PORT;
  if (portText !== undefined) {
    port = Number(portText);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ServerSpecError(text, `port ${portText} is not 1-65535`);
  }
  return { label: text.trim(), host, port };
}

/** Resolves a server for one address family; undefined when it has no address in that family. */
export async function resolveServer(spec: ServerSpec, family: 4 | 6): Promise<ResolvedServer | undefined> {
  const literal = parseIp(spec.host);
  if (literal) {
    return literal.family === family
      ? { label: spec.label, address: { family, address: spec.host, port: spec.port }, role: spec.role }
      : undefined;
  }
  try {
    const addresses = await lookup(spec.host, { all: true, family });
    const first = addresses[0];
    return first ? { label: spec.label, address: { family, address: first.address, port: spec.port }, role: spec.role } : undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOTFOUND' || code === 'ENODATA') return undefined;
    throw new ServerResolveError(spec.label, error);
  }
}
