import {
  ATTRIBUTE_HEADER_LENGTH,
  AttributeType,
  HEADER_LENGTH,
  MAGIC_COOKIE,
  StunClass,
  TRANSACTION_ID_LENGTH,
  isComprehensionRequired,
} from './constants.js';
import type { AttributeName, AttributeValues, StunAttribute } from './attribute-types.js';
import { AttributeValueError, attributeNameOf, decodeAttributeValueAt, encodeAttributeValue } from './attribute-codecs.js';
import { StunDecodeError, StunEncodeError } from './errors.js';
import { copyOf, read16, read32, write16, write32 } from './bytes.js';
import { bytesEqual, fingerprintOf, hmacSha1, hmacSha256 } from './integrity.js';

/** A STUN message (RFC 8489 §5). Attributes stay in wire order; duplicates and unknowns survive. */
export interface StunMessage {
  class: StunClass;
  method: number;
  /** 96 bits (RFC 8489 §5). */
  transactionId: Uint8Array;
  /** MAGIC_COOKIE for RFC 5389/8489 messages; anything else marks a classic RFC 3489 message. */
  magicCookie?: number;
  attributes: StunAttribute[];
}

/** A decoded message also keeps the bytes it came from, for integrity checks over the wire form. */
export interface DecodedStunMessage extends StunMessage {
  magicCookie: number;
  raw: Uint8Array;
  /** Byte offset of each attribute's header in `raw`, parallel to `attributes`. */
  attributeOffsets: number[];
}

export interface DecodeOptions {
  /** Reject a message whose FINGERPRINT does not match (RFC 8489 §7.3). Default true. */
  verifyFingerprint?: boolean;
}

export interface EncodeOptions {
  /** Append MESSAGE-INTEGRITY (HMAC-SHA1, RFC 8489 §14.5) computed with this key. */
  integrityKey?: Uint8Array;
  /** Append MESSAGE-INTEGRITY-SHA256 (RFC 8489 §14.6) computed with this key. */
  integritySha256Key?: Uint8Array;
  /** Append FINGERPRINT (RFC 8489 §14.7). */
  fingerprint?: boolean;
}

const CLASS_BY_BITS: StunClass[] = ['request', 'indication', 'successResponse', 'errorResponse'];

/** RFC 8489 §5: method bits M0..M11 interleaved with class bits C0 (bit 4) and C1 (bit 8). */
export function messageType(stunClass: StunClass, method: number): number {
  const c = StunClass[stunClass];
  return ((method & 0xf80) << 2) | ((method & 0x070) << 1) | (method & 0x00f) | ((c & 0b10) << 7) | ((c & 0b01) << 4);
}

function splitMessageType(type: number): { stunClass: StunClass; method: number } {
  const method = ((type & 0x3e00) >> 2) | ((type & 0x00e0) >> 1) | (type & 0x000f);
  const bits = ((type & 0x0100) >> 7) | ((type & 0x0010) >> 4);
  return { stunClass: CLASS_BY_BITS[bits]!, method };
}

/**
 * Cheap pre-check used by demultiplexers (RFC 7983 §7): the first two bits are zero and the
 * magic cookie is present. It does not validate the rest.
 */
export function looksLikeStun(bytes: Uint8Array): boolean {
  return (
    bytes.length >= HEADER_LENGTH &&
    (bytes[0]! & 0xc0) === 0 &&
    read32(bytes, 4) === MAGIC_COOKIE
  );
}

/**
 * Strict decode of one datagram. Any malformation throws StunDecodeError with a stable
 * `code` and the byte offset; nothing else is ever thrown for any input.
 */
