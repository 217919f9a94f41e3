import type { IpFamily } from './ip.js';

/** An IP address and port, as carried in the address attributes (RFC 8489 §14.1, §14.2). */
export interface TransportAddress {
  family: IpFamily;
  address: string;
  port: number;
}

/** RFC 5780 §7.2: ask the server to answer from its other IP and/or other port. */
export interface ChangeRequest {
  changeIp: boolean;
  changePort: boolean;
}

/** RFC 8489 §14.8: code is class × 100 + number, 300..699. */
export interface ErrorCode {
  code: number;
  reason: string;
}

/** RFC 8489 §14.11/§14.12: an algorithm number and its (usually empty) parameters. */
export interface PasswordAlgorithm {
  algorithm: number;
  parameters: Uint8Array;
}

/** The decoded value of each known attribute, by name. */
export interface AttributeValues {
  'MAPPED-ADDRESS': TransportAddress;
  'SOURCE-ADDRESS': TransportAddress;
  'CHANGED-ADDRESS': TransportAddress;
  'OTHER-ADDRESS': TransportAddress;
  'RESPONSE-ORIGIN': TransportAddress;
  'ALTERNATE-SERVER': TransportAddress;
  'XOR-MAPPED-ADDRESS': TransportAddress;
  'XOR-PEER-ADDRESS': TransportAddress;
  'XOR-RELAYED-ADDRESS': TransportAddress;
  'CHANGE-REQUEST': ChangeRequest;
  'RESPONSE-PORT': number;
  PADDING: Uint8Array;
  USERNAME: string;
  SOFTWARE: string;
  REALM: string;
  NONCE: string;
  'ALTERNATE-DOMAIN': string;
  'ERROR-CODE': ErrorCode;
  'UNKNOWN-ATTRIBUTES': number[];
  PRIORITY: number;
  'USE-CANDIDATE': true;
  'ICE-CONTROLLED': bigint;
  'ICE-CONTROLLING': bigint;
  'MESSAGE-INTEGRITY': Uint8Array;
  'MESSAGE-INTEGRITY-SHA256': Uint8Array;
  FINGERPRINT: number;
  'CHANNEL-NUMBER': number;
  LIFETIME: number;
  DATA: Uint8Array;
  'REQUESTED-ADDRESS-FAMILY': IpFamily;
  'EVEN-PORT': boolean;
  'REQUESTED-TRANSPORT': number;
  'DONT-FRAGMENT': true;
  'RESERVATION-TOKEN': Uint8Array;
  'PASSWORD-ALGORITHM': PasswordAlgorithm;
  'PASSWORD-ALGORITHMS': PasswordAlgorithm[];
  USERHASH: Uint8Array;
}

export type AttributeName = keyof AttributeValues;

/**
 * A known attribute. `padding` keeps non-zero padding bytes as received (RFC 5769's vectors
 * pad with spaces), so a decoded message re-encodes byte for byte.
 */
export type KnownAttribute = {
  [N in AttributeName]: { name: N; value: AttributeValues[N]; padding?: Uint8Array };
}[AttributeName];

/** An attribute this codec does not know: kept verbatim, in place. */
export interface UnknownAttribute {
  name: 'UNKNOWN';
  type: number;
  value: Uint8Array;
  padding?: Uint8Array;
}

export type StunAttribute = KnownAttribute | UnknownAttribute;

/** Builds a typed attribute; `attr('PRIORITY', 1)` reads better than an object literal. */
export function attr<N extends AttributeName>(name: N, value: AttributeValues[N]): StunAttribute {
  return { name, value } as StunAttribute;
}
