/**
 * ChannelData messages (RFC 8656 §12.4): a 4-byte header, channel number then length, then
 * the application data. Over UDP the datagram may end right after the data; over TCP the
 * message is padded to a multiple of 4 bytes (§12.5), and the padding is not counted in
 * the length.
 */

/** RFC 8656 §12: channel numbers a client may bind. 0x5000–0x7FFF are reserved (§12.1). */
export const MIN_CHANNEL_NUMBER = 0x4000;
export const MAX_CHANNEL_NUMBER = 0x4fff;
export const CHANNEL_DATA_HEADER_LENGTH = 4;

export class ChannelDataError extends Error {
  constructor(readonly reason: 'truncated' | 'bad-channel' | 'length-mismatch', detail: string) {
    super(`Not a valid ChannelData message (${reason}): ${detail}`);
  }
}

/** RFC 7983 §7 / RFC 8656 §12: the first byte of a ChannelData message is 0x40–0x4F (64–79). */
export function looksLikeChannelData(bytes: Uint8Array): boolean {
  return bytes.length >= CHANNEL_DATA_HEADER_LENGTH && bytes[0]! >= 0x40 && bytes[0]! <= 0x4f;
}

export function isValidChannelNumber(channel: number): boolean {
  return Number.isInteger(channel) && channel >= MIN_CHANNEL_NUMBER && channel <= MAX_CHANNEL_NUMBER;
}

/** The encoded size: header + data, padded to 4 when `padded` (TCP, §12.5). */
export function channelDataLength(dataLength: number, padded: boolean): number {
  const length = CHANNEL_DATA_HEADER_LENGTH + dataLength;
  return padded ? (length + 3) & ~3 : length;
}

/** Encodes one ChannelData message; `padded` for stream transports (RFC 8656 §12.5). */
export function encodeChannelData(channel: number, data: Uint8Array, padded = false): Buffer {
  if (!isValidChannelNumber(channel)) throw new ChannelDataError('bad-channel', `channel 0x${channel.toString(16)} is outside 0x4000–0x4FFF`);
  if (data.length > 0xffff) throw new ChannelDataError('length-mismatch', `${data.length} bytes do not fit the 16-bit length`);
  // allocUnsafe is safe here: every byte, padding included, is written below.
  const out = Buffer.allocUnsafe(channelDataLength(data.length, padded));
  out[0] = channel >>> 8;
  out[1] = channel & 0xff;
  out[2] = data.length >>> 8;
  out[3] = data.length & 0xff;
  out.set(data, CHANNEL_DATA_HEADER_LENGTH);
  out.fill(0, CHANNEL_DATA_HEADER_LENGTH + data.length);
  return out;
}

export interface ChannelData {
  channel: number;
  /** A view into the input (no copy): the receive path hands it straight to listeners. */
  data: Uint8Array;
}

/**
 * Decodes one ChannelData message. Over UDP, RFC 8656 §12.4 allows trailing padding, so the
 * datagram may be longer than header + length, never shorter.
 */
export function decodeChannelData(bytes: Uint8Array): ChannelData {
  if (bytes.length < CHANNEL_DATA_HEADER_LENGTH) throw new ChannelDataError('truncated', `${bytes.length} bytes is shorter than the 4-byte header`);
  const channel = (bytes[0]! << 8) | bytes[1]!;
  if (!isValidChannelNumber(channel)) throw new ChannelDataError('bad-channel', `channel 0x${channel.toString(16)} is outside 0x4000–0x4FFF`);
  const length = (bytes[2]! << 8) | bytes[3]!;
  if (CHANNEL_DATA_HEADER_LENGTH + length > bytes.length) {
    throw new ChannelDataError('length-mismatch', `header says ${length} bytes of data, message has ${bytes.length - CHANNEL_DATA_HEADER_LENGTH}`);
  }
  return { channel, data: bytes.subarray(CHANNEL_DATA_HEADER_LENGTH, CHANNEL_DATA_HEADER_LENGTH + length) };
}
