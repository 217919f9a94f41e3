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
import { AttributeValueError, attributeNameOf, decodeAttributeValue, encodeAttributeValue } from './attribute-codecs.js';
import { StunDecodeError, StunEncodeError } from './errors.js';
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
    new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4) === MAGIC_COOKIE
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
  const bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  const data = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = data.getUint16(0);
  if ((type & 0xc000) !== 0) {
    throw new StunDecodeError('not-stun', 0, 'the two most significant bits must be zero (RFC 8489 §5)');
  }
  const length = data.getUint16(2);
  if (length % 4 !== 0) {
    throw new StunDecodeError('length-not-aligned', 2, `message length ${length} is not a multiple of 4`);
  }
  if (HEADER_LENGTH + length !== bytes.length) {
    throw new StunDecodeError('length-mismatch', 2, `header says ${length} bytes of attributes, datagram has ${bytes.length - HEADER_LENGTH}`);
  }
  const magicCookie = data.getUint32(4);
  const transactionId = bytes.slice(8, 8 + TRANSACTION_ID_LENGTH);
  const { stunClass, method } = splitMessageType(type);
  const attributes: StunAttribute[] = [];
  const attributeOffsets: number[] = [];
  const context = { transactionId };

  let offset = HEADER_LENGTH;
  let sawFingerprint = false;
  while (offset < bytes.length) {
    if (sawFingerprint) {
      throw new StunDecodeError('attribute-after-fingerprint', offset, 'FINGERPRINT must be the last attribute (RFC 8489 §14.7)');
    }
    if (offset + ATTRIBUTE_HEADER_LENGTH > bytes.length) {
      throw new StunDecodeError('truncated-attribute', offset, 'attribute header runs past the end');
    }
    const attributeType = data.getUint16(offset);
    const valueLength = data.getUint16(offset + 2);
    const valueStart = offset + ATTRIBUTE_HEADER_LENGTH;
    const paddedEnd = valueStart + ((valueLength + 3) & ~3);
    const name = attributeNameOf(attributeType);
    if (paddedEnd > bytes.length) {
      throw new StunDecodeError('truncated-attribute', offset, `value of ${valueLength} bytes runs past the end`, name ?? hexType(attributeType));
    }
    const value = bytes.subarray(valueStart, valueStart + valueLength);
    const paddingBytes = bytes.subarray(valueStart + valueLength, paddedEnd);
    const padding = paddingBytes.some((byte) => byte !== 0) ? paddingBytes.slice() : undefined;

    let attribute: StunAttribute;
    if (name === undefined) {
      attribute = { name: 'UNKNOWN', type: attributeType, value: value.slice() };
    } else {
      try {
        attribute = { name, value: decodeAttributeValue(name, value, context) } as StunAttribute;
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
      sawFingerprint = true;
      if (verifyFingerprint) {
        const expected = fingerprintOf(withLength(bytes.subarray(0, offset), paddedEnd - HEADER_LENGTH));
        if (expected !== (attribute.value as number)) {
          throw new StunDecodeError('fingerprint-mismatch', offset, 'the CRC-32 does not match; the datagram was corrupted or is not STUN');
        }
      }
    }
    offset = paddedEnd;
  }
  return { class: stunClass, method, transactionId, magicCookie, attributes, raw: bytes, attributeOffsets };
}

/** A copy of `prefix` whose header length field says `length` (RFC 8489 §14.5 and §14.7). */
function withLength(prefix: Uint8Array, length: number): Uint8Array {
  const copy = prefix.slice();
  new DataView(copy.buffer).setUint16(2, length);
  return copy;
}

function hexType(type: number): string {
  return `0x${type.toString(16).padStart(4, '0')}`;
}

function attributeType(attribute: StunAttribute): number {
  return attribute.name === 'UNKNOWN' ? attribute.type : AttributeType[attribute.name];
}

/** Writes a message. Attributes are written as given; integrity and fingerprint are appended last, in RFC order. */
export function encodeMessage(message: StunMessage, options: EncodeOptions = {}): Buffer {
  if (message.transactionId.length !== TRANSACTION_ID_LENGTH) {
    throw new StunEncodeError(`transaction ID has ${message.transactionId.length} bytes, expected ${TRANSACTION_ID_LENGTH}`);
  }
  const context = { transactionId: message.transactionId };
  const parts: Uint8Array[] = [];
  for (const attribute of message.attributes) {
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
    parts.push(attributeBytes(attributeType(attribute), value, attribute.padding));
  }
  let body = concat(parts);
  const header = (bodyLength: number): Uint8Array => {
    const out = new Uint8Array(HEADER_LENGTH);
    const view = new DataView(out.buffer);
    view.setUint16(0, messageType(message.class, message.method));
    view.setUint16(2, bodyLength);
    view.setUint32(4, message.magicCookie ?? MAGIC_COOKIE);
    out.set(message.transactionId, 8);
    return out;
  };
  // RFC 8489 §14.5/§14.6: the HMAC covers the message up to the attribute, with the length
  // field already counting the integrity attribute itself.
  if (options.integrityKey) {
    const covered = concat([header(body.length + 24), body]);
    body = concat([body, attributeBytes(AttributeType['MESSAGE-INTEGRITY'], hmacSha1(options.integrityKey, covered))]);
  }
  if (options.integritySha256Key) {
    const covered = concat([header(body.length + 36), body]);
    body = concat([body, attributeBytes(AttributeType['MESSAGE-INTEGRITY-SHA256'], hmacSha256(options.integritySha256Key, covered))]);
  }
  if (options.fingerprint) {
    const covered = concat([header(body.length + 8), body]);
    const value = new Uint8Array(4);
    new DataView(value.buffer).setUint32(0, fingerprintOf(covered));
    body = concat([body, attributeBytes(AttributeType.FINGERPRINT, value)]);
  }
  if (body.length > 0xffff) throw new StunEncodeError(`attributes take ${body.length} bytes, more than the 65535 the header can say`);
  const out = Buffer.allocUnsafe(HEADER_LENGTH + body.length);
  out.set(header(body.length), 0);
  out.set(body, HEADER_LENGTH);
  return out;
}

function attributeBytes(type: number, value: Uint8Array, padding?: Uint8Array): Uint8Array {
  if (value.length > 0xffff) throw new StunEncodeError(`attribute ${hexType(type)} value is ${value.length} bytes, over 65535`);
  const paddedLength = (value.length + 3) & ~3;
  const out = new Uint8Array(ATTRIBUTE_HEADER_LENGTH + paddedLength);
  const view = new DataView(out.buffer);
  view.setUint16(0, type);
  view.setUint16(2, value.length);
  out.set(value, ATTRIBUTE_HEADER_LENGTH);
  if (padding && padding.length === paddedLength - value.length) out.set(padding, ATTRIBUTE_HEADER_LENGTH + value.length);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
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
