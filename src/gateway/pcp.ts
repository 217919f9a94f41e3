/**
 * PCP (RFC 6887) codec for the ANNOUNCE request (§14.1), which asks whether a PCP server is
 * there and creates no state. Pure: no sockets.
 */
import { isIPv4 } from 'node:net';
import { GatewayDecodeError } from './errors.js';

/** RFC 6887 §19.1: the server listens on UDP 5351, the same port as NAT-PMP. */
export const PCP_PORT = 5351;
/** RFC 6887 §7.1: version 2 (1 was never deployed; 0 is NAT-PMP, §9). */
export const PCP_VERSION = 2;
/** RFC 6887 §19.2 opcodes. */
export const PCP_OPCODE = { announce: 0, map: 1, peer: 2 } as const;
/** RFC 6887 §7.1 / §7.2: both headers are 24 bytes. */
export const PCP_HEADER_LENGTH = 24;
/** RFC 6887 §7.2: the R bit marks a response. */
const RESPONSE_BIT = 0x80;

/** RFC 6887 §7.4 result codes. */
export const PCP_RESULT: Readonly<Record<number, string>> = {
  0: 'SUCCESS',
  1: 'UNSUPP_VERSION',
  2: 'NOT_AUTHORIZED',
  3: 'MALFORMED_REQUEST',
  4: 'UNSUPP_OPCODE',
  5: 'UNSUPP_OPTION',
  6: 'MALFORMED_OPTION',
  7: 'NETWORK_FAILURE',
  8: 'NO_RESOURCES',
  9: 'UNSUPP_PROTOCOL',
  10: 'USER_EX_QUOTA',
  11: 'CANNOT_PROVIDE_EXTERNAL',
  12: 'ADDRESS_MISMATCH',
  13: 'EXCESSIVE_REMOTE_PEERS',
};

/** RFC 6887 §5: an IPv4 address travels as an IPv4-mapped IPv6 address (::ffff:a.b.c.d). */
export function encodePcpAddress(address: string): Uint8Array {
  const out = new Uint8Array(16);
  if (isIPv4(address)) {
    out[10] = 0xff;
    out[11] = 0xff;
    address.split('.').forEach((part, i) => (out[12 + i] = Number(part)));
    return out;
  }
  // IPv6: expand "::" and write the eight 16-bit groups.
  const [head, tail] = address.includes('::') ? address.split('::') : [address, undefined];
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const groups = tail === undefined ? headGroups : [...headGroups, ...Array(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups];
  if (groups.length !== 8) throw new Error(`cannot encode ${address} as a PCP address`);
  groups.forEach((group, i) => {
    const value = parseInt(group, 16);
    out[2 * i] = value >> 8;
    out[2 * i + 1] = value & 0xff;
  });
  return out;
}

/** The reverse of encodePcpAddress: dotted IPv4 for a mapped address, else compact-ish IPv6. */
export function decodePcpAddress(bytes: Uint8Array): string {
  const mapped = bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  if (mapped) return [...bytes.subarray(12, 16)].join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return groups.join(':');
}

/**
 * RFC 6887 §7.1 request header with opcode ANNOUNCE and lifetime 0 (§14.1): version, R=0 and
 * the opcode, 16 reserved bits, requested lifetime, and the client's own address as the server
 * will see it (a mismatch means a NAT in between: §8.1, ADDRESS_MISMATCH).
 */
export function encodeAnnounceRequest(clientAddress: string): Uint8Array {
  const out = new Uint8Array(PCP_HEADER_LENGTH);
  out[0] = PCP_VERSION;
  out[1] = PCP_OPCODE.announce;
  out.set(encodePcpAddress(clientAddress), 8);
  return out;
}

export interface PcpResponseHeader {
  version: number;
  opcode: number;
  resultCode: number;
  lifetimeSeconds: number;
  /** RFC 6887 §8.5: the server's epoch; a jump backwards means it lost its mappings. */
  epochSeconds: number;
}

/**
 * RFC 6887 §7.2 response header: version, R=1 and the opcode, reserved, result code, lifetime,
 * epoch time, 96 reserved bits. A NAT-PMP-only gateway answers a PCP request with version 0
 * and result 1 (RFC 6887 §9, RFC 6886 §3.5) in a short NAT-PMP-shaped reply: that is decoded
 * too, so the caller can say "NAT-PMP only".
 */
export function decodePcpResponseHeader(bytes: Uint8Array): PcpResponseHeader {
  if (bytes.length >= 4 && bytes[0] === 0) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return { version: 0, opcode: bytes[1]! & 0x7f, resultCode: view.getUint16(2), lifetimeSeconds: 0, epochSeconds: bytes.length >= 8 ? view.getUint32(4) : 0 };
  }
  if (bytes.length < PCP_HEADER_LENGTH) throw new GatewayDecodeError('pcp', `${bytes.length} bytes is shorter than the 24-byte PCP response header (RFC 6887 §7.2)`);
  if (bytes.length % 4 !== 0 || bytes.length > 1100) throw new GatewayDecodeError('pcp', `length ${bytes.length} is not a multiple of 4 up to 1100 bytes (RFC 6887 §7)`);
  if ((bytes[1]! & RESPONSE_BIT) === 0) throw new GatewayDecodeError('pcp', 'the R bit is clear: this is a request, not a response');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    version: bytes[0]!,
    opcode: bytes[1]! & 0x7f,
    resultCode: bytes[3]!,
    lifetimeSeconds: view.getUint32(4),
    epochSeconds: view.getUint32(8),
  };
}

