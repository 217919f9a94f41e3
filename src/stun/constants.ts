/** RFC 8489 §5: the fixed value in bytes 4..7 of every STUN message since RFC 5389. */
export const MAGIC_COOKIE = 0x2112a442;
/** RFC 8489 §5: the header is 20 bytes; attributes follow, each padded to 4 bytes (§14). */
export const HEADER_LENGTH = 20;
export const TRANSACTION_ID_LENGTH = 12;
export const ATTRIBUTE_HEADER_LENGTH = 4;
/** RFC 8489 §14.7: FINGERPRINT is the CRC-32 of the message XOR'ed with this value. */
export const FINGERPRINT_XOR = 0x5354554e;

/** RFC 8489 §5: the two class bits C1 C0, spread over the message type. */
export const StunClass = {
  request: 0b00,
  indication: 0b01,
  successResponse: 0b10,
  errorResponse: 0b11,
} as const;
export type StunClass = keyof typeof StunClass;

/** Methods: Binding (RFC 8489 §18.2) and the TURN methods (RFC 8656 §17). */
export const StunMethod = {
  binding: 0x001,
  allocate: 0x003,
  refresh: 0x004,
  send: 0x006,
  data: 0x007,
  createPermission: 0x008,
  channelBind: 0x009,
} as const;
export type StunMethodName = keyof typeof StunMethod;

/**
 * Attribute type codes. RFC 8489 §18.3 (STUN), RFC 5780 §7 (NAT behaviour discovery),
 * RFC 8445 §16.1 (ICE), RFC 8656 §18 (TURN), RFC 3489 §11.2 (legacy addresses).
 * Types below 0x8000 are comprehension-required (RFC 8489 §14).
 */
export const AttributeType = {
  'MAPPED-ADDRESS': 0x0001,
  'CHANGE-REQUEST': 0x0003,
  'SOURCE-ADDRESS': 0x0004,
  'CHANGED-ADDRESS': 0x0005,
  USERNAME: 0x0006,
  'MESSAGE-INTEGRITY': 0x0008,
  'ERROR-CODE': 0x0009,
  'UNKNOWN-ATTRIBUTES': 0x000a,
  'CHANNEL-NUMBER': 0x000c,
  LIFETIME: 0x000d,
  'XOR-PEER-ADDRESS': 0x0012,
  DATA: 0x0013,
  REALM: 0x0014,
  NONCE: 0x0015,
  'XOR-RELAYED-ADDRESS': 0x0016,
  'REQUESTED-ADDRESS-FAMILY': 0x0017,
  'EVEN-PORT': 0x0018,
  'REQUESTED-TRANSPORT': 0x0019,
  'DONT-FRAGMENT': 0x001a,
  'MESSAGE-INTEGRITY-SHA256': 0x001c,
  'PASSWORD-ALGORITHM': 0x001d,
  USERHASH: 0x001e,
  'XOR-MAPPED-ADDRESS': 0x0020,
  'RESERVATION-TOKEN': 0x0022,
  PRIORITY: 0x0024,
  'USE-CANDIDATE': 0x0025,
  PADDING: 0x0026,
  'RESPONSE-PORT': 0x0027,
  'PASSWORD-ALGORITHMS': 0x8002,
  'ALTERNATE-DOMAIN': 0x8003,
  SOFTWARE: 0x8022,
  'ALTERNATE-SERVER': 0x8023,
  FINGERPRINT: 0x8028,
  'ICE-CONTROLLED': 0x8029,
  'ICE-CONTROLLING': 0x802a,
  'RESPONSE-ORIGIN': 0x802b,
  'OTHER-ADDRESS': 0x802c,
} as const;
export type KnownAttributeName = keyof typeof AttributeType;

export const ADDRESS_FAMILY_IPV4 = 0x01;
export const ADDRESS_FAMILY_IPV6 = 0x02;

/** RFC 8489 §14.3, §14.6, §14.9, §14.10: value length limits, in bytes. */
export const MAX_USERNAME_BYTES = 513;
export const MAX_REALM_OR_NONCE_CHARS = 763;
export const MAX_SOFTWARE_CHARS = 763;
export const MAX_ERROR_REASON_CHARS = 763;

export function isComprehensionRequired(type: number): boolean {
  return type < 0x8000;
}
