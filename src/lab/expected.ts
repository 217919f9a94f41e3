/**
 * The theory the lab must reproduce, as data: what each NatType does (RFC 4787 mapping and
 * filtering, port allocation) and which pairs can hole-punch directly. The lab tests check the
 * real kernel NAT against these tables, and later nat-probe's own classifier and traversal
 * results are checked against them too.
 */
import { directConnectionExpected } from '../nat/compatibility.js';
import type { ClassicName } from '../nat/types.js';
import type { NatType } from './nat-types.js';

/** RFC 4787 §4.1 / RFC 5780 §4.3: on what the external mapping depends. */
export type MappingBehaviour = 'endpoint-independent' | 'address-dependent' | 'address-and-port-dependent';
/** RFC 4787 §5 / RFC 5780 §4.4: which inbound packets a mapping lets through. */
export type FilteringBehaviour = 'endpoint-independent' | 'address-dependent' | 'address-and-port-dependent';
/** RFC 4787 §4.2.2: how external ports are chosen. */
export type PortAllocation = 'preserved' | 'sequential' | 'random';

export interface NatBehaviour {
  /** False for 'none' and 'firewall': the client's own address is public. */
  translates: boolean;
  /** For non-translating types this is the identity, which is endpoint-independent. */
  mapping: MappingBehaviour;
  /** 'none' filters nothing (endpoint-independent); 'firewall' is a stateful APDF filter. */
  filtering: FilteringBehaviour;
  ports: PortAllocation;
  /** RFC 3489 §5 name, for people who think in those terms. */
  classicName: 'open internet' | 'firewall' | 'full cone' | 'restricted cone' | 'port-restricted cone' | 'symmetric';
}

export const EXPECTED_BEHAVIOUR: Readonly<Record<NatType, NatBehaviour>> = {
  none: { translates: false, mapping: 'endpoint-independent', filtering: 'endpoint-independent', ports: 'preserved', classicName: 'open internet' },
  firewall: { translates: false, mapping: 'endpoint-independent', filtering: 'address-and-port-dependent', ports: 'preserved', classicName: 'firewall' },
  'full-cone': { translates: true, mapping: 'endpoint-independent', filtering: 'endpoint-independent', ports: 'preserved', classicName: 'full cone' },
  restricted: { translates: true, mapping: 'endpoint-independent', filtering: 'address-dependent', ports: 'preserved', classicName: 'restricted cone' },
  'port-restricted': { translates: true, mapping: 'endpoint-independent', filtering: 'address-and-port-dependent', ports: 'preserved', classicName: 'port-restricted cone' },
  // Hashed ports look random; what matters is that they change only with the remote address.
  'addr-dependent': { translates: true, mapping: 'address-dependent', filtering: 'address-and-port-dependent', ports: 'random', classicName: 'symmetric' },
  symmetric: { translates: true, mapping: 'address-and-port-dependent', filtering: 'address-and-port-dependent', ports: 'random', classicName: 'symmetric' },
  'symmetric-sequential': { translates: true, mapping: 'address-and-port-dependent', filtering: 'address-and-port-dependent', ports: 'sequential', classicName: 'symmetric' },
};

const STRICTNESS: Readonly<Record<MappingBehaviour, number>> = {
  'endpoint-independent': 0,
  'address-dependent': 1,
  'address-and-port-dependent': 2,
};

function stricter<T extends MappingBehaviour>(x: T, y: T): T {
  return STRICTNESS[x] >= STRICTNESS[y] ? x : y;
}

/**
 * What a client behind `inner` behind a CGN `cgn` sees end to end. Mapping composes to the
 * stricter of the two (a new inner port toward a new destination is a new flow for the CGN too,
 * and a CGN that is stricter splits even when the inner NAT does not). An inbound packet must pass
 * both filters, so filtering is the stricter too. Ports: the outer NAT's allocation is what the
 * world sees, unless it preserves ports, in which case the inner one's shows through.
 */
