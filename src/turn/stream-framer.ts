import { HEADER_LENGTH } from '../stun/index.js';
import { CHANNEL_DATA_HEADER_LENGTH } from './channel-data.js';

/**
 * Cuts STUN messages and ChannelData messages out of a TCP byte stream (RFC 8656 §12.5,
 * RFC 8489 §6.2.2). The first two bits tell them apart (RFC 7983 §7): 0b00 is STUN, whose
 * length field counts the attributes after the 20-byte header; 0b01 is ChannelData, whose
 * length counts the data after the 4-byte header, padded to 4 on a stream. Anything else
 * means the stream is out of sync, which cannot be repaired: the caller closes the connection.
 */
export class StreamFramingError extends Error {
  constructor(readonly firstByte: number) {
    super(`the TCP stream is out of sync: a message cannot start with byte 0x${firstByte.toString(16).padStart(2, '0')}`);
  }
}

export class StreamFramer {
  /** Bytes received but not yet part of a whole message. */
  private pending: Buffer = Buffer.alloc(0);

  /**
   * Feeds one chunk and returns every message it completes, in order. Each returned message
   * is a view into a buffer that is never written again, so it may be kept. Throws
   * StreamFramingError when the stream cannot be a sequence of STUN/ChannelData messages.
   */
  push(chunk: Uint8Array): Buffer[] {
    const buffer = this.pending.length === 0 ? Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength) : Buffer.concat([this.pending, chunk]);
    const messages: Buffer[] = [];
    let offset = 0;
    for (;;) {
      const size = frameSize(buffer, offset);
      if (size === undefined || offset + size > buffer.length) break;
      messages.push(buffer.subarray(offset, offset + size));
      offset += size;
    }
    // Keep the tail as a copy: the caller's chunk may be reused by the socket.
    this.pending = offset === buffer.length ? Buffer.alloc(0) : Buffer.from(buffer.subarray(offset));
    return messages;
  }

  get bufferedBytes(): number {
    return this.pending.length;
  }
}

/** The size of the message starting at `offset`, or undefined when its header is not all here yet. */
function frameSize(buffer: Uint8Array, offset: number): number | undefined {
  if (offset >= buffer.length) return undefined;
  const first = buffer[offset]!;
  const kind = first >>> 6;
  if (kind === 0b00) {
    if (buffer.length - offset < 4) return undefined;
    return HEADER_LENGTH + ((buffer[offset + 2]! << 8) | buffer[offset + 3]!);
  }
  if (kind === 0b01) {
    if (buffer.length - offset < CHANNEL_DATA_HEADER_LENGTH) return undefined;
    const length = (buffer[offset + 2]! << 8) | buffer[offset + 3]!;
    return (CHANNEL_DATA_HEADER_LENGTH + length + 3) & ~3;
  }
  throw new StreamFramingError(first);
}
