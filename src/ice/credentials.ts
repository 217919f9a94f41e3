/**
 * ICE credentials and the tie-breaker (RFC 8445 §5.2, §5.3; syntax RFC 8839 §5.4).
 *
 * The username fragment and password authenticate connectivity checks (short-term credentials,
 * RFC 8489 §9.1). They must be unguessable, so they come from node:crypto, never from an injected
 * RandomSource. The tie-breaker only breaks role conflicts, so a test may inject it.
 */
import { randomBytes } from 'node:crypto';
import type { RandomSource } from '../transport/clock.js';
import { IceOptionError } from './errors.js';
import { generateTieBreaker, MAX_TIE_BREAKER } from './role-conflict.js';

export interface IceParameters {
  /** ice-ufrag: 4–256 ice-chars (RFC 8839 §5.4), at least 24 bits of randomness (RFC 8445 §5.3). */
  readonly ufrag: string;
  /** ice-pwd: 22–256 ice-chars, at least 128 bits of randomness (RFC 8445 §5.3). */
  readonly pwd: string;
}

export interface LocalIceParameters extends IceParameters {
  /** The 64-bit tie-breaker sent in ICE-CONTROLLING / ICE-CONTROLLED (RFC 8445 §7.1.3). */
  readonly tieBreaker: bigint;
}

/** 8 base64 chars = 48 random bits (RFC 8445 §5.3 asks for ≥ 24). */
export const UFRAG_LENGTH = 8;
/** 24 base64 chars = 144 random bits (RFC 8445 §5.3 asks for ≥ 128; RFC 8839 §5.4 for ≥ 22 chars). */
export const PWD_LENGTH = 24;

const UFRAG_SYNTAX = /^[A-Za-z0-9+/]{4,256}$/;
const PWD_SYNTAX = /^[A-Za-z0-9+/]{22,256}$/;

/** `length` ice-chars from the system CSPRNG (base64's alphabet is exactly the ice-char set). */
function randomIceChars(length: number): string {
  return randomBytes(Math.ceil((length * 3) / 4))
    .toString('base64')
    .replace(/=/g, '')
    .slice(0, length);
}

/** A fresh ufrag/pwd, and a tie-breaker from `random` (crypto when omitted). */
export function generateLocalParameters(random?: RandomSource): LocalIceParameters {
  const tieBreaker = random === undefined ? randomBytes(8).readBigUInt64BE(0) : generateTieBreaker(random);
  return { ufrag: randomIceChars(UFRAG_LENGTH), pwd: randomIceChars(PWD_LENGTH), tieBreaker };
}

/** Throws IceOptionError unless the parameters are valid RFC 8839 §5.4 syntax. */
export function assertIceParameters(parameters: IceParameters, whose: 'local' | 'remote'): void {
  if (!UFRAG_SYNTAX.test(parameters.ufrag)) {
    throw new IceOptionError(`The ${whose} ice-ufrag "${parameters.ufrag}" must be 4–256 of A–Z a–z 0–9 + / (RFC 8839 §5.4).`);
  }
  if (!PWD_SYNTAX.test(parameters.pwd)) {
    throw new IceOptionError(`The ${whose} ice-pwd must be 22–256 of A–Z a–z 0–9 + / (RFC 8839 §5.4); it has ${parameters.pwd.length} characters.`);
  }
}

export function assertTieBreakerValue(value: bigint): void {
  if (value < 0n || value > MAX_TIE_BREAKER) {
    throw new IceOptionError(`Tie-breaker ${value} is not an unsigned 64-bit value (RFC 8445 §7.1.3).`);
  }
}
