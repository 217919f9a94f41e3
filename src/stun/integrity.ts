import { createHash, createHmac } from 'node:crypto';
import { FINGERPRINT_XOR } from './constants.js';

/**
 * Keys and checks for MESSAGE-INTEGRITY (RFC 8489 §14.5, HMAC-SHA1),
 * MESSAGE-INTEGRITY-SHA256 (§14.6) and FINGERPRINT (§14.7, CRC-32).
 */

/**
 * RFC 8489 §9.1.1: the short-term key is the password after the OpaqueString profile
 * (RFC 8265). For the ASCII passwords ICE generates that is the identity; we apply NFC,
 * which is the profile's normalisation step, for anything else.
 */
export function shortTermKey(password: string): Uint8Array {
  return new Uint8Array(Buffer.from(password.normalize('NFC'), 'utf8'));
}

/**
 * RFC 8489 §9.2.2: the long-term key is MD5 (or SHA-256 with PASSWORD-ALGORITHM 0x0002)
 * of "username:realm:password".
 */
export function longTermKey(username: string, realm: string, password: string, algorithm: 'md5' | 'sha256' = 'md5'): Uint8Array {
  const input = `${username}:${realm}:${password.normalize('NFC')}`;
  return new Uint8Array(createHash(algorithm).update(input, 'utf8').digest());
}

export function hmacSha1(key: Uint8Array, data: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac('sha1', key).update(data).digest());
}

export function hmacSha256(key: Uint8Array, data: Uint8Array, length = 32): Uint8Array {
  return new Uint8Array(createHmac('sha256', key).update(data).digest()).subarray(0, length);
}

/**
 * Slicing-by-4 tables: T0 is the classic byte table; Tk[n] is the CRC of byte n followed by k
 * zero bytes, so four input bytes are folded per step (FINGERPRINT runs on every datagram).
 */
const CRC32_TABLES = (() => {
  const tables = [new Uint32Array(256), new Uint32Array(256), new Uint32Array(256), new Uint32Array(256)] as const;
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    tables[0][n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    for (let t = 1; t < 4; t++) {
      const previous = tables[t - 1]![n]!;
      tables[t]![n] = (tables[0][previous & 0xff]! ^ (previous >>> 8)) >>> 0;
    }
  }
  return tables;
})();
const [T0, T1, T2, T3] = CRC32_TABLES;

/** CRC-32 as in ISO/IEC 13239 / ITU-T V.42, the polynomial FINGERPRINT uses (RFC 8489 §14.7). */
export function crc32(data: Uint8Array, end = data.length): number {
  let crc = 0xffffffff;
  let i = 0;
  for (; i + 4 <= end; i += 4) {
    crc ^= data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    crc = T3[crc & 0xff]! ^ T2[(crc >>> 8) & 0xff]! ^ T1[(crc >>> 16) & 0xff]! ^ T0[crc >>> 24]!;
  }
  for (; i < end; i++) crc = T0[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** FINGERPRINT over the first `end` bytes of `data` (all of it by default). */
export function fingerprintOf(data: Uint8Array, end = data.length): number {
  return (crc32(data, end) ^ FINGERPRINT_XOR) >>> 0;
}

/** Constant-time comparison, so integrity checks leak nothing through timing. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i]! ^ b[i]!;
  return difference === 0;
}
