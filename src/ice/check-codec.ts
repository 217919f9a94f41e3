/**
 * Connectivity-check messages on the wire (RFC 8445 §7.1–§7.3): building Binding requests and
 * responses, and validating what arrives. Pure: bytes in, bytes or verdicts out.
 *
 * Credentials (RFC 8445 §7.2.2, §7.3): a request carries USERNAME "RFRAG:LFRAG" (the receiver's
 * ufrag first) and MESSAGE-INTEGRITY keyed with the receiver's password; the response is keyed
 * with the same password, i.e. the answering agent's own. Every message ends with FINGERPRINT
 * (§7.1: the FINGERPRINT mechanism MUST be used for connectivity checks).
 */
import {
  attr,
  encodeMessage,
  getAttribute,
  hasAttribute,
  StunMethod,
  unknownComprehensionRequired,
  verifyMessageIntegrity,
  type DecodedStunMessage,
  type StunAttribute,
  type TransportAddress as StunTransportAddress,
} from '../stun/index.js';
import type { IceRole } from './pair.js';

/** What the sender of a check decides (RFC 8445 §7.1.1–§7.1.3). */
export interface CheckRequestFields {
  readonly transactionId: Uint8Array;
  /** USERNAME is `${remoteUfrag}:${localUfrag}` (§7.2.2). */
  readonly localUfrag: string;
  readonly remoteUfrag: string;
  /** MESSAGE-INTEGRITY key: the remote agent's password (RFC 8489 §9.1.1 short-term key). */
  readonly remoteKey: Uint8Array;
  /** PRIORITY (§7.1.1): the local candidate's priority as if it were peer-reflexive. */
  readonly priority: number;
  readonly role: IceRole;
  readonly tieBreaker: bigint;
  /** USE-CANDIDATE (§7.1.2): the controlling agent nominates the pair. */
  readonly useCandidate: boolean;
}

/** A Binding request for a connectivity check or a consent-freshness check (RFC 7675 §5.1). */
export function encodeCheckRequest(fields: CheckRequestFields): Buffer {
  const attributes: StunAttribute[] = [
    attr('USERNAME', `${fields.remoteUfrag}:${fields.localUfrag}`),
    attr('PRIORITY', fields.priority),
    fields.role === 'controlling' ? attr('ICE-CONTROLLING', fields.tieBreaker) : attr('ICE-CONTROLLED', fields.tieBreaker),
  ];
  if (fields.useCandidate) attributes.push(attr('USE-CANDIDATE', true));
  return encodeMessage(
    { class: 'request', method: StunMethod.binding, transactionId: fields.transactionId, attributes },
    { integrityKey: fields.remoteKey, fingerprint: true },
  );
}

/**
 * The success response to a check (§7.3.1.2 / RFC 8489 §6.3.1): XOR-MAPPED-ADDRESS is the request's
 * source transport address, keyed with the local password.
 */
export function encodeCheckSuccess(request: DecodedStunMessage, source: StunTransportAddress, localKey: Uint8Array): Buffer {
  return encodeMessage(
    {
      class: 'successResponse',
      method: StunMethod.binding,
      transactionId: request.transactionId,
      attributes: [attr('XOR-MAPPED-ADDRESS', source)],
    },
    { integrityKey: localKey, fingerprint: true },
  );
}

/**
 * An error response (RFC 8489 §6.3.1.1). 400 and 401 answer a request that could not be
 * authenticated, so they carry no MESSAGE-INTEGRITY (RFC 8489 §9.1.3); 487 Role Conflict answers
 * an authenticated request and does (RFC 8445 §7.3.1.1).
 */
export function encodeCheckError(
  request: DecodedStunMessage,
  code: number,
  reason: string,
  options: { key?: Uint8Array; unknownAttributes?: readonly number[] } = {},
): Buffer {
  const attributes: StunAttribute[] = [attr('ERROR-CODE', { code, reason })];
  if (options.unknownAttributes !== undefined && options.unknownAttributes.length > 0) {
    attributes.push(attr('UNKNOWN-ATTRIBUTES', [...options.unknownAttributes]));
  }
  return encodeMessage(
    { class: 'errorResponse', method: StunMethod.binding, transactionId: request.transactionId, attributes },
    options.key === undefined ? { fingerprint: true } : { integrityKey: options.key, fingerprint: true },
  );
}

/** A check request as the receiving agent needs it (§7.3.1). */
export interface AcceptedCheckRequest {
  readonly ok: true;
  /** The sender's ufrag: the second part of USERNAME. */
  readonly remoteUfrag: string;
  readonly priority: number;
  readonly useCandidate: boolean;
  /** The sender's role, from ICE-CONTROLLING / ICE-CONTROLLED, and its tie-breaker. */
  readonly remoteRole: IceRole;
  readonly remoteTieBreaker: bigint;
}

