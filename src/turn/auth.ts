import {
  attr,
  getAttribute,
  longTermKey,
  type DecodedStunMessage,
  type EncodeOptions,
  type PasswordAlgorithm,
  type StunAttribute,
} from '../stun/index.js';
import type { TurnCredentials } from './credentials.js';

/** RFC 8489 §18.5: PASSWORD-ALGORITHM numbers. */
export const PasswordAlgorithmNumber = { md5: 0x0001, sha256: 0x0002 } as const;

/**
 * The long-term credential state learned from a 401 or 438 (RFC 8489 §9.2.3): realm, nonce,
 * and the key, computed once. The password is used to compute the key and then forgotten.
 */
export interface LongTermAuth {
  readonly username: string;
  readonly realm: string;
  nonce: string;
  readonly algorithm: 'md5' | 'sha256';
  /** Echoed back verbatim when the server offered algorithms (RFC 8489 §9.2.3.1). */
  readonly offered: PasswordAlgorithm[] | undefined;
  readonly key: Uint8Array;
}

/**
 * Builds the state from a challenge. SHA-256 is chosen when the server lists it in
 * PASSWORD-ALGORITHMS (RFC 8489 §9.2.4), MD5 otherwise (RFC 5389 servers, coturn by default).
 */
export function authFromChallenge(challenge: DecodedStunMessage, credentials: TurnCredentials): LongTermAuth | undefined {
  const realm = getAttribute(challenge, 'REALM');
  const nonce = getAttribute(challenge, 'NONCE');
  if (realm === undefined || nonce === undefined) return undefined;
  const offered = getAttribute(challenge, 'PASSWORD-ALGORITHMS');
  const algorithm = offered?.some((entry) => entry.algorithm === PasswordAlgorithmNumber.sha256) ? 'sha256' : 'md5';
  return { username: credentials.username, realm, nonce, algorithm, offered, key: longTermKey(credentials.username, realm, credentials.password, algorithm) };
}

/** USERNAME, REALM, NONCE and, with RFC 8489 algorithms, PASSWORD-ALGORITHM(S), in that order (§9.2.4). */
export function authAttributes(auth: LongTermAuth): StunAttribute[] {
  const attributes = [attr('USERNAME', auth.username), attr('REALM', auth.realm), attr('NONCE', auth.nonce)];
  if (auth.offered !== undefined) {
    attributes.push(attr('PASSWORD-ALGORITHM', { algorithm: PasswordAlgorithmNumber[auth.algorithm], parameters: new Uint8Array(0) }));
    attributes.push(attr('PASSWORD-ALGORITHMS', auth.offered));
  }
  return attributes;
}

/** MESSAGE-INTEGRITY-SHA256 with the SHA-256 key, MESSAGE-INTEGRITY otherwise (RFC 8489 §14.5, §14.6). */
export function integrityFor(auth: LongTermAuth): EncodeOptions {
  return auth.algorithm === 'sha256' ? { integritySha256Key: auth.key } : { integrityKey: auth.key };
}
