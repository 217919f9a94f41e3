/**
 * What the server answers to one decoded STUN message: pure, no sockets, so every RFC rule
 * here is unit-testable. The server feeds it each valid datagram and sends what it returns.
 */
import {
  AttributeType,
  MAGIC_COOKIE,
  StunMethod,
  attr,
  encodeMessage,
  hasAttribute,
  isComprehensionRequired,
  type ChangeRequest,
  type DecodedStunMessage,
  type StunAttribute,
  type StunMessage,
  type TransportAddress,
} from '../stun/index.js';
import type { IgnoredReason } from './events.js';
import { otherSocket, responseSocket, type SocketRole } from './roles.js';
import { SuccessTemplates, successAttributes, type SuccessShape } from './success-templates.js';

/**
 * What the responder needs to know about the server. A view must not change once used: the
 * success responses built for it are cached per view object (see success-templates.ts).
 */
export interface ServerView {
  /** True when the server has an alternate address and port (four sockets). */
  rfc5780: boolean;
  /** The bound address of each socket; undefined for a role the server lacks. */
  addressOf(role: SocketRole): TransportAddress | undefined;
  /** False when bound to a wildcard: the address a response leaves from is then unknown. */
  originKnown: boolean;
  /** SOFTWARE value, or undefined to never send one. */
  software: string | undefined;
  /** Cap on the PADDING put in a response, in bytes. */
  maxResponsePadding: number;
}

export type Decision =
  | { action: 'ignore'; reason: IgnoredReason }
  | {
      action: 'respond';
      bytes: Buffer;
      sendFrom: SocketRole;
      to: { address: string; port: number };
      outcome: 'success' | 'error';
      errorCode?: number;
      legacy: boolean;
      trimmed: string[];
    };

/** RFC 8489 §14.8 reason phrases. */
const REASONS: Record<number, string> = {
  400: 'Bad Request',
  420: 'Unknown Attribute',
};

const roundUp4 = (n: number): number => (n + 3) & ~3;
const roundDown4 = (n: number): number => n & ~3;
const utf8 = new TextEncoder();

/**
 * Decides the answer to `message`, which arrived on `receivedOn` from `from` as a datagram of
 * `requestBytes` bytes.
 *
 * Processing order follows RFC 8489 §6.3 (class and method checks, silently discarding what a
 * Binding server does not serve; then 420 for unknown comprehension-required attributes), then
 * RFC 5780 §6.1 (PADDING with RESPONSE-PORT is a 400; CHANGE-REQUEST without an alternate address
 * is a 420), then builds the success response.
 */
