/**
 * The NAT behaviours the lab can build, by name. Each one is a real kernel (nftables) NAT in a
 * router namespace; `expected.ts` says what RFC 4787 / RFC 5780 behaviour each must show.
 */
export const NAT_TYPES = [
  /** No NAT and no filtering: the client has a public address on the bridge. */
  'none',
  /** No NAT, but a stateful firewall drops new inbound traffic (APDF on a public address). */
  'firewall',
  /** EIM / EIF ("full cone", RFC 3489 §5). */
  'full-cone',
  /** EIM / ADF ("restricted cone"). */
  'restricted',
  /** EIM / APDF ("port-restricted cone"); plain Linux masquerade. */
  'port-restricted',
  /** ADM / APDF: a new external port per remote address, hashed. */
  'addr-dependent',
  /** APDM / APDF with random port allocation. */
  'symmetric',
  /** APDM / APDF where each new mapping takes the next port (predictable allocation). */
  'symmetric-sequential',
] as const;

export type NatType = (typeof NAT_TYPES)[number];

/** The types that translate addresses (and so need a router namespace). */
export type TranslatingNatType = Exclude<NatType, 'none' | 'firewall'>;

export function isNatType(value: unknown): value is NatType {
  return typeof value === 'string' && (NAT_TYPES as readonly string[]).includes(value);
}

export function isTranslating(type: NatType): type is TranslatingNatType {
  return type !== 'none' && type !== 'firewall';
}
