import { randomBytes } from 'node:crypto';
import { TRANSACTION_ID_LENGTH } from '../stun/index.js';

/**
 * Transaction IDs for Send indications (RFC 8656 §11.1; RFC 8489 §5 asks for uniform random
 * IDs). One randomBytes() call per datagram costs more than the whole rest of building the
 * indication, so IDs are cut from a block of 512 drawn at once: still cryptographically random,
 * ~40× cheaper per indication.
 */
const IDS_PER_BLOCK = 512;
let block: Buffer = Buffer.alloc(0);
let offset = 0;

export function nextIndicationId(): Uint8Array {
  if (offset + TRANSACTION_ID_LENGTH > block.length) {
    block = randomBytes(TRANSACTION_ID_LENGTH * IDS_PER_BLOCK);
    offset = 0;
  }
  // encodeMessage copies the ID into its output, so a view into the block is enough.
  const id = block.subarray(offset, offset + TRANSACTION_ID_LENGTH);
  offset += TRANSACTION_ID_LENGTH;
  return id;
}
