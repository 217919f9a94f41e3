import type { ClassicName, FilteringBehaviour, MappingBehaviour } from './types.js';

/**
 * Hole-punching theory: will two peers that both know each other's server-reflexive address,
 * and both send to it at once (as ICE does, RFC 8445 §7.2.5), reach each other directly?
 *
 * A packet from A reaches B's host when B's NAT accepts it at B's mapped address:
 *   - B filters endpoint-independently (EIF); or
 *   - B filters by address (ADF) and B's mapping is endpoint-independent, so B's own packets to
 *     A went out through that same mapping and opened it for A's IP; or
 *   - B filters by address and port (APDF), B's mapping is EIM, and A's mapping is EIM too, so
 *     A's packets come from exactly the address B sent to.
 * B's reply then reaches A when B's mapping is EIM (the reply leaves from the address A sent to)
 * or A's filtering is not address-and-port-dependent.
 * A direct path exists when either direction works and its reply does. This reproduces every
 * row of the lab's measured hole-punching table (../shared/LAB-NOTES.md).
 */
export interface NatProfile {
  mapping: MappingBehaviour;
  filtering: FilteringBehaviour;
}

const isEim = (profile: NatProfile): boolean => profile.mapping === 'endpoint-independent';

function reaches(from: NatProfile, to: NatProfile): boolean {
  switch (to.filtering) {
    case 'endpoint-independent':
      return true;
    case 'address-dependent':
      return isEim(to);
    case 'address-and-port-dependent':
      return isEim(to) && isEim(from);
    default:
      return false;
  }
}

function replyReaches(responder: NatProfile, sender: NatProfile): boolean {
  return isEim(responder) || (sender.filtering !== 'address-and-port-dependent' && sender.filtering !== 'unknown');
}

export function directConnectionExpected(a: NatProfile, b: NatProfile): boolean {
  return (reaches(a, b) && replyReaches(b, a)) || (reaches(b, a) && replyReaches(a, b));
}

/** Reference peer types, named as users know them, with their RFC 4787 behaviour. */
export const PEER_TYPES: ReadonlyArray<{ name: string; profile: NatProfile }> = [
  { name: 'no NAT (open internet)', profile: { mapping: 'endpoint-independent', filtering: 'endpoint-independent' } },
  { name: 'full cone', profile: { mapping: 'endpoint-independent', filtering: 'endpoint-independent' } },
  { name: 'restricted cone', profile: { mapping: 'endpoint-independent', filtering: 'address-dependent' } },
  { name: 'port-restricted cone', profile: { mapping: 'endpoint-independent', filtering: 'address-and-port-dependent' } },
  { name: 'firewall (no NAT, filtered)', profile: { mapping: 'endpoint-independent', filtering: 'address-and-port-dependent' } },
  { name: 'address-dependent NAT', profile: { mapping: 'address-dependent', filtering: 'address-and-port-dependent' } },
  { name: 'symmetric', profile: { mapping: 'address-and-port-dependent', filtering: 'address-and-port-dependent' } },
];

export interface Compatibility {
  direct: string[];
  needsRelay: string[];
}

export function compatibilityFor(profile: NatProfile): Compatibility | undefined {
  if (profile.mapping === 'unknown' || profile.filtering === 'unknown') return undefined;
  const direct: string[] = [];
  const needsRelay: string[] = [];
  for (const peer of PEER_TYPES) (directConnectionExpected(profile, peer.profile) ? direct : needsRelay).push(peer.name);
  return { direct, needsRelay };
}

const DESCRIPTIONS: Record<ClassicName, string> = {
  'open-internet': 'This host has a public address and nothing filters inbound UDP: any peer can reach it directly.',
  'full-cone':
    'Behind a NAT that keeps one public port per local socket and lets anyone send to it. Direct connections work with every peer type.',
  'restricted-cone':
    'Behind a NAT that keeps one public port per local socket and accepts packets from any host you have sent to. Direct connections work with almost every peer, including symmetric NATs.',
  'port-restricted-cone':
    'Behind a NAT that keeps one public port per local socket but only accepts packets from the exact address and port you sent to. Direct connections work with cone NATs; symmetric and address-dependent peers need a TURN relay.',
  symmetric:
    'Behind a NAT that picks a new public port for each destination, so the address a STUN server sees is not the one your peer sees. Direct connections work only with peers whose NAT is full cone or restricted cone (or no NAT); otherwise calls fall back to TURN.',
  'symmetric-udp-firewall':
    'No NAT, but a firewall only accepts UDP from addresses you have sent to. Direct connections work with cone NATs; symmetric peers need a TURN relay.',
  'udp-blocked': 'No STUN server answered over UDP. UDP is probably blocked here: calls will need TURN over TCP or TLS (port 443).',
  unknown: 'The NAT type could not be determined; see the reasons.',
};

export function describeClassicName(name: ClassicName): string {
  return DESCRIPTIONS[name];
}
