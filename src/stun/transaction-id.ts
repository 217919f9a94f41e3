import { randomBytes } from 'node:crypto';
import { TRANSACTION_ID_LENGTH } from './constants.js';

/** RFC 8489 §5: a 96-bit transaction ID, uniformly and cryptographically random. */
export function newTransactionId(): Uint8Array {
  return new Uint8Array(randomBytes(TRANSACTION_ID_LENGTH));
}

/** A transaction ID as a map key (hex). */
export function transactionKey(id: Uint8Array): string {
  return Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('hex');
}
