/**
 * Resolving a peer's mDNS host candidate (`<uuid>.local`, draft-ietf-mmusic-mdns-ice-candidates)
 * with a one-shot Multicast DNS query (RFC 6762 §5.1): one query for the name's A and AAAA
 * records, sent from an ephemeral port to 224.0.0.251:5353, so responders answer by unicast to
 * that port (§6.7, legacy unicast; the QU bit of §5.4 asks for the same). mDNS is link-local: it
 * finds a browser on the same network, which is where its host candidate could be reached at all.
 *
 * The codec is pure and strict (a malformed answer throws MdnsDecodeError with where it failed);
 * the resolver is the only I/O, through the transport's UdpEndpoint, bounded in time, and sends
 * the query twice at most. It is used only when a session asks for it (`mdns` option, `--mdns`).
 */
import { NatProbeError } from '../errors.js';
import { systemClock, UdpEndpoint, type Clock, type TimerHandle } from '../transport/index.js';

/** RFC 6762 §3: the IPv4 link-local multicast address and port of Multicast DNS. */
export const MDNS_IPV4_GROUP = '224.0.0.251';
export const MDNS_PORT = 5353;

/** RFC 1035 §3.2.2 TYPE values. */
const TYPE_A = 1;
const TYPE_AAAA = 28;
/** RFC 1035 §3.2.4 CLASS IN; RFC 6762 §5.4 sets the top bit of a question's class for a unicast response (QU). */
const CLASS_IN = 1;
const QU_BIT = 0x8000;
/** RFC 6762 §10.2: the top bit of a record's class is the cache-flush bit, not part of the class. */
const CLASS_MASK = 0x7fff;
/** RFC 1035 §4.1.1: QR, set in responses. */
const FLAG_RESPONSE = 0x8000;

export class MdnsDecodeError extends NatProbeError {
  constructor(detail: string) {
    super('mdns-malformed', `Malformed Multicast DNS message: ${detail}.`);
  }
}

export class MdnsNameError extends NatProbeError {
  constructor(name: string, why: string) {
    super('mdns-invalid-name', `Cannot query "${name}" by Multicast DNS: ${why}.`);
  }
}

export interface MdnsAddressRecord {
  readonly name: string;
  readonly type: 'A' | 'AAAA';
  readonly address: string;
  /** Seconds. */
  readonly ttl: number;
}

export interface MdnsMessage {
  readonly id: number;
  readonly response: boolean;
  /** A and AAAA records among the answers and additional records; other types are skipped. */
  readonly addresses: readonly MdnsAddressRecord[];
}

/** The labels of a `.local` name (RFC 6762 §3), checked against RFC 1035's limits. */
function labelsOf(name: string): string[] {
  const trimmed = name.endsWith('.') ? name.slice(0, -1) : name;
  if (!/\.local$/i.test(trimmed)) throw new MdnsNameError(name, 'only names under .local are resolved by Multicast DNS (RFC 6762 §3)');
  const labels = trimmed.split('.');
  for (const label of labels) {
    if (label.length === 0) throw new MdnsNameError(name, 'it has an empty label');
    if (Buffer.byteLength(label) > 63) throw new MdnsNameError(name, 'a label is longer than 63 bytes (RFC 1035 §2.3.4)');
  }
  if (Buffer.byteLength(trimmed) + 2 > 255) throw new MdnsNameError(name, 'it is longer than 255 bytes (RFC 1035 §2.3.4)');
  return labels;
}

/**
 * A query for the name's A and AAAA records (RFC 1035 §4.1, RFC 6762 §5). `id` is 0 by default,
 * as §18.1 asks of multicast queries; `unicastResponse` sets the QU bit (§5.4), default true.
 */
export function encodeMdnsQuery(name: string, options: { readonly id?: number; readonly unicastResponse?: boolean } = {}): Buffer {
  const labels = labelsOf(name);
  const qname = Buffer.concat([...labels.map((label) => Buffer.concat([Buffer.from([Buffer.byteLength(label)]), Buffer.from(label)])), Buffer.from([0])]);
  const header = Buffer.alloc(12);
  header.writeUInt16BE(options.id ?? 0, 0);
  header.writeUInt16BE(0, 2); // a standard query: QR 0, OPCODE 0, no flags (§18.2–§18.11)
  header.writeUInt16BE(2, 4); // QDCOUNT: A and AAAA
  const klass = CLASS_IN | ((options.unicastResponse ?? true) ? QU_BIT : 0);
  const question = (type: number): Buffer => {
    const tail = Buffer.alloc(4);
    tail.writeUInt16BE(type, 0);
    tail.writeUInt16BE(klass, 2);
    return Buffer.concat([qname, tail]);
  };
  return Buffer.concat([header, question(TYPE_A), question(TYPE_AAAA)]);
}

/** Reads a (possibly compressed, RFC 1035 §4.1.4) name at `offset`; returns it and the offset after it. */
function readName(data: Uint8Array, offset: number): { name: string; next: number } {
  const labels: string[] = [];
  let at = offset;
  let next: number | undefined;
  for (let jumps = 0; ; ) {
    if (at >= data.length) throw new MdnsDecodeError(`name at byte ${offset} runs past the end`);
    const length = data[at]!;
    if (length === 0) {
      next ??= at + 1;
      break;
    }
    if ((length & 0xc0) === 0xc0) {
      if (at + 1 >= data.length) throw new MdnsDecodeError(`compression pointer at byte ${at} is cut short`);
      if (++jumps > 32) throw new MdnsDecodeError(`name at byte ${offset} has a compression loop`);
      next ??= at + 2;
      at = ((length & 0x3f) << 8) | data[at + 1]!;
      continue;
    }
    if ((length & 0xc0) !== 0) throw new MdnsDecodeError(`label type 0x${(length & 0xc0).toString(16)} at byte ${at} is not supported`);
    if (at + 1 + length > data.length) throw new MdnsDecodeError(`label at byte ${at} runs past the end`);
    labels.push(Buffer.from(data.subarray(at + 1, at + 1 + length)).toString('utf8'));
    at += 1 + length;
  }
  return { name: labels.join('.'), next };
}

