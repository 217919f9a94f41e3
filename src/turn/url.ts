import { isIP } from 'node:net';
import { TurnUrlError } from './errors.js';

/** How the client reaches the server (RFC 8656 §3.1): UDP, TCP, or TLS over TCP (`turns:`). */
export type TurnTransport = 'udp' | 'tcp' | 'tls';

export interface TurnServerAddress {
  host: string;
  port: number;
  transport: TurnTransport;
}

/** RFC 8656 §3: the default port for TURN over UDP and TCP. */
export const TURN_DEFAULT_PORT = 3478;

/** RFC 8656 §3: the default port for TURN over TLS (`turns:`, RFC 7065 §3). */
export const TURNS_DEFAULT_PORT = 5349;

// RFC 3986 reg-name, restricted to what DNS can carry: letters, digits, '-', '.'.
const HOST_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

/**
 * Parses turn:HOST[:PORT][?transport=udp|tcp] and turns:HOST[:PORT][?transport=tcp] (RFC 7065
 * §3.1). IPv6 literals are bracketed ("turn:[::1]:3478"). turns: is TLS over TCP on port 5349
 * by default (RFC 8656 §3.1); turns: with transport=udp would be DTLS, which nat-probe does not
 * speak, so it is refused with its own message.
 */
export function parseTurnUrl(url: string): TurnServerAddress {
  const text = url.trim();
  const colon = text.indexOf(':');
  const scheme = colon < 0 ? '' : text.slice(0, colon).toLowerCase();
  if (scheme !== 'turn' && scheme !== 'turns') throw new TurnUrlError(url, 'it must start with "turn:" or "turns:"');
  const secure = scheme === 'turns';
  let rest = text.slice(colon + 1);
  if (rest.startsWith('//')) throw new TurnUrlError(url, 'a TURN URL has no "//" (RFC 7065 §3.1)');

  let transport: TurnTransport = secure ? 'tls' : 'udp';
  const question = rest.indexOf('?');
  if (question >= 0) {
    const query = rest.slice(question + 1);
    rest = rest.slice(0, question);
    const match = /^transport=(.*)$/i.exec(query);
    if (!match) throw new TurnUrlError(url, `unknown query "${query}"; only transport=udp|tcp is defined`);
    const value = match[1]!.toLowerCase();
    if (secure) {
      // RFC 7065 §3.1: turns: with transport=udp means DTLS; tcp is the default, TLS over TCP.
      if (value === 'udp') throw new TurnUrlError(url, 'turns: with transport=udp is TURN over DTLS, which nat-probe does not support; use turns:HOST[:PORT] for TLS over TCP, or turn:HOST[:PORT]?transport=udp');
      if (value !== 'tcp') throw new TurnUrlError(url, `transport "${match[1]}" is not tcp, the only transport of turns: here`);
    } else {
      if (value === 'tls') throw new TurnUrlError(url, 'transport "tls" is not a TURN transport; TLS is the turns: scheme, e.g. turns:HOST:5349');
      if (value !== 'udp' && value !== 'tcp') throw new TurnUrlError(url, `transport "${match[1]}" is not udp or tcp`);
      transport = value;
    }
  }

  let host: string;
  let portText: string | undefined;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0) throw new TurnUrlError(url, 'the IPv6 literal has no closing "]"');
    host = rest.slice(1, close);
    if (isIP(host) !== 6) throw new TurnUrlError(url, `"${host}" is not an IPv6 address`);
    const after = rest.slice(close + 1);
    if (after !== '') {
      if (!after.startsWith(':')) throw new TurnUrlError(url, `unexpected "${after}" after the address`);
      portText = after.slice(1);
    }
  } else {
    const parts = rest.split(':');
    if (parts.length > 2) throw new TurnUrlError(url, 'an IPv6 address must be written in brackets, e.g. turn:[2001:db8::1]:3478');
    host = parts[0]!;
    portText = parts[1];
    if (host === '') throw new TurnUrlError(url, 'the host is missing');
    if (isIP(host) === 0 && !HOST_NAME.test(host)) throw new TurnUrlError(url, `"${host}" is not a valid host name or IPv4 address`);
  }

  let port = secure ? TURNS_DEFAULT_PORT : TURN_DEFAULT_PORT;
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
      throw new TurnUrlError(url, `port "${portText}" is not a number from 1 to 65535`);
    }
    port = Number(portText);
  }
  return { host, port, transport };
}

/**
 * The URL again, for messages and reports, always naming the transport: turn:host:port?transport=udp|tcp,
 * or turns:host:port for TLS (the scheme names it). parseTurnUrl reads it back to the same address.
 */
export function formatTurnServer(server: TurnServerAddress): string {
  const host = server.host.includes(':') ? `[${server.host}]` : server.host;
  if (server.transport === 'tls') return `turns:${host}:${server.port}`;
  return `turn:${host}:${server.port}?transport=${server.transport}`;
}
