import {
  ADDRESS_FAMILY_IPV4,
  ADDRESS_FAMILY_IPV6,
  AttributeType,
  MAGIC_COOKIE,
  MAX_ERROR_REASON_CHARS,
  MAX_REALM_OR_NONCE_CHARS,
  MAX_SOFTWARE_CHARS,
  MAX_USERNAME_BYTES,
} from './constants.js';
import type { AttributeName, AttributeValues, PasswordAlgorithm, TransportAddress } from './attribute-types.js';
import { copyOf, read16, read32, read64, write16, write32, write64 } from './bytes.js';
import { formatIpv4, formatIpv6, parseIpv4, parseIpv4Into, parseIpv6 } from './ip.js';

/** Raised by a value codec; message.ts turns it into a StunDecodeError with the offset. */
export class AttributeValueError extends Error {}

interface CodecContext {
  transactionId: Uint8Array;
}

interface ValueCodec<V> {
  decode(value: Uint8Array, context: CodecContext): V;
  /**
   * Optional fast path reading the value in place (no subarray), for attributes found in every
   * STUN answer. Must accept exactly what `decode` accepts.
   */
  decodeAt?(bytes: Uint8Array, start: number, length: number, context: CodecContext): V;
  encode(value: V, context: CodecContext): Uint8Array;
}

function fail(detail: string): never {
  throw new AttributeValueError(detail);
}

function expectLength(value: Uint8Array, length: number): void {
  if (value.length !== length) fail(`length ${value.length}, expected ${length}`);
}

// RFC 8489 §14.1: family (8 bits after a zero byte), port, then 4 or 16 address bytes.
function decodeAddressBytes(value: Uint8Array): { family: 4 | 6; port: number; ip: Uint8Array } {
  if (value.length < 4) fail(`length ${value.length} is too short for an address`);
  const family = value[1];
  const port = read16(value, 2);
  if (family === ADDRESS_FAMILY_IPV4) {
    expectLength(value, 8);
    return { family: 4, port, ip: copyOf(value, 4, 8) };
  }
  if (family === ADDRESS_FAMILY_IPV6) {
    expectLength(value, 20);
    return { family: 6, port, ip: copyOf(value, 4, 20) };
  }
  return fail(`unknown address family 0x${(family ?? 0).toString(16)}`);
}

function encodeAddressBytes(family: 4 | 6, port: number, ip: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + ip.length);
  out[1] = family === 4 ? ADDRESS_FAMILY_IPV4 : ADDRESS_FAMILY_IPV6;
  write16(out, 2, port);
  out.set(ip, 4);
  return out;
}

function ipBytes(address: TransportAddress): Uint8Array {
  const bytes = address.family === 4 ? parseIpv4(address.address) : parseIpv6(address.address);
  if (!bytes) fail(`"${address.address}" is not an IPv${address.family} address`);
  if (!Number.isInteger(address.port) || address.port < 0 || address.port > 0xffff) fail(`port ${address.port} is out of range`);
  return bytes;
}

const plainAddress: ValueCodec<TransportAddress> = {
  decode(value) {
    const { family, port, ip } = decodeAddressBytes(value);
    return { family, port, address: family === 4 ? formatIpv4(ip) : formatIpv6(ip) };
  },
  encode(address) {
    return encodeAddressBytes(address.family, address.port, ipBytes(address));
  },
};

const COOKIE_BYTES = Uint8Array.of(MAGIC_COOKIE >>> 24, (MAGIC_COOKIE >>> 16) & 0xff, (MAGIC_COOKIE >>> 8) & 0xff, MAGIC_COOKIE & 0xff);

// RFC 8489 §14.2: port XOR the cookie's top 16 bits; IPv4 XOR the cookie; IPv6 XOR cookie ‖ transaction ID.
function xorBytes(ip: Uint8Array, transactionId: Uint8Array): Uint8Array {
  const out = new Uint8Array(ip.length);
  for (let i = 0; i < ip.length; i++) out[i] = ip[i]! ^ (i < 4 ? COOKIE_BYTES[i]! : transactionId[i - 4]!);
  return out;
}

const COOKIE_HIGH = MAGIC_COOKIE >>> 16;