export function answerRequest(
  message: DecodedStunMessage,
  requestBytes: number,
  from: TransportAddress,
  receivedOn: SocketRole,
  view: ServerView,
): Decision {
  // RFC 8489 §6.3.2: an indication gets no response; a Binding indication only refreshes NAT
  // bindings, which receiving it has already done.
  if (message.class === 'indication') return { action: 'ignore', reason: 'indication' };
  // RFC 8489 §6.3: a response matches no transaction of ours; discard it.
  if (message.class !== 'request') return { action: 'ignore', reason: 'response' };
  // RFC 8489 §6.3: a message whose method the agent does not support is silently discarded.
  // (A 400 would also be defensible, but it turns a STUN server into a reflector for any
  // method number, and coturn with --stun-only likewise stays silent.)
  if (message.method !== StunMethod.binding) return { action: 'ignore', reason: 'unsupported-method' };

  // RFC 8489 §11 / RFC 5389 §12.2: no magic cookie means an RFC 3489 client.
  const legacy = message.magicCookie !== MAGIC_COOKIE;
  const { padding, responsePort, change, fingerprint, unknown } = scanAttributes(message.attributes);
  if (unknown.length > 0) return errorResponse(message, requestBytes, from, receivedOn, view, legacy, 420, unknown);

  // RFC 5780 §6.1, §7.5 and §10: PADDING with RESPONSE-PORT would let a client aim a large
  // answer at another port; the server MUST NOT process it and answers 400.
  if (padding !== undefined && responsePort !== undefined) return errorResponse(message, requestBytes, from, receivedOn, view, legacy, 400);
  // RESPONSE-PORT 0 names no port a datagram can be sent to.
  if (responsePort === 0) return errorResponse(message, requestBytes, from, receivedOn, view, legacy, 400);

  if (change !== undefined && !view.rfc5780) {
    // RFC 5780 §6 and §6.1: without an alternate address and port the server MUST answer any
    // CHANGE-REQUEST with 420. RFC 3489 clients (e.g. Vovida `stun`) put a CHANGE-REQUEST with
    // no flags in every request; RFC 5780 does not govern them (§3), and a no-flags request asks
    // for nothing this server cannot do, so it is answered.
    const asksForChange = change.changeIp || change.changePort;
    if (!legacy || asksForChange) return errorResponse(message, requestBytes, from, receivedOn, view, legacy, 420, [AttributeType['CHANGE-REQUEST']]);
  }

  const sendFrom = change !== undefined && view.rfc5780 ? responseSocket(receivedOn, change) : receivedOn;
  // RFC 5780 §7.5: the answer goes to the request's source IP and the RESPONSE-PORT port.
  const to = { address: from.address, port: responsePort ?? from.port };
  // RFC 8489 §6.3.1.1 (XOR-MAPPED-ADDRESS), RFC 5780 §6.1 (MAPPED-ADDRESS too, so generic ALGs
  // can be detected, §3.6; RESPONSE-ORIGIN always; OTHER-ADDRESS only with an alternate), and
  // for RFC 3489 clients §11.2.1 (MAPPED-, SOURCE- and CHANGED-ADDRESS): see successAttributes.
  // RFC 8489 §7 and §14.7, RFC 5780 §6.1: echo FINGERPRINT to a client that uses it to demultiplex.
  const shape: SuccessShape = {
    legacy,
    origin: view.originKnown ? view.addressOf(sendFrom) : undefined,
    other: view.rfc5780 ? view.addressOf(otherSocket(receivedOn)) : undefined,
    software: undefined,
    fingerprint,
    family: from.family,
  };

  if (padding === undefined) {
    // The common case, from templates: the same bytes fitWithinBudget would pick, without
    // encoding twice (the amplification rule is the same: SOFTWARE only if it still fits).
    const templates = templatesOf(view);
    let trimmed: string[] = [];
    if (view.software !== undefined) {
      // A literal with the same fields in the same order as `shape` (no spread: one hidden class).
      const rich: SuccessShape = { legacy, origin: shape.origin, other: shape.other, software: view.software, fingerprint, family: shape.family };
      if (templates.sizeOf(rich, sendFrom, receivedOn) <= requestBytes) {
        const bytes = templates.render(rich, sendFrom, receivedOn, message.magicCookie, message.transactionId, from);
        return { action: 'respond', bytes, sendFrom, to, outcome: 'success', legacy, trimmed };
      }
      trimmed = ['SOFTWARE'];
    }
    const bytes = templates.render(shape, sendFrom, receivedOn, message.magicCookie, message.transactionId, from);
    return { action: 'respond', bytes, sendFrom, to, outcome: 'success', legacy, trimmed };
  }

  const required = successAttributes(shape, from);
  // RFC 5780 §6.1: a PADDING request MUST get PADDING back. The RFC suggests the outgoing MTU;
  // we mirror the request's own padding (capped at maxResponsePadding), so a client that wants
  // a fragment-sized answer pays with a fragment-sized request and a 4-byte PADDING cannot
  // pull 1500 bytes towards a spoofed victim.
  const length = Math.min(roundUp4(padding.length), roundDown4(view.maxResponsePadding));
  required.push(attr('PADDING', new Uint8Array(length)));

  const response = (attributes: StunAttribute[]): StunMessage => ({
    class: 'successResponse',
    method: message.method,
    transactionId: message.transactionId,
    magicCookie: message.magicCookie,
    attributes,
  });
  const fitted = fitWithinBudget(message, requestBytes, [
    { message: response(withSoftware(required, view.software)), trimmed: [] },
    { message: response(required), trimmed: view.software === undefined ? [] : ['SOFTWARE'] },
  ]);
  return { action: 'respond', bytes: fitted.bytes, sendFrom, to, outcome: 'success', legacy, trimmed: fitted.trimmed };
}

/** The attributes answerRequest acts on, in one pass; the first of each wins, as with getAttribute. */
interface RequestAttributes {
  padding: Uint8Array | undefined;
  responsePort: number | undefined;
  change: ChangeRequest | undefined;
  fingerprint: boolean;
  /** Comprehension-required types this codec does not know (RFC 8489 §6.3.1: answer 420). */
  unknown: number[];
}

const NONE: readonly number[] = Object.freeze([]);

/** What a request without attributes (the usual 20-byte Binding request) has. */
const NOTHING: Readonly<RequestAttributes> = Object.freeze({ padding: undefined, responsePort: undefined, change: undefined, fingerprint: false, unknown: NONE as number[] });

function scanAttributes(attributes: readonly StunAttribute[]): Readonly<RequestAttributes> {
  if (attributes.length === 0) return NOTHING;
  const found: RequestAttributes = { padding: undefined, responsePort: undefined, change: undefined, fingerprint: false, unknown: NONE as number[] };
  for (let i = 0; i < attributes.length; i++) {
    const attribute = attributes[i]!;
    switch (attribute.name) {
      case 'PADDING':
        found.padding ??= attribute.value;
        break;
      case 'RESPONSE-PORT':
        found.responsePort ??= attribute.value;
        break;
      case 'CHANGE-REQUEST':
        found.change ??= attribute.value;
        break;
      case 'FINGERPRINT':
        found.fingerprint = true;
        break;
      case 'UNKNOWN':
        if (isComprehensionRequired(attribute.type)) {
          if (found.unknown === NONE) found.unknown = [];
          found.unknown.push(attribute.type);
        }
        break;
      default:
        break;
    }
  }
  return found;
}

const templatesByView = new WeakMap<ServerView, SuccessTemplates>();

