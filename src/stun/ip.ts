/**
 * Pure IP text ↔ bytes conversion, so the codec needs no socket module.
 * Output follows RFC 5952 (lowercase, longest run of zero groups compressed) so
 * addresses compare equal to what Node's dgram reports.
 */

export type IpFamily = 4 | 6;

/** Dotted-quad only: four decimal parts 0-255, no leading zeros (they read as octal elsewhere). */
export function parseIpv4(text: string): Uint8Array | undefined {
  const bytes = new Uint8Array(4);
  return parseIpv4Into(text, bytes, 0) ? bytes : undefined;
}

/** Parses a dotted quad straight into `out` at `offset` (the codec's hot path); false if malformed. */
export function parseIpv4Into(text: string, out: Uint8Array, offset: number): boolean {
  const bytes = out;
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= text.length; i++) {
    const code = i < text.length ? text.charCodeAt(i) : 46; // a final '.' closes the last part
    if (code >= 48 && code <= 57) {
      if (digits === 1 && value === 0) return false;
      value = value * 10 + (code - 48);
      if (++digits > 3 || value > 255) return false;
    } else if (code === 46) {
      if (digits === 0 || part > 3) return false;
      bytes[offset + part++] = value;
      value = 0;
      digits = 0;
    } else {
      return false;
    }
  }
  return part === 4;
}

export function parseIpv6(text: string): Uint8Array | undefined {
  const zone = text.indexOf('%');
  const body = zone >= 0 ? text.slice(0, zone) : text;
  if (body.length === 0 || body.length > 45) return undefined;
  const halves = body.split('::');
  if (halves.length > 2) return undefined;
  const parseGroups = (part: string): number[] | undefined => {
    if (part === '') return [];
    const groups: number[] = [];
    const items = part.split(':');
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      if (i === items.length - 1 && item.includes('.')) {
        const v4 = parseIpv4(item);
        if (!v4) return undefined;
        groups.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(item)) return undefined;
        groups.push(parseInt(item, 16));
      }
    }
    return groups;
  };
  const head = parseGroups(halves[0]!);
  const tail = halves.length === 2 ? parseGroups(halves[1]!) : [];
  if (!head || !tail) return undefined;
  let groups: number[];
  if (halves.length === 2) {
    const missing = 8 - head.length - tail.length;
    if (missing < 1) return undefined;
    groups = [...head, ...new Array<number>(missing).fill(0), ...tail];
  } else {
    groups = head;
  }
  if (groups.length !== 8) return undefined;
  const bytes = new Uint8Array(16);
  groups.forEach((group, i) => {
    bytes[i * 2] = group >> 8;
    bytes[i * 2 + 1] = group & 0xff;
  });
  return bytes;
}

export function parseIp(text: string): { family: IpFamily; bytes: Uint8Array } | undefined {
  const v4 = parseIpv4(text);
  if (v4) return { family: 4, bytes: v4 };
  const v6 = parseIpv6(text);
  if (v6) return { family: 6, bytes: v6 };
  return undefined;
}

export function formatIpv4(bytes: Uint8Array): string {
  return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
}

export function formatIpv6(bytes: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  // RFC 5952 §4.2.3: compress the longest run of two or more zero groups (the first if tied).
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let end = i;
    while (end < 8 && groups[end] === 0) end++;
    if (end - i > bestLength) {
      bestStart = i;
      bestLength = end - i;
    }
    i = end;
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestStart < 0) return hex.join(':');
  const left = hex.slice(0, bestStart).join(':');
  const right = hex.slice(bestStart + bestLength).join(':');
  return `${left}::${right}`;
}

/**
 * 127.0.0.0/8, ::1 or an IPv4-mapped 127.x: traffic to it never leaves this host. The one test
 * for "is this a local self-test" (detect's gateway rule, peer's default bind, TURN's bind).
 */
export function isLoopbackAddress(address: string): boolean {
  const parsed = parseIp(address);
  if (parsed === undefined) return false;
  if (parsed.family === 4) return parsed.bytes[0] === 127;
  const b = parsed.bytes;
  const mappedV4 = b.slice(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;
  if (mappedV4) return b[12] === 127;
  return b.slice(0, 15).every((x) => x === 0) && b[15] === 1;
}

/** True when two textual addresses denote the same IP (e.g. '::1' and '0:0:0:0:0:0:0:1'). */
export function sameIp(a: string, b: string): boolean {
  const pa = parseIp(a);
  const pb = parseIp(b);
  if (!pa || !pb || pa.family !== pb.family) return a === b;
  return pa.bytes.every((byte, i) => byte === pb.bytes[i]);
}

/** "1.2.3.4:5" or "[2001:db8::1]:5", the usual way to write a transport address. */
export function formatTransportAddress(address: { address: string; port: number }): string {
  return address.address.includes(':') ? `[${address.address}]:${address.port}` : `${address.address}:${address.port}`;
}