export function decodeMessage(input: Uint8Array, options: DecodeOptions = {}): DecodedStunMessage {
  const verifyFingerprint = options.verifyFingerprint ?? true;
  if (input.length < HEADER_LENGTH) {
    throw new StunDecodeError('truncated-header', input.length, `${input.length} bytes is shorter than the 20-byte header`);
  }
  // Read in place (a Buffer indexes as fast as a Uint8Array); copies use copyOf, because
  // Buffer#slice would alias the input instead of copying it.
  const bytes = input;
  const type = read16(bytes, 0);
  if ((type & 0xc000) !== 0) {
    throw new StunDecodeError('not-stun', 0, 'the two most significant bits must be zero (RFC 8489 §5)');
  }
  const length = read16(bytes, 2);
  if (length % 4 !== 0) {
    throw new StunDecodeError('length-not-aligned', 2, `message length ${length} is not a multiple of 4`);
  }
  if (HEADER_LENGTH + length !== bytes.length) {
    throw new StunDecodeError('length-mismatch', 2, `header says ${length} bytes of attributes, datagram has ${bytes.length - HEADER_LENGTH}`);
  }
  const magicCookie = read32(bytes, 4);
  const transactionId = copyOf(bytes, 8, 8 + TRANSACTION_ID_LENGTH);
  const { stunClass, method } = splitMessageType(type);
  const attributes: StunAttribute[] = [];
  const attributeOffsets: number[] = [];
  const context = { transactionId };

  let offset = HEADER_LENGTH;
  while (offset < bytes.length) {
    if (offset + ATTRIBUTE_HEADER_LENGTH > bytes.length) {
      throw new StunDecodeError('truncated-attribute', offset, 'attribute header runs past the end');
    }
    const attributeType = read16(bytes, offset);
    const valueLength = read16(bytes, offset + 2);
    const valueStart = offset + ATTRIBUTE_HEADER_LENGTH;
    const paddedEnd = valueStart + ((valueLength + 3) & ~3);
    const name = attributeNameOf(attributeType);
    if (paddedEnd > bytes.length) {
      throw new StunDecodeError('truncated-attribute', offset, `value of ${valueLength} bytes runs past the end`, name ?? hexType(attributeType));
    }
    let padding: Uint8Array | undefined;
    for (let i = valueStart + valueLength; i < paddedEnd; i++) {
      if (bytes[i] !== 0) {
        padding = copyOf(bytes, valueStart + valueLength, paddedEnd);
        break;
      }
    }

    let attribute: StunAttribute;
    if (name === undefined) {
      attribute = { name: 'UNKNOWN', type: attributeType, value: copyOf(bytes, valueStart, valueStart + valueLength) };
    } else {
      try {
        attribute = { name, value: decodeAttributeValueAt(name, bytes, valueStart, valueLength, context) } as StunAttribute;
      } catch (error) {
        if (error instanceof AttributeValueError) {
          throw new StunDecodeError('bad-attribute-value', offset, error.message, name);
        }
        throw error;
      }
    }
    if (padding) attribute.padding = padding;
    attributes.push(attribute);
    attributeOffsets.push(offset);

    if (name === 'FINGERPRINT') {
      if (paddedEnd !== bytes.length) {
        throw new StunDecodeError('attribute-after-fingerprint', paddedEnd, 'FINGERPRINT must be the last attribute (RFC 8489 §14.7)');
      }
      // Being last, FINGERPRINT is already counted by the header's length field, so the CRC
      // runs over the received bytes as they are.
      if (verifyFingerprint && fingerprintOf(bytes, offset) !== (attribute.value as number)) {
        throw new StunDecodeError('fingerprint-mismatch', offset, 'the CRC-32 does not match; the datagram was corrupted or is not STUN');
      }
    }
    offset = paddedEnd;
  }
  return { class: stunClass, method, transactionId, magicCookie, attributes, raw: bytes, attributeOffsets };
}

/** A copy of `prefix` whose header length field says `length` (RFC 8489 §14.5 and §14.7). */
function withLength(prefix: Uint8Array, length: number): Uint8Array {
  const copy = copyOf(prefix);
  write16(copy, 2, length);
  return copy;
}