function templatesOf(view: ServerView): SuccessTemplates {
  let templates = templatesByView.get(view);
  if (templates === undefined) {
    templates = new SuccessTemplates();
    templatesByView.set(view, templates);
  }
  return templates;
}

function withSoftware(attributes: StunAttribute[], software: string | undefined): StunAttribute[] {
  return software === undefined ? attributes : [...attributes, attr('SOFTWARE', software)];
}

function errorResponse(
  request: DecodedStunMessage,
  requestBytes: number,
  from: TransportAddress,
  receivedOn: SocketRole,
  view: ServerView,
  legacy: boolean,
  code: number,
  unknown: readonly number[] = [],
): Decision {
  const listed = [...new Set(unknown)];
  // RFC 3489 §11.2.10: an odd-length list repeats one type so the value stays 4-byte aligned.
  if (legacy && listed.length % 2 === 1) listed.push(listed[0]!);
  const build = (reason: string, software: string | undefined): StunMessage => ({
    class: 'errorResponse',
    method: request.method,
    transactionId: request.transactionId,
    magicCookie: request.magicCookie,
    attributes: withSoftware(
      // RFC 8489 §14.13: a 420 MUST list the attributes it did not understand.
      [attr('ERROR-CODE', { code, reason }), ...(code === 420 ? [attr('UNKNOWN-ATTRIBUTES', listed)] : [])],
      software,
    ),
  });
  const reason = REASONS[code] ?? '';
  const softwareTrim = view.software === undefined ? [] : ['SOFTWARE'];
  const fitted = fitWithinBudget(request, requestBytes, [
    { message: build(reason, view.software), trimmed: [] },
    { message: build(reason, undefined), trimmed: softwareTrim },
    // RFC 8489 §14.8: the reason phrase is for humans; the code alone carries the meaning.
    { message: build('', undefined), trimmed: [...softwareTrim, 'reason phrase'] },
  ]);
  // RFC 8489 §6.3.1.2: an error goes back to the request's source, from where it arrived.
  return { action: 'respond', bytes: fitted.bytes, sendFrom: receivedOn, to: { address: from.address, port: from.port }, outcome: 'error', errorCode: code, legacy, trimmed: fitted.trimmed };
}

/**
 * The amplification rule. A STUN server answers unauthenticated UDP, so a spoofed request makes
 * it send its response to a victim; the response must not be much larger than the request
 * (RFC 5780 §10 forbids PADDING with RESPONSE-PORT for exactly this reason).
 *
 * The rule: a response never exceeds the request in size, EXCEPT that the attributes the RFCs
 * make mandatory (the "floor") are always sent. A bare 20-byte Binding request is what every
 * common client sends (coturn's turnutils_stunclient and turnutils_natdiscovery among them), and
 * it must still get XOR-MAPPED-ADDRESS, MAPPED-ADDRESS, RESPONSE-ORIGIN and OTHER-ADDRESS
 * (RFC 5780 §6.1 MUSTs; natdiscovery reads OTHER-ADDRESS from exactly that answer). Optional
 * attributes are dropped, in this order, until the response fits: SOFTWARE, then an error's
 * reason phrase. So the worst case is the floor itself: 68 bytes for a 20-byte IPv4 request
 * (116 for IPv6): at most 48 (96) bytes more than the request, where coturn sends 92 bytes
 * (the same four plus SOFTWARE).
 * PADDING (RFC 5780 §7.6) is how a client asks for a larger answer, and it is part of the floor;
 * its size mirrors the request's padding (see answerRequest).
 *
 * Candidates are ordered richest first; the last one is the floor and is always acceptable.
 */
function fitWithinBudget(
  request: DecodedStunMessage,
  requestBytes: number,
  candidates: Array<{ message: StunMessage; trimmed: string[] }>,
): { bytes: Buffer; trimmed: string[] } {
  // RFC 8489 §7 and §14.7, RFC 5780 §6.1: echo FINGERPRINT to a client that uses it to demultiplex.
  const encode = { fingerprint: hasAttribute(request, 'FINGERPRINT') };
  const floor = candidates[candidates.length - 1]!;
  const floorBytes = encodeMessage(floor.message, encode);
  for (const candidate of candidates.slice(0, -1)) {
    if (floorBytes.length + extraBytes(candidate.message, floor.message) > requestBytes) continue;
    return { bytes: encodeMessage(candidate.message, encode), trimmed: candidate.trimmed };
  }
  return { bytes: floorBytes, trimmed: floor.trimmed };
}

/** Wire bytes `richer` has beyond `leaner` (text attributes only differ), without encoding twice. */
function extraBytes(richer: StunMessage, leaner: StunMessage): number {
  return wireSizeOfText(richer) - wireSizeOfText(leaner);
}

function wireSizeOfText(message: StunMessage): number {
  let size = 0;
  for (const attribute of message.attributes) {
    if (attribute.name === 'SOFTWARE') size += 4 + roundUp4(utf8.encode(attribute.value).length);
    if (attribute.name === 'ERROR-CODE') size += roundUp4(utf8.encode(attribute.value.reason).length);
  }
  return size;
}