const xorAddress: ValueCodec<TransportAddress> = {
  decodeAt(bytes, start, length, context) {
    // IPv4 in place, with no intermediate arrays: this runs for every STUN answer.
    if (length === 8 && bytes[start + 1] === ADDRESS_FAMILY_IPV4) {
      return {
        family: 4,
        port: read16(bytes, start + 2) ^ COOKIE_HIGH,
        address: `${bytes[start + 4]! ^ 0x21}.${bytes[start + 5]! ^ 0x12}.${bytes[start + 6]! ^ 0xa4}.${bytes[start + 7]! ^ 0x42}`,
      };
    }
    return xorAddress.decode(bytes.subarray(start, start + length), context);
  },
  decode(value, { transactionId }) {
    const { family, port, ip } = decodeAddressBytes(value);
    const clear = xorBytes(ip, transactionId);
    return { family, port: port ^ COOKIE_HIGH, address: family === 4 ? formatIpv4(clear) : formatIpv6(clear) };
  },
  encode(address, { transactionId }) {
    if (address.family === 4) {
      const out = new Uint8Array(8);
      if (!parseIpv4Into(address.address, out, 4)) fail(`"${address.address}" is not an IPv4 address`);
      if (!Number.isInteger(address.port) || address.port < 0 || address.port > 0xffff) fail(`port ${address.port} is out of range`);
      out[1] = ADDRESS_FAMILY_IPV4;
      write16(out, 2, address.port ^ COOKIE_HIGH);
      for (let i = 0; i < 4; i++) out[4 + i]! ^= COOKIE_BYTES[i]!;
      return out;
    }
    return encodeAddressBytes(address.family, address.port ^ COOKIE_HIGH, xorBytes(ipBytes(address), transactionId));
  },
};

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

function text(limit: { bytes?: number; chars?: number }): ValueCodec<string> {
  const check = (value: string, byteLength: number): void => {
    if (limit.bytes !== undefined && byteLength > limit.bytes) fail(`${byteLength} bytes exceeds the limit of ${limit.bytes}`);
    if (limit.chars !== undefined && [...value].length > limit.chars) fail(`more than ${limit.chars} characters`);
  };
  return {
    decode(value) {
      let decoded: string;
      try {
        decoded = utf8Decoder.decode(value);
      } catch {
        fail('not valid UTF-8');
      }
      check(decoded, value.length);
      return decoded;
    },
    encode(value) {
      const bytes = utf8Encoder.encode(value);
      check(value, bytes.length);
      return bytes;
    },
  };
}

function opaque(lengthRule?: (length: number) => string | undefined): ValueCodec<Uint8Array> {
  return {
    decode(value) {
      const problem = lengthRule?.(value.length);
      if (problem) fail(problem);
      return copyOf(value);
    },
    encode(value) {
      const problem = lengthRule?.(value.length);
      if (problem) fail(problem);
      return value;
    },
  };
}

const exactly = (n: number) => (length: number) => (length === n ? undefined : `length ${length}, expected ${n}`);

const uint32: ValueCodec<number> = {
  decodeAt(bytes, start, length) {
    if (length !== 4) fail(`length ${length}, expected 4`);
    return read32(bytes, start);
  },
  decode(value) {
    expectLength(value, 4);
    return read32(value, 0);
  },
  encode(value) {
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) fail(`${value} is not a 32-bit unsigned integer`);
    const out = new Uint8Array(4);
    write32(out, 0, value);
    return out;
  },
};

const uint64: ValueCodec<bigint> = {
  decode(value) {
    expectLength(value, 8);
    return read64(value, 0);
  },
  encode(value) {
    if (value < 0n || value >= 1n << 64n) fail(`${value} is not a 64-bit unsigned integer`);
    const out = new Uint8Array(8);
    write64(out, 0, value);
    return out;
  },
};

const flag: ValueCodec<true> = {
  decode(value) {
    expectLength(value, 0);
    return true;
  },
  encode() {
    return new Uint8Array(0);
  },
};

/** A 16-bit number in the first two bytes, then two reserved bytes (RFC 5780 §7.5, RFC 8656 §18.1). */
const uint16ThenReserved: ValueCodec<number> = {
  decode(value) {
    expectLength(value, 4);
    return read16(value, 0);
  },
  encode(value) {
    if (!Number.isInteger(value) || value < 0 || value > 0xffff) fail(`${value} is not a 16-bit unsigned integer`);
    const out = new Uint8Array(4);
    write16(out, 0, value);
    return out;
  },
};

/** One byte of value, then three reserved bytes (RFC 8656 §18.6, §18.11). */
const byteThenReserved: ValueCodec<number> = {
  decode(value) {
    expectLength(value, 4);
    return value[0]!;
  },
  encode(value) {
    if (!Number.isInteger(value) || value < 0 || value > 0xff) fail(`${value} is not an 8-bit unsigned integer`);
    return Uint8Array.of(value, 0, 0, 0);
  },
};

