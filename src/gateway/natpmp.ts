/**
 * NAT-PMP (RFC 6886) codec for the one request nat-probe sends by default: the external
 * address request (§3.2), which creates no state on the gateway. Pure: no sockets.
 */
import { GatewayDecodeError } from './errors.js';

/** RFC 6886 §3.1: the gateway listens on UDP 5351. */
export const NAT_PMP_PORT = 5351;
/** RFC 6886 §3.2: version 0. */
export const NAT_PMP_VERSION = 0;
/** RFC 6886 §3.2: opcode 0 asks for the external address; a response's opcode is 128 + the request's. */
export const OP_EXTERNAL_ADDRESS = 0;
export const OP_MAP_UDP = 1;
export const RESPONSE_OPCODE_OFFSET = 128;

/** RFC 6886 §3.5 result codes. */
export const NAT_PMP_RESULT: Readonly<Record<number, string>> = {
  0: 'Success',
  1: 'Unsupported Version',
  2: 'Not Authorized/Refused',
  3: 'Network Failure',
  4: 'Out of resources',
  5: 'Unsupported opcode',
};

/** RFC 6886 §3.2: two bytes, version 0 and opcode 0. */
export function encodeExternalAddressRequest(): Uint8Array {
  return Uint8Array.of(NAT_PMP_VERSION, OP_EXTERNAL_ADDRESS);
}

export interface NatPmpExternalAddressResponse {
  version: number;
  resultCode: number;
  /** RFC 6886 §3.6 "seconds since start of epoch": a drop means the gateway rebooted and lost mappings. */
  epochSeconds: number;
  /** Meaningful only when resultCode is 0. */
  externalAddress: string;
}

/**
 * RFC 6886 §3.2 response, 12 bytes: version, opcode 128, result code (16 bits), seconds since
 * start of epoch (32 bits), external IPv4 address. An error response may be shorter (§3.5:
 * only the first 8 bytes are guaranteed), so the address is read only on success.
 */
export function decodeExternalAddressResponse(bytes: Uint8Array): NatPmpExternalAddressResponse {
  if (bytes.length < 8) throw new GatewayDecodeError('nat-pmp', `${bytes.length} bytes is shorter than the 8-byte NAT-PMP response header (RFC 6886 §3.5)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint8(0);
  const opcode = view.getUint8(1);
  const resultCode = view.getUint16(2);
  const epochSeconds = view.getUint32(4);
  // A PCP-only server answers a version-0 request with its own version and UNSUPP_VERSION
  // (RFC 6887 §9); that still proves something listens, so the caller sees it as a response.
  if (version === NAT_PMP_VERSION && opcode !== RESPONSE_OPCODE_OFFSET + OP_EXTERNAL_ADDRESS) {
    throw new GatewayDecodeError('nat-pmp', `opcode ${opcode} is not the external-address response (128)`);
  }
  if (version !== NAT_PMP_VERSION || resultCode !== 0) return { version, resultCode, epochSeconds, externalAddress: '' };
  if (bytes.length < 12) throw new GatewayDecodeError('nat-pmp', `a successful external-address response has 12 bytes, got ${bytes.length}`);
  const externalAddress = [8, 9, 10, 11].map((i) => view.getUint8(i)).join('.');
  return { version, resultCode, epochSeconds, externalAddress };
}

/**
 * RFC 6886 §3.3 mapping request for UDP, 12 bytes: version, opcode 1, reserved, internal port,
 * suggested external port, requested lifetime in seconds. Lifetime 0 with external port 0
 * deletes the mapping of that internal port (§3.4).
 */
export function encodeMapUdpRequest(internalPort: number, suggestedExternalPort: number, lifetimeSeconds: number): Uint8Array {
  const out = new Uint8Array(12);
  const view = new DataView(out.buffer);
  view.setUint8(0, NAT_PMP_VERSION);
  view.setUint8(1, OP_MAP_UDP);
  view.setUint16(4, internalPort);
  view.setUint16(6, suggestedExternalPort);
  view.setUint32(8, lifetimeSeconds);
  return out;
}

export interface NatPmpMapResponse {
  resultCode: number;
  epochSeconds: number;
  internalPort: number;
  /** The external port the gateway chose (0 on deletion). */
  externalPort: number;
  /** The lifetime granted, which may be shorter than asked (§3.3). */
  lifetimeSeconds: number;
}

/** RFC 6886 §3.3 response, 16 bytes: version, opcode 129, result, epoch, internal port, mapped external port, lifetime. */
export function decodeMapUdpResponse(bytes: Uint8Array): NatPmpMapResponse {
  if (bytes.length < 8) throw new GatewayDecodeError('nat-pmp', `${bytes.length} bytes is shorter than the 8-byte NAT-PMP response header (RFC 6886 §3.5)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // A PCP-only server answers a version-0 request with its own version and UNSUPP_VERSION
  // (RFC 6887 §9): reported as result 1, Unsupported Version, so the caller can try PCP.
  if (view.getUint8(0) !== NAT_PMP_VERSION && view.getUint16(2) === 1) return { resultCode: 1, epochSeconds: 0, internalPort: 0, externalPort: 0, lifetimeSeconds: 0 };
  if (view.getUint8(0) !== NAT_PMP_VERSION || view.getUint8(1) !== RESPONSE_OPCODE_OFFSET + OP_MAP_UDP) {
    throw new GatewayDecodeError('nat-pmp', `version ${view.getUint8(0)}, opcode ${view.getUint8(1)} is not a UDP mapping response (0, 129)`);
  }
  const resultCode = view.getUint16(2);
  const epochSeconds = view.getUint32(4);
  if (resultCode !== 0) return { resultCode, epochSeconds, internalPort: 0, externalPort: 0, lifetimeSeconds: 0 };
  if (bytes.length < 16) throw new GatewayDecodeError('nat-pmp', `a successful mapping response has 16 bytes, got ${bytes.length}`);
  return { resultCode, epochSeconds, internalPort: view.getUint16(8), externalPort: view.getUint16(10), lifetimeSeconds: view.getUint32(12) };
}