function hexType(type: number): string {
  return `0x${type.toString(16).padStart(4, '0')}`;
}

function attributeType(attribute: StunAttribute): number {
  return attribute.name === 'UNKNOWN' ? attribute.type : AttributeType[attribute.name];
}

/**
 * Writes a message. Attributes are written as given; integrity and fingerprint are appended
 * last, in RFC order. The output is allocated once at its final size and the HMACs and CRC are
 * computed in place over it, which keeps encoding cheap on the server's hot path.
 */
export function encodeMessage(message: StunMessage, options: EncodeOptions = {}): Buffer {
  if (message.transactionId.length !== TRANSACTION_ID_LENGTH) {
    throw new StunEncodeError(`transaction ID has ${message.transactionId.length} bytes, expected ${TRANSACTION_ID_LENGTH}`);
  }
  const context = { transactionId: message.transactionId };
  const values: Uint8Array[] = new Array(message.attributes.length);
  let bodyLength = 0;
  for (let i = 0; i < message.attributes.length; i++) {
    const attribute = message.attributes[i]!;
    let value: Uint8Array;
    if (attribute.name === 'UNKNOWN') {
      value = attribute.value;
    } else {
      try {
        value = encodeAttributeValue(attribute.name, attribute.value as AttributeValues[AttributeName], context);
      } catch (error) {
        if (error instanceof AttributeValueError) throw new StunEncodeError(`${attribute.name}: ${error.message}`);
        throw error;
      }
    }
    if (value.length > 0xffff) throw new StunEncodeError(`attribute ${attribute.name} value is ${value.length} bytes, over 65535`);
    values[i] = value;
    bodyLength += ATTRIBUTE_HEADER_LENGTH + ((value.length + 3) & ~3);
  }
  const integrityLength = options.integrityKey ? ATTRIBUTE_HEADER_LENGTH + 20 : 0;
  const sha256Length = options.integritySha256Key ? ATTRIBUTE_HEADER_LENGTH + 32 : 0;
  const fingerprintLength = options.fingerprint ? ATTRIBUTE_HEADER_LENGTH + 4 : 0;
  const totalBody = bodyLength + integrityLength + sha256Length + fingerprintLength;
  if (totalBody > 0xffff) throw new StunEncodeError(`attributes take ${totalBody} bytes, more than the 65535 the header can say`);

  // Buffer.alloc is pooled and zeroed; wrapping an ArrayBuffer with Buffer.from afterwards
  // cost more than the whole encode. Writes go through plain indexing (bytes.ts).
  const out = Buffer.alloc(HEADER_LENGTH + totalBody);
  write16(out, 0, messageType(message.class, message.method));
  write32(out, 4, (message.magicCookie ?? MAGIC_COOKIE) >>> 0);
  out.set(message.transactionId, 8);
  let offset = HEADER_LENGTH;
  for (let i = 0; i < values.length; i++) {
    const attribute = message.attributes[i]!;
    const value = values[i]!;
    write16(out, offset, attribute.name === 'UNKNOWN' ? attribute.type : AttributeType[attribute.name]);
    write16(out, offset + 2, value.length);
    out.set(value, offset + ATTRIBUTE_HEADER_LENGTH);
    const padded = (value.length + 3) & ~3;
    const padding = attribute.padding;
    if (padding && padding.length === padded - value.length) out.set(padding, offset + ATTRIBUTE_HEADER_LENGTH + value.length);
    offset += ATTRIBUTE_HEADER_LENGTH + padded;
  }
  // RFC 8489 §14.5/§14.6/§14.7: each HMAC or CRC covers the message up to its attribute, with
  // the header's length field already counting that attribute.
  if (options.integrityKey) {
    offset = appendMac(out, offset, AttributeType['MESSAGE-INTEGRITY'], hmacSha1(options.integrityKey, coveredPrefix(out, offset, 20)));
  }
  if (options.integritySha256Key) {
    offset = appendMac(out, offset, AttributeType['MESSAGE-INTEGRITY-SHA256'], hmacSha256(options.integritySha256Key, coveredPrefix(out, offset, 32)));
  }
  if (options.fingerprint) {
    write16(out, 2, offset + ATTRIBUTE_HEADER_LENGTH + 4 - HEADER_LENGTH);
    const crc = fingerprintOf(out, offset);
    write16(out, offset, AttributeType.FINGERPRINT);
    write16(out, offset + 2, 4);
    write32(out, offset + ATTRIBUTE_HEADER_LENGTH, crc);
    offset += ATTRIBUTE_HEADER_LENGTH + 4;
  }
  write16(out, 2, totalBody);
  return out;
}

