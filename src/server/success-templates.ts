/**
 * Success responses to Binding requests without PADDING, built from templates: the server's hot
 * path. Everything in such a response but the header's cookie and transaction ID and the two
 * mapped-address values is fixed for a given (receiving socket, sending socket, RFC 3489 or not,
 * SOFTWARE or not, FINGERPRINT or not), so each variant is encoded once by the codec and each
 * answer is a copy of it with those fields written in place, plus a CRC when the request had
 * FINGERPRINT. The codec stays the one authority on the wire layout: templates are encodeMessage
 * output, and the offsets written come from decoding the template. The bytes are identical to
 * encoding the whole response with encodeMessage (test/server/success-templates.test.ts checks
 * that over random addresses and transaction IDs).
 */
import {
  ADDRESS_FAMILY_IPV4,
  ADDRESS_FAMILY_IPV6,
  MAGIC_COOKIE,
  StunMethod,
  attr,
  decodeMessage,
  encodeMessage,
  fingerprintOf,
  parseIpv4Into,
  parseIpv6,
  type StunAttribute,
  type TransportAddress,
} from '../stun/index.js';
import type { SocketRole } from './roles.js';

/** What fixes a response's layout; everything else is written per request. */
export interface SuccessShape {
  /** RFC 3489 form: MAPPED-ADDRESS, SOURCE-ADDRESS, CHANGED-ADDRESS; else RFC 8489/5780 form. */
  legacy: boolean;
  /** The socket the response leaves from, named by RESPONSE-ORIGIN (SOURCE-ADDRESS). */
  origin: TransportAddress | undefined;
  /** Ca:Cp of the receiving socket, OTHER-ADDRESS (CHANGED-ADDRESS); undefined without RFC 5780. */
  other: TransportAddress | undefined;
  software: string | undefined;
  fingerprint: boolean;
  family: 4 | 6;
}

interface Template {
  bytes: Buffer;
  /** Offsets of the XOR-MAPPED-ADDRESS and MAPPED-ADDRESS values; -1 when absent (legacy). */
  xorMappedValue: number;
  mappedValue: number;
  /** Offset of the FINGERPRINT attribute; -1 without. */
  fingerprintAt: number;
}

/** The response's attributes in RFC order (see answerRequest), FINGERPRINT excluded. */
export function successAttributes(shape: SuccessShape, mapped: TransportAddress): StunAttribute[] {
  const attributes: StunAttribute[] = [];
  if (shape.legacy) {
    // RFC 3489 §11.2.1 (via RFC 5389 §12.2); no XOR-MAPPED-ADDRESS, unknown to RFC 3489 clients.
    attributes.push(attr('MAPPED-ADDRESS', mapped));
    if (shape.origin) attributes.push(attr('SOURCE-ADDRESS', shape.origin));
    if (shape.other) attributes.push(attr('CHANGED-ADDRESS', shape.other));
  } else {
    // RFC 8489 §6.3.1.1 and RFC 5780 §6.1.
    attributes.push(attr('XOR-MAPPED-ADDRESS', mapped), attr('MAPPED-ADDRESS', mapped));
    if (shape.origin) attributes.push(attr('RESPONSE-ORIGIN', shape.origin));
    if (shape.other) attributes.push(attr('OTHER-ADDRESS', shape.other));
  }
  if (shape.software !== undefined) attributes.push(attr('SOFTWARE', shape.software));
  return attributes;
}

const PLACEHOLDER: Record<4 | 6, TransportAddress> = {
  4: { family: 4, address: '0.0.0.0', port: 0 },
  6: { family: 6, address: '::', port: 0 },
};
const ZERO_TRANSACTION_ID = new Uint8Array(12);

function buildTemplate(shape: SuccessShape): Template {
  const bytes = encodeMessage(
    { class: 'successResponse', method: StunMethod.binding, transactionId: ZERO_TRANSACTION_ID, attributes: successAttributes(shape, PLACEHOLDER[shape.family]) },
    { fingerprint: shape.fingerprint },
  );
  const decoded = decodeMessage(bytes);
  const valueOffset = (name: string): number => {
    const index = decoded.attributes.findIndex((attribute) => attribute.name === name);
    return index < 0 ? -1 : decoded.attributeOffsets[index]! + 4;
  };
  return { bytes, xorMappedValue: valueOffset('XOR-MAPPED-ADDRESS'), mappedValue: valueOffset('MAPPED-ADDRESS'), fingerprintAt: valueOffset('FINGERPRINT') - 4 };
}

const COOKIE_HIGH = MAGIC_COOKIE >>> 16;