function ipv6Of(bytes: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return groups.join(':');
}

/** Decodes a DNS message (RFC 1035 §4.1) and collects its A and AAAA records. Throws MdnsDecodeError. */
export function decodeMdnsMessage(data: Uint8Array): MdnsMessage {
  if (data.length < 12) throw new MdnsDecodeError(`${data.length} bytes is shorter than the 12-byte header`);
  const view = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const id = view.readUInt16BE(0);
  const flags = view.readUInt16BE(2);
  const questions = view.readUInt16BE(4);
  const records = view.readUInt16BE(6) + view.readUInt16BE(8) + view.readUInt16BE(10);
  let at = 12;
  for (let i = 0; i < questions; i++) {
    at = readName(data, at).next + 4;
    if (at > data.length) throw new MdnsDecodeError(`question ${i + 1} runs past the end`);
  }
  const addresses: MdnsAddressRecord[] = [];
  for (let i = 0; i < records; i++) {
    const { name, next } = readName(data, at);
    if (next + 10 > data.length) throw new MdnsDecodeError(`record ${i + 1} (${name}) is cut short`);
    const type = view.readUInt16BE(next);
    const klass = view.readUInt16BE(next + 2) & CLASS_MASK;
    const ttl = view.readUInt32BE(next + 4);
    const length = view.readUInt16BE(next + 8);
    const rdata = next + 10;
    if (rdata + length > data.length) throw new MdnsDecodeError(`record ${i + 1} (${name}) says ${length} bytes of data, fewer remain`);
    if (klass === CLASS_IN && type === TYPE_A) {
      if (length !== 4) throw new MdnsDecodeError(`A record for ${name} has ${length} bytes, not 4`);
      addresses.push({ name, type: 'A', address: [...data.subarray(rdata, rdata + 4)].join('.'), ttl });
    } else if (klass === CLASS_IN && type === TYPE_AAAA) {
      if (length !== 16) throw new MdnsDecodeError(`AAAA record for ${name} has ${length} bytes, not 16`);
      addresses.push({ name, type: 'AAAA', address: ipv6Of(data.subarray(rdata, rdata + 16)), ttl });
    }
    at = rdata + length;
  }
  return { id, response: (flags & FLAG_RESPONSE) !== 0, addresses };
}

/**
 * A response to our query as the name's addresses, IPv4 first; empty when it does not answer for
 * the name (names compare case-insensitively, RFC 6762 §16). A record with TTL 0 is a goodbye
 * (§10.1) and does not count.
 */
export function addressesFor(message: MdnsMessage, name: string): string[] {
  if (!message.response) return [];
  const wanted = (name.endsWith('.') ? name.slice(0, -1) : name).toLowerCase();
  const matching = message.addresses.filter((record) => record.ttl > 0 && record.name.toLowerCase() === wanted);
  return [...matching.filter((r) => r.type === 'A'), ...matching.filter((r) => r.type === 'AAAA')].map((r) => r.address);
}

export interface MdnsResolveOptions {
  /** Bound on the whole resolution. Default 1,000 ms. */
  readonly timeoutMs?: number;
  /** Local address of the querying socket. Default 0.0.0.0 (the route to 224.0.0.0/4 picks the interface). */
  readonly bindAddress?: string;
  readonly clock?: Clock;
}

export const MDNS_DEFAULTS = { timeoutMs: 1_000 } as const;

/**
 * Resolves a `.local` name by a one-shot query (RFC 6762 §5.1), sent again once a third of the
 * way through the bound if nothing has answered (a lost datagram on a busy LAN). Resolves with
 * the addresses (IPv4 first), or an empty list when none answered in time. Never rejects for
 * network trouble (a send that fails ends it empty); throws MdnsNameError for a name it cannot
 * query.
 */
export async function resolveMdnsName(name: string, options: MdnsResolveOptions = {}): Promise<string[]> {
  const query = encodeMdnsQuery(name);
  const clock = options.clock ?? systemClock;
  const timeoutMs = options.timeoutMs ?? MDNS_DEFAULTS.timeoutMs;
  const endpoint = await UdpEndpoint.bind({ address: options.bindAddress ?? '0.0.0.0', port: 0, family: 4 });
  const timers: TimerHandle[] = [];
  try {
    return await new Promise<string[]>((resolve) => {
      const done = (addresses: string[]): void => resolve(addresses);
      endpoint.onDatagram(({ data }) => {
        let message: MdnsMessage;
        try {
          message = decodeMdnsMessage(data);
        } catch {
          return; // not an answer we can read; keep listening
        }
        const addresses = addressesFor(message, name);
        if (addresses.length > 0) done(addresses);
      });
      const send = (): void => {
        endpoint.send(query, { address: MDNS_IPV4_GROUP, port: MDNS_PORT }).catch(() => done([]));
      };
      send();
      timers.push(clock.setTimeout(send, Math.floor(timeoutMs / 3)));
      timers.push(clock.setTimeout(() => done([]), timeoutMs));
    });
  } finally {
    for (const timer of timers) clock.clearTimeout(timer);
    await endpoint.close();
  }
}
