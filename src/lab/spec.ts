import { randomBytes } from 'node:crypto';
import { LabSpecError } from './errors.js';
import { isNatType, isTranslating, NAT_TYPES, type NatType, type TranslatingNatType } from './nat-types.js';

/** What to build. Only `a` is required. */
export interface LabSpec {
  /** NAT in front of client A. */
  a: NatType;
  /** NAT in front of client B; omit for a one-client lab. */
  b?: NatType;
  /**
   * A carrier-grade NAT between side A's NAT and the public bridge (100.64.0.0/24 inside).
   * Must be a translating type. Applies to side A only.
   */
  cgn?: NatType;
  /** Every NAT router of the lab hairpins (RFC 4787 §6, REQ-9). Default false. */
  hairpin?: boolean;
  /** Percentage (0–100) of packets each client's access hop drops, in each direction. Default 0. */
  lossPercent?: number;
  /**
   * One-way delay in ms added at each client's first hop, in each direction (a user-space TAP
   * forwarder, `delay-link.ts`): a client is 2 × delay from the servers and 4 × delay from the
   * other client. 0–5000. Default 0 (a plain veth, no forwarder).
   */
  delayMs?: number;
  /** Each frame's delay is uniform in delay ± jitter (no reordering). 0 ≤ jitter ≤ delay. Default 0. */
  jitterMs?: number;
  /** Namespace name prefix; the tool only ever touches namespaces carrying it. Default `np-`. */
  prefix?: string;
  /**
   * UDP mapping lifetime of every NAT router (and the CGN), in seconds: conntrack's timeout for
   * a flow that saw one exchange (`oneWay`) and for one with traffic both ways (`twoWay`), set
   * per router namespace. A number sets both. Default: the kernel's (30 s and 120 s).
   */
  udpTimeout?: number | { oneWay: number; twoWay: number };
}

/** A spec after validation, with every default filled in. */
export interface NormalizedLabSpec {
  a: NatType;
  b: NatType | undefined;
  cgn: TranslatingNatType | undefined;
  hairpin: boolean;
  lossPercent: number;
  delayMs: number;
  jitterMs: number;
  prefix: string;
  udpTimeout: { oneWay: number; twoWay: number } | undefined;
}

/** Upper bound on --delay: beyond 5 s one way nothing in nat-probe's timers makes sense. */
export const MAX_DELAY_MS = 5000;

export const DEFAULT_LAB_PREFIX = 'np-';

/**
 * Prefixes are part of namespace names and are matched with startsWith() on teardown, so they
 * must be non-empty, start with a letter and stay short (names live in /run/netns).
 */
const PREFIX_PATTERN = /^[a-z][a-z0-9]{0,11}-$/;

export function validatePrefix(prefix: string): string {
  if (!PREFIX_PATTERN.test(prefix)) {
    throw new LabSpecError(
      'prefix',
      `Invalid lab prefix ${JSON.stringify(prefix)}: use lower-case letters and digits ending in "-", e.g. "np-" (at most 13 characters).`,
    );
  }
  return prefix;
}

function natTypeField(field: string, value: unknown): NatType {
  if (!isNatType(value)) {
    throw new LabSpecError(field, `Unknown NAT type ${JSON.stringify(value)} for "${field}". Use one of: ${NAT_TYPES.join(', ')}.`);
  }
  return value;
}

export function normalizeLabSpec(spec: LabSpec): NormalizedLabSpec {
  if (typeof spec !== 'object' || spec === null) throw new LabSpecError('spec', 'A lab spec must be an object such as { a: "port-restricted" }.');
  const a = natTypeField('a', spec.a);
  const b = spec.b === undefined ? undefined : natTypeField('b', spec.b);
  let cgn: TranslatingNatType | undefined;
  if (spec.cgn !== undefined) {
    const type = natTypeField('cgn', spec.cgn);
    if (!isTranslating(type)) {
      throw new LabSpecError('cgn', `A carrier-grade NAT must translate; "${type}" does not. Omit "cgn" for no CGN.`);
    }
    cgn = type;
  }
  const lossPercent = spec.lossPercent ?? 0;
  if (typeof lossPercent !== 'number' || !Number.isInteger(lossPercent) || lossPercent < 0 || lossPercent > 100) {
    throw new LabSpecError('lossPercent', `lossPercent must be an integer from 0 to 100, got ${JSON.stringify(spec.lossPercent)}.`);
  }
  const hairpin = spec.hairpin ?? false;
  if (typeof hairpin !== 'boolean') throw new LabSpecError('hairpin', 'hairpin must be true or false.');
  const delayMs = spec.delayMs ?? 0;
  if (typeof delayMs !== 'number' || !Number.isFinite(delayMs) || delayMs < 0 || delayMs > MAX_DELAY_MS) {
    throw new LabSpecError('delayMs', `The delay (delayMs, --delay) must be a number of milliseconds from 0 to ${MAX_DELAY_MS}, got ${JSON.stringify(spec.delayMs)}.`);
  }
  const jitterMs = spec.jitterMs ?? 0;
  if (typeof jitterMs !== 'number' || !Number.isFinite(jitterMs) || jitterMs < 0 || jitterMs > delayMs) {
    throw new LabSpecError('jitterMs', `The jitter (jitterMs, --jitter) must be from 0 to the delay (${delayMs} ms), got ${JSON.stringify(spec.jitterMs)}: jitter varies the delay, so give --delay at least as large.`);
  }
  const prefix = validatePrefix(spec.prefix ?? DEFAULT_LAB_PREFIX);
  let udpTimeout: NormalizedLabSpec['udpTimeout'];
  if (spec.udpTimeout !== undefined) {
    const pair = typeof spec.udpTimeout === 'number' ? { oneWay: spec.udpTimeout, twoWay: spec.udpTimeout } : spec.udpTimeout;
    for (const value of [pair.oneWay, pair.twoWay]) {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 86_400) {
        throw new LabSpecError('udpTimeout', `udpTimeout must be whole seconds from 1 to 86400, got ${JSON.stringify(spec.udpTimeout)}.`);
      }
    }
    udpTimeout = { oneWay: pair.oneWay, twoWay: pair.twoWay };
  }
  return { a, b, cgn, hairpin, lossPercent, delayMs, jitterMs, prefix, udpTimeout };
}

/** A short random id so parallel labs (and parallel test files) never share a namespace name. */
export function newLabId(): string {
  // 5 bytes → 8 base32-ish characters; collisions are negligible and `ip netns add` fails loudly anyway.
  return randomBytes(5).toString('hex').slice(0, 8);
}