/** Sets the header length to end after an attribute of `valueLength` at `offset`, and returns the bytes before it. */
function coveredPrefix(out: Uint8Array, offset: number, valueLength: number): Uint8Array {
  write16(out, 2, offset + ATTRIBUTE_HEADER_LENGTH + valueLength - HEADER_LENGTH);
  return out.subarray(0, offset);
}

function appendMac(out: Uint8Array, offset: number, type: number, mac: Uint8Array): number {
  write16(out, offset, type);
  write16(out, offset + 2, mac.length);
  out.set(mac, offset + ATTRIBUTE_HEADER_LENGTH);
  return offset + ATTRIBUTE_HEADER_LENGTH + mac.length;
}

/** The first attribute with this name, typed; undefined when absent. */
export function getAttribute<N extends AttributeName>(message: StunMessage, name: N): AttributeValues[N] | undefined {
  const found = message.attributes.find((attribute) => attribute.name === name);
  return found?.value as AttributeValues[N] | undefined;
}

export function hasAttribute(message: StunMessage, name: AttributeName): boolean {
  return message.attributes.some((attribute) => attribute.name === name);
}

/** Comprehension-required attributes this codec does not understand (RFC 8489 §6.3.1: answer 420). */
export function unknownComprehensionRequired(message: StunMessage): number[] {
  return message.attributes
    .filter((attribute): attribute is Extract<StunAttribute, { name: 'UNKNOWN' }> => attribute.name === 'UNKNOWN')
    .map((attribute) => attribute.type)
    .filter(isComprehensionRequired);
}

export type IntegrityCheck = 'ok' | 'missing' | 'mismatch';

/**
 * Verifies MESSAGE-INTEGRITY over the bytes as received (RFC 8489 §14.5). Attributes after
 * it, other than MESSAGE-INTEGRITY-SHA256 and FINGERPRINT, are ignored by the receiver.
 */
export function verifyMessageIntegrity(message: DecodedStunMessage, key: Uint8Array): IntegrityCheck {
  return verifyHmac(message, 'MESSAGE-INTEGRITY', (data) => hmacSha1(key, data));
}

/** Verifies MESSAGE-INTEGRITY-SHA256, truncated to the received length (RFC 8489 §14.6). */
export function verifyMessageIntegritySha256(message: DecodedStunMessage, key: Uint8Array): IntegrityCheck {
  return verifyHmac(message, 'MESSAGE-INTEGRITY-SHA256', (data, length) => hmacSha256(key, data, length));
}

function verifyHmac(
  message: DecodedStunMessage,
  name: 'MESSAGE-INTEGRITY' | 'MESSAGE-INTEGRITY-SHA256',
  mac: (data: Uint8Array, length: number) => Uint8Array,
): IntegrityCheck {
  const index = message.attributes.findIndex((attribute) => attribute.name === name);
  if (index < 0) return 'missing';
  const received = message.attributes[index]!.value as Uint8Array;
  const offset = message.attributeOffsets[index]!;
  const covered = withLength(message.raw.subarray(0, offset), offset + ATTRIBUTE_HEADER_LENGTH + received.length - HEADER_LENGTH);
  return bytesEqual(mac(covered, received.length), received) ? 'ok' : 'mismatch';
}