/** RFC 6887 §11.1: the MAP opcode's data, after the header: 36 bytes. */
export const PCP_MAP_DATA_LENGTH = 36;
/** IANA protocol number for UDP (RFC 6887 §11.1 "Protocol"). */
export const IPPROTO_UDP = 17;

/**
 * RFC 6887 §11.1 MAP request for UDP: the 24-byte header (opcode 1, the requested lifetime, the
 * client's address) and the MAP data: a 96-bit nonce the response must echo (§11.1, so a stale
 * or spoofed answer is recognised), protocol 17, 24 reserved bits, the internal port, the
 * suggested external port and address (all zeros: no preference, §11.1). Lifetime 0 deletes
 * the mapping (§15).
 */
export function encodeMapRequest(options: { clientAddress: string; nonce: Uint8Array; internalPort: number; suggestedExternalPort: number; lifetimeSeconds: number }): Uint8Array {
  if (options.nonce.length !== 12) throw new Error('a PCP nonce is 96 bits (RFC 6887 §11.1)');
  const out = new Uint8Array(PCP_HEADER_LENGTH + PCP_MAP_DATA_LENGTH);
  const view = new DataView(out.buffer);
  out[0] = PCP_VERSION;
  out[1] = PCP_OPCODE.map;
  view.setUint32(4, options.lifetimeSeconds);
  out.set(encodePcpAddress(options.clientAddress), 8);
  out.set(options.nonce, 24);
  out[36] = IPPROTO_UDP;
  view.setUint16(40, options.internalPort);
  view.setUint16(42, options.suggestedExternalPort);
  out.set(new Uint8Array(16), 44); // suggested external address: all zeros
  return out;
}

export interface PcpMapResponse extends PcpResponseHeader {
  nonce: Uint8Array;
  protocol: number;
  internalPort: number;
  /** The assigned external port and address (meaningful on SUCCESS, §11.4). */
  externalPort: number;
  externalAddress: string;
}

/** RFC 6887 §11.1 MAP response: the header (§7.2) and the MAP data echoing the nonce, with the assigned external port and address. */
export function decodeMapResponse(bytes: Uint8Array): PcpMapResponse {
  const header = decodePcpResponseHeader(bytes);
  if (header.version !== PCP_VERSION) return { ...header, nonce: new Uint8Array(12), protocol: 0, internalPort: 0, externalPort: 0, externalAddress: '' };
  if (header.opcode !== PCP_OPCODE.map) throw new GatewayDecodeError('pcp', `opcode ${header.opcode} is not a MAP response (1)`);
  if (bytes.length < PCP_HEADER_LENGTH + PCP_MAP_DATA_LENGTH) {
    // An error response may carry no opcode data (§7.2 allows the server to copy what it parsed).
    if (header.resultCode !== 0) return { ...header, nonce: new Uint8Array(12), protocol: 0, internalPort: 0, externalPort: 0, externalAddress: '' };
    throw new GatewayDecodeError('pcp', `a successful MAP response has at least ${PCP_HEADER_LENGTH + PCP_MAP_DATA_LENGTH} bytes, got ${bytes.length}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    ...header,
    nonce: bytes.slice(24, 36),
    protocol: bytes[36]!,
    internalPort: view.getUint16(40),
    externalPort: view.getUint16(42),
    externalAddress: decodePcpAddress(bytes.subarray(44, 60)),
  };
}