// RFC 5780 §7.2: flags A (change IP, 0x4) and B (change port, 0x2) in the last byte.
const CHANGE_IP = 0x04;
const CHANGE_PORT = 0x02;
const changeRequest: ValueCodec<AttributeValues['CHANGE-REQUEST']> = {
  decode(value) {
    expectLength(value, 4);
    const flags = read32(value, 0);
    return { changeIp: (flags & CHANGE_IP) !== 0, changePort: (flags & CHANGE_PORT) !== 0 };
  },
  encode({ changeIp, changePort }) {
    return Uint8Array.of(0, 0, 0, (changeIp ? CHANGE_IP : 0) | (changePort ? CHANGE_PORT : 0));
  },
};

// RFC 8489 §14.8: 21 reserved bits, class (3 bits, 3..6), number (8 bits, 0..99), reason phrase.
const reasonText = text({ chars: MAX_ERROR_REASON_CHARS });
const errorCode: ValueCodec<AttributeValues['ERROR-CODE']> = {
  decode(value, context) {
    if (value.length < 4) fail(`length ${value.length} is too short for ERROR-CODE`);
    const errorClass = value[2]! & 0x07;
    const number = value[3]!;
    if (errorClass < 3 || errorClass > 6 || number > 99) fail(`error code ${errorClass * 100 + number} is outside 300..699`);
    return { code: errorClass * 100 + number, reason: reasonText.decode(value.subarray(4), context) };
  },
  encode({ code, reason }, context) {
    if (!Number.isInteger(code) || code < 300 || code > 699) fail(`error code ${code} is outside 300..699`);
    const phrase = reasonText.encode(reason, context);
    const out = new Uint8Array(4 + phrase.length);
    out[2] = Math.floor(code / 100);
    out[3] = code % 100;
    out.set(phrase, 4);
    return out;
  },
};

// RFC 8489 §14.13: a list of 16-bit attribute types.
const unknownAttributes: ValueCodec<number[]> = {
  decode(value) {
    if (value.length % 2 !== 0) fail(`length ${value.length} is not a multiple of 2`);
    const types: number[] = [];
    for (let i = 0; i < value.length; i += 2) types.push(read16(value, i));
    return types;
  },
  encode(types) {
    const out = new Uint8Array(types.length * 2);
    types.forEach((type, i) => write16(out, i * 2, type));
    return out;
  },
};

// RFC 8656 §18.8: family in the first byte (0x01 IPv4, 0x02 IPv6), then three reserved bytes.
const requestedFamily: ValueCodec<4 | 6> = {
  decode(value, context) {
    const code = byteThenReserved.decode(value, context);
    if (code === ADDRESS_FAMILY_IPV4) return 4;
    if (code === ADDRESS_FAMILY_IPV6) return 6;
    return fail(`unknown address family 0x${code.toString(16)}`);
  },
  encode(family, context) {
    return byteThenReserved.encode(family === 4 ? ADDRESS_FAMILY_IPV4 : ADDRESS_FAMILY_IPV6, context);
  },
};

// RFC 8656 §18.10: one byte whose top bit R asks for the next-higher port to be reserved.
const evenPort: ValueCodec<boolean> = {
  decode(value) {
    expectLength(value, 1);
    return (value[0]! & 0x80) !== 0;
  },
  encode(reserve) {
    return Uint8Array.of(reserve ? 0x80 : 0);
  },
};

// RFC 8489 §14.11/§14.12: algorithm (16), parameters length (16), parameters padded to 4 bytes.
function decodeAlgorithms(value: Uint8Array): PasswordAlgorithm[] {
  const algorithms: PasswordAlgorithm[] = [];
  let offset = 0;
  while (offset < value.length) {
    if (offset + 4 > value.length) fail('truncated algorithm entry');
    const algorithm = read16(value, offset);
    const length = read16(value, offset + 2);
    const padded = (length + 3) & ~3;
    if (offset + 4 + padded > value.length) fail('algorithm parameters run past the attribute');
    algorithms.push({ algorithm, parameters: copyOf(value, offset + 4, offset + 4 + length) });
    offset += 4 + padded;
  }
  return algorithms;
}

function encodeAlgorithms(algorithms: PasswordAlgorithm[]): Uint8Array {
  const size = algorithms.reduce((sum, entry) => sum + 4 + ((entry.parameters.length + 3) & ~3), 0);
  const out = new Uint8Array(size);
  let offset = 0;
  for (const entry of algorithms) {
    write16(out, offset, entry.algorithm);
    write16(out, offset + 2, entry.parameters.length);
    out.set(entry.parameters, offset + 4);
    offset += 4 + ((entry.parameters.length + 3) & ~3);
  }
  return out;
}