/**
 * Writes an address attribute value (RFC 8489 §14.1) at `at`: 0, family, port, address. With
 * `xor` (RFC 8489 §14.2) the port is XORed with the cookie's top 16 bits and the address with the
 * magic cookie (IPv4) or the cookie and the transaction ID (IPv6). Only RFC 8489 responses carry
 * XOR-MAPPED-ADDRESS, and their header holds exactly that key at bytes 4..19, so it is read there.
 */
function writeAddress(out: Buffer, at: number, family: 4 | 6, port: number, ip: Uint8Array, xor: boolean): void {
  out[at] = 0;
  out[at + 1] = family === 4 ? ADDRESS_FAMILY_IPV4 : ADDRESS_FAMILY_IPV6;
  const wirePort = xor ? port ^ COOKIE_HIGH : port;
  out[at + 2] = wirePort >>> 8;
  out[at + 3] = wirePort & 0xff;
  for (let i = 0; i < ip.length; i++) out[at + 4 + i] = xor ? ip[i]! ^ out[4 + i]! : ip[i]!;
}

/** The last IPv4 address parsed and its bytes: a server hears the same sources again and again. */
let lastIpv4: string | undefined;
const lastIpv4Bytes = new Uint8Array(4);

function ipBytesOf(address: TransportAddress): Uint8Array {
  if (address.family === 4) {
    if (address.address !== lastIpv4) {
      if (!parseIpv4Into(address.address, lastIpv4Bytes, 0)) {
        lastIpv4 = undefined;
        throw new TypeError(`"${address.address}" is not an IPv4 address`);
      }
      lastIpv4 = address.address;
    }
    return lastIpv4Bytes;
  }
  const bytes = parseIpv6(address.address);
  if (!bytes) throw new TypeError(`"${address.address}" is not an IPv6 address`);
  return bytes;
}

const ROLE_INDEX: Record<SocketRole, number> = { primary: 0, alternateIp: 1, alternatePort: 2, alternateIpAndPort: 3 };

/**
 * The templates of one server (one ServerView). Its addresses never change, so the sending and
 * receiving sockets stand for RESPONSE-ORIGIN and OTHER-ADDRESS in the cache key, and at most
 * 4 × 4 × 2 (RFC 3489) × 2 (SOFTWARE) × 2 (FINGERPRINT) × 2 (family) = 256 templates exist.
 */
export class SuccessTemplates {
  private readonly cache: Array<Template | undefined> = [];

  /** Wire size of the response of this shape (its template is built on first use). */
  sizeOf(shape: SuccessShape, sendFrom: SocketRole, receivedOn: SocketRole): number {
    return this.template(shape, sendFrom, receivedOn).bytes.length;
  }

  /**
   * The response of this shape to a request with this cookie field and transaction ID, from the
   * `mapped` address (the request's source).
   */
  render(shape: SuccessShape, sendFrom: SocketRole, receivedOn: SocketRole, magicCookie: number, transactionId: Uint8Array, mapped: TransportAddress): Buffer {
    const template = this.template(shape, sendFrom, receivedOn);
    const out = Buffer.allocUnsafe(template.bytes.length);
    out.set(template.bytes);
    // RFC 8489 §6.3.1: the response carries the request's transaction ID (for an RFC 3489
    // client, all 128 bits, which include the cookie field).
    out[4] = magicCookie >>> 24;
    out[5] = (magicCookie >>> 16) & 0xff;
    out[6] = (magicCookie >>> 8) & 0xff;
    out[7] = magicCookie & 0xff;
    out.set(transactionId, 8);
    const ip = ipBytesOf(mapped);
    if (template.xorMappedValue >= 0) writeAddress(out, template.xorMappedValue, mapped.family, mapped.port, ip, true);
    writeAddress(out, template.mappedValue, mapped.family, mapped.port, ip, false);
    if (template.fingerprintAt >= 0) {
      // RFC 8489 §14.7: CRC-32 of everything before FINGERPRINT; the length already counts it.
      out.writeUInt32BE(fingerprintOf(out, template.fingerprintAt), template.fingerprintAt + 4);
    }
    return out;
  }

  private template(shape: SuccessShape, sendFrom: SocketRole, receivedOn: SocketRole): Template {
    // Bits: sending socket (2), receiving socket (2), RFC 3489, SOFTWARE, FINGERPRINT, IPv6.
    const key =
      (ROLE_INDEX[sendFrom] << 6) |
      (ROLE_INDEX[receivedOn] << 4) |
      (shape.legacy ? 8 : 0) |
      (shape.software === undefined ? 0 : 4) |
      (shape.fingerprint ? 2 : 0) |
      (shape.family === 6 ? 1 : 0);
    let template = this.cache[key];
    if (template === undefined) {
      template = buildTemplate(shape);
      this.cache[key] = template;
    }
    return template;
  }
}