/** Why a request is refused, with the error response to send (RFC 8489 §6.3, §9.1.3). */
export interface RejectedCheckRequest {
  readonly ok: false;
  readonly code: 400 | 401 | 420;
  readonly reason: string;
  /** Whether the request was authenticated (then the error response carries MESSAGE-INTEGRITY). */
  readonly authenticated: boolean;
  readonly unknownAttributes?: readonly number[];
}

/**
 * Validates an incoming Binding request (RFC 8489 §9.1.3 short-term credential checks, RFC 8445
 * §7.3). Order: USERNAME and MESSAGE-INTEGRITY present (else 400); USERNAME's first part is our
 * ufrag and the integrity matches our password (else 401); comprehension-required attributes
 * understood (else 420); PRIORITY and a role attribute present (else 400, §7.1.1, §7.1.3).
 */
export function validateCheckRequest(request: DecodedStunMessage, localUfrag: string, localKey: Uint8Array): AcceptedCheckRequest | RejectedCheckRequest {
  const username = getAttribute(request, 'USERNAME');
  if (username === undefined || !hasAttribute(request, 'MESSAGE-INTEGRITY')) {
    return { ok: false, code: 400, reason: 'Bad Request: USERNAME and MESSAGE-INTEGRITY are required', authenticated: false };
  }
  const colon = username.indexOf(':');
  const ourPart = colon < 0 ? username : username.slice(0, colon);
  if (ourPart !== localUfrag) {
    return { ok: false, code: 401, reason: 'Unauthorized: unknown username fragment', authenticated: false };
  }
  if (verifyMessageIntegrity(request, localKey) !== 'ok') {
    return { ok: false, code: 401, reason: 'Unauthorized: MESSAGE-INTEGRITY does not match', authenticated: false };
  }
  const unknown = unknownComprehensionRequired(request);
  if (unknown.length > 0) {
    return { ok: false, code: 420, reason: 'Unknown Attribute', authenticated: true, unknownAttributes: unknown };
  }
  const priority = getAttribute(request, 'PRIORITY');
  const controlling = getAttribute(request, 'ICE-CONTROLLING');
  const controlled = getAttribute(request, 'ICE-CONTROLLED');
  if (priority === undefined || (controlling === undefined) === (controlled === undefined)) {
    return { ok: false, code: 400, reason: 'Bad Request: PRIORITY and exactly one of ICE-CONTROLLING / ICE-CONTROLLED are required', authenticated: true };
  }
  return {
    ok: true,
    remoteUfrag: colon < 0 ? '' : username.slice(colon + 1),
    priority,
    useCandidate: hasAttribute(request, 'USE-CANDIDATE'),
    remoteRole: controlling !== undefined ? 'controlling' : 'controlled',
    remoteTieBreaker: controlling ?? controlled!,
  };
}

/** What a response to one of our checks says, after authentication (RFC 8445 §7.2.5). */
export type CheckResponseVerdict =
  | { readonly kind: 'success'; readonly mappedAddress: StunTransportAddress | undefined }
  | { readonly kind: 'error'; readonly code: number; readonly reason: string }
  /** Failed MESSAGE-INTEGRITY (or it was missing): RFC 8489 §9.1.4 says discard it as if never received. */
  | { readonly kind: 'unauthenticated'; readonly detail: string };

/**
 * Authenticates a response with the remote password and reads it. 400 and 401 error responses
 * carry no integrity by design (the peer could not authenticate us), so they are accepted
 * without it; every other response must have valid MESSAGE-INTEGRITY.
 */
export function readCheckResponse(response: DecodedStunMessage, remoteKey: Uint8Array): CheckResponseVerdict {
  const error = response.class === 'errorResponse' ? getAttribute(response, 'ERROR-CODE') : undefined;
  const integrity = verifyMessageIntegrity(response, remoteKey);
  if (integrity !== 'ok') {
    if (error !== undefined && (error.code === 400 || error.code === 401) && integrity === 'missing') {
      return { kind: 'error', code: error.code, reason: error.reason };
    }
    return {
      kind: 'unauthenticated',
      detail: integrity === 'missing' ? 'the response has no MESSAGE-INTEGRITY' : 'MESSAGE-INTEGRITY does not match the remote password',
    };
  }
  if (response.class === 'errorResponse') {
    return error === undefined
      ? { kind: 'error', code: 0, reason: 'error response without ERROR-CODE' }
      : { kind: 'error', code: error.code, reason: error.reason };
  }
  return { kind: 'success', mappedAddress: getAttribute(response, 'XOR-MAPPED-ADDRESS') ?? getAttribute(response, 'MAPPED-ADDRESS') };
}