const passwordAlgorithms: ValueCodec<PasswordAlgorithm[]> = {
  decode: (value) => decodeAlgorithms(value),
  encode: (value) => encodeAlgorithms(value),
};

const passwordAlgorithm: ValueCodec<PasswordAlgorithm> = {
  decode(value) {
    const list = decodeAlgorithms(value);
    if (list.length !== 1) fail(`holds ${list.length} algorithms, expected 1`);
    return list[0]!;
  },
  encode: (value) => encodeAlgorithms([value]),
};

type CodecTable = { [N in AttributeName]: ValueCodec<AttributeValues[N]> };

const CODECS: CodecTable = {
  'MAPPED-ADDRESS': plainAddress,
  'SOURCE-ADDRESS': plainAddress,
  'CHANGED-ADDRESS': plainAddress,
  'OTHER-ADDRESS': plainAddress,
  'RESPONSE-ORIGIN': plainAddress,
  'ALTERNATE-SERVER': plainAddress,
  'XOR-MAPPED-ADDRESS': xorAddress,
  'XOR-PEER-ADDRESS': xorAddress,
  'XOR-RELAYED-ADDRESS': xorAddress,
  'CHANGE-REQUEST': changeRequest,
  'RESPONSE-PORT': uint16ThenReserved,
  PADDING: opaque(),
  USERNAME: text({ bytes: MAX_USERNAME_BYTES }),
  SOFTWARE: text({ chars: MAX_SOFTWARE_CHARS }),
  REALM: text({ chars: MAX_REALM_OR_NONCE_CHARS }),
  NONCE: text({ chars: MAX_REALM_OR_NONCE_CHARS }),
  'ALTERNATE-DOMAIN': text({ bytes: 255 }),
  'ERROR-CODE': errorCode,
  'UNKNOWN-ATTRIBUTES': unknownAttributes,
  PRIORITY: uint32,
  'USE-CANDIDATE': flag,
  'ICE-CONTROLLED': uint64,
  'ICE-CONTROLLING': uint64,
  'MESSAGE-INTEGRITY': opaque(exactly(20)),
  // RFC 8489 §14.6: 16 to 32 bytes, a multiple of 4 (a truncated HMAC-SHA256).
  'MESSAGE-INTEGRITY-SHA256': opaque((n) => (n >= 16 && n <= 32 && n % 4 === 0 ? undefined : `length ${n}, expected 16..32 and a multiple of 4`)),
  FINGERPRINT: uint32,
  'CHANNEL-NUMBER': uint16ThenReserved,
  LIFETIME: uint32,
  DATA: opaque(),
  'REQUESTED-ADDRESS-FAMILY': requestedFamily,
  'EVEN-PORT': evenPort,
  'REQUESTED-TRANSPORT': byteThenReserved,
  'DONT-FRAGMENT': flag,
  'RESERVATION-TOKEN': opaque(exactly(8)),
  'PASSWORD-ALGORITHM': passwordAlgorithm,
  'PASSWORD-ALGORITHMS': passwordAlgorithms,
  USERHASH: opaque(exactly(32)),
};

const NAME_BY_TYPE = new Map<number, AttributeName>(
  (Object.keys(CODECS) as AttributeName[]).map((name) => [AttributeType[name], name]),
);

export function attributeNameOf(type: number): AttributeName | undefined {
  return NAME_BY_TYPE.get(type);
}

export function decodeAttributeValue<N extends AttributeName>(name: N, value: Uint8Array, context: CodecContext): AttributeValues[N] {
  return (CODECS[name] as ValueCodec<AttributeValues[N]>).decode(value, context);
}

/** Decodes the value at bytes[start, start + length), in place when the codec can. */
export function decodeAttributeValueAt<N extends AttributeName>(
  name: N,
  bytes: Uint8Array,
  start: number,
  length: number,
  context: CodecContext,
): AttributeValues[N] {
  const codec = CODECS[name] as ValueCodec<AttributeValues[N]>;
  return codec.decodeAt ? codec.decodeAt(bytes, start, length, context) : codec.decode(bytes.subarray(start, start + length), context);
}

export function encodeAttributeValue<N extends AttributeName>(name: N, value: AttributeValues[N], context: CodecContext): Uint8Array {
  return (CODECS[name] as ValueCodec<AttributeValues[N]>).encode(value, context);
}
