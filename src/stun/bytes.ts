/**
 * Big-endian reads and writes on plain byte arrays. Creating a DataView per call dominated the
 * codec's profile, so the hot paths use these instead.
 */
export function read16(bytes: Uint8Array, offset: number): number {
  return (bytes[offset]! << 8) | bytes[offset + 1]!;
}

export function read32(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>> 0;
}

export function write16(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = (value >>> 8) & 0xff;
  bytes[offset + 1] = value & 0xff;
}

export function write32(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = (value >>> 24) & 0xff;
  bytes[offset + 1] = (value >>> 16) & 0xff;
  bytes[offset + 2] = (value >>> 8) & 0xff;
  bytes[offset + 3] = value & 0xff;
}

export function read64(bytes: Uint8Array, offset: number): bigint {
  return (BigInt(read32(bytes, offset)) << 32n) | BigInt(read32(bytes, offset + 4));
}

export function write64(bytes: Uint8Array, offset: number, value: bigint): void {
  write32(bytes, offset, Number(value >> 32n));
  write32(bytes, offset + 4, Number(value & 0xffffffffn));
}

/**
 * A plain copy of bytes[start, end). Needed because Buffer#slice returns a view of the same
 * memory, unlike Uint8Array#slice; decoded values must never alias the datagram.
 */
export function copyOf(bytes: Uint8Array, start = 0, end = bytes.length): Uint8Array {
  const out = new Uint8Array(end - start);
  for (let i = start; i < end; i++) out[i - start] = bytes[i]!;
  return out;
}