export function effectiveBehaviour(inner: NatType, cgn?: NatType): NatBehaviour {
  const a = EXPECTED_BEHAVIOUR[inner];
  if (cgn === undefined) return a;
  const c = EXPECTED_BEHAVIOUR[cgn];
  const mapping = stricter(a.mapping, c.mapping);
  const filtering = stricter(a.filtering, c.filtering);
  return {
    translates: a.translates || c.translates,
    mapping,
    filtering,
    ports: c.ports === 'preserved' ? a.ports : c.ports,
    classicName: classicName(mapping, filtering, a.translates || c.translates),
  };
}

function classicName(mapping: MappingBehaviour, filtering: FilteringBehaviour, translates: boolean): NatBehaviour['classicName'] {
  if (!translates) return filtering === 'endpoint-independent' ? 'open internet' : 'firewall';
  if (mapping !== 'endpoint-independent') return 'symmetric';
  if (filtering === 'endpoint-independent') return 'full cone';
  return filtering === 'address-dependent' ? 'restricted cone' : 'port-restricted cone';
}

/**
 * Hole-punching ground truth: does direct UDP work between A (behind `cgn` if given) and B, when
 * both learn their mapped address from a STUN server, exchange them, send to each other and
 * answer any source? One direction is enough: the first packet that gets through opens a
 * conntrack entry whose reply retraces the path.
 *
 * LAB-NOTES.md measured: PR↔PR, R↔PR, FC↔anything, R↔S, AD↔R, AD↔FC work; PR↔S, S↔S, AD↔PR,
 * firewall↔S fail; PR behind a PR CGN ↔ PR works; anything behind a symmetric CGN ↔ PR or S fails.
 * Every other pair is derived from nat-probe's hole-punching theory (src/nat/compatibility.ts),
 * the same rule `detect` uses to say which peers need TURN; it reproduces all of those.
 */
export function expectDirectSuccess(a: NatType, b: NatType, cgn?: NatType): boolean {
  return directConnectionExpected(effectiveBehaviour(a, cgn), EXPECTED_BEHAVIOUR[b]);
}

/**
 * The LAB-NOTES.md measurements, so tests can check the derivation reproduces them. Where the
 * notes say "anything", the row is expanded over every NatType.
 */
export const MEASURED_HOLE_PUNCHING: readonly { a: NatType; b: NatType; cgn?: NatType; direct: boolean }[] = [
  { a: 'port-restricted', b: 'port-restricted', direct: true },
  { a: 'restricted', b: 'port-restricted', direct: true },
  ...(['none', 'firewall', 'full-cone', 'restricted', 'port-restricted', 'addr-dependent', 'symmetric', 'symmetric-sequential'] as const).map((b) => ({ a: 'full-cone' as const, b, direct: true })),
  { a: 'restricted', b: 'symmetric', direct: true },
  { a: 'addr-dependent', b: 'restricted', direct: true },
  { a: 'addr-dependent', b: 'full-cone', direct: true },
  { a: 'port-restricted', b: 'symmetric', direct: false },
  { a: 'symmetric', b: 'symmetric', direct: false },
  { a: 'addr-dependent', b: 'port-restricted', direct: false },
  { a: 'firewall', b: 'symmetric', direct: false },
  { a: 'port-restricted', cgn: 'port-restricted', b: 'port-restricted', direct: true },
  ...(['none', 'firewall', 'full-cone', 'restricted', 'port-restricted', 'addr-dependent', 'symmetric', 'symmetric-sequential'] as const).flatMap((a) => [
    { a, cgn: 'symmetric' as const, b: 'port-restricted' as const, direct: false },
    { a, cgn: 'symmetric' as const, b: 'symmetric' as const, direct: false },
  ]),
];

/** The name `nat-probe detect` reports for each classic name above (its JSON `classicName`). */
export const DETECT_CLASSIC_NAME: Readonly<Record<NatBehaviour['classicName'], ClassicName>> = {
  'open internet': 'open-internet',
  firewall: 'symmetric-udp-firewall',
  'full cone': 'full-cone',
  'restricted cone': 'restricted-cone',
  'port-restricted cone': 'port-restricted-cone',
  symmetric: 'symmetric',
};
