/**
 * The SDP `candidate` attribute (RFC 8839 §5.1), parsed strictly and formatted so that
 * parse(format(c)) == c and format(parse(s)) == s for every canonical line:
 *
 *   candidate-attribute = "candidate" ":" foundation SP component-id SP transport SP priority SP
 *                         connection-address SP port SP "typ" SP cand-type
 *                         [SP "raddr" SP connection-address] [SP "rport" SP port]
 *                         *(SP extension-att-name SP extension-att-value)
 *
 * Malformed input throws IceCandidateSyntaxError; well-formed input nat-probe cannot check
 * (TCP, mDNS or other hostnames, unknown types) throws IceCandidateUnsupportedError, so a report can
 * say "the peer hid its addresses behind mDNS" rather than "garbage".
 */
import { NatProbeError } from '../errors.js';
import { InvalidCandidateError } from './errors.js';
import { familyOf, type Candidate, type CandidateExtension, type CandidateType } from './candidate.js';

export type CandidateSyntaxReason =
  | 'not-a-candidate'
  | 'empty-field'
  | 'missing-field'
  | 'bad-foundation'
  | 'bad-component'
  | 'bad-transport'
  | 'bad-priority'
  | 'bad-address'
  | 'bad-port'
  | 'missing-typ'
  | 'bad-raddr'
  | 'bad-rport'
  | 'missing-rport'
  | 'missing-raddr'
  | 'bad-extension'
  | 'dangling-extension'
  | 'bad-generation';

export type CandidateUnsupportedReason = 'transport' | 'mdns-hostname' | 'fqdn' | 'candidate-type';

/** Malformed `candidate:` line. `reason` is stable and machine-readable; `input` is the line given. */
export class IceCandidateSyntaxError extends NatProbeError {
  readonly reason: CandidateSyntaxReason;
  readonly input: string;

  constructor(reason: CandidateSyntaxReason, detail: string, input: string) {
    super(
      'ice-candidate-syntax',
      `Malformed ICE candidate (${reason}): ${detail}. Input: ${JSON.stringify(input)}. Check the peer's candidate against RFC 8839 §5.1.`,
    );
    this.reason = reason;
    this.input = input;
  }
}

/** A well-formed candidate nat-probe cannot check. */
export class IceCandidateUnsupportedError extends NatProbeError {
  readonly reason: CandidateUnsupportedReason;
  readonly input: string;

  constructor(reason: CandidateUnsupportedReason, detail: string, input: string) {
    super('ice-candidate-unsupported', `Unsupported ICE candidate (${reason}): ${detail}. Input: ${JSON.stringify(input)}.`);
    this.reason = reason;
    this.input = input;
  }
}

const ICE_CHARS = /^[A-Za-z0-9+/]{1,32}$/;
const DIGITS = /^[0-9]+$/;
// RFC 3261 token, which extension-att-name and transport-extension use.
const TOKEN = /^[A-Za-z0-9\-.!%*_+`'~]+$/;
// VCHAR: visible ASCII (0x21–0x7E).
const VCHARS = /^[\x21-\x7e]*$/;
const HOSTNAME = /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;
const CANDIDATE_TYPES: readonly CandidateType[] = ['host', 'srflx', 'prflx', 'relay'];
const RESERVED_NAMES = new Set(['typ', 'raddr', 'rport']);
/** RFC 8839 §5.1: priority is 1..2^31−1. */
const MAX_WIRE_PRIORITY = 2 ** 31 - 1;

/** Parses `candidate:…` or `a=candidate:…` (a trailing CR/LF is allowed). */
export function parseCandidate(line: string): Candidate {
  const input = line;
  let text = line.replace(/\r?\n$/, '');
  if (text.startsWith('a=')) text = text.slice(2);
  if (!text.startsWith('candidate:')) {
    throw new IceCandidateSyntaxError('not-a-candidate', 'the line must start with "candidate:" (optionally after "a=")', input);
  }
  const fields = text.slice('candidate:'.length).split(' ');
  if (fields.some((field) => field === '')) {
    throw new IceCandidateSyntaxError('empty-field', 'fields must be separated by exactly one space, with none leading or trailing', input);
  }
  const take = (index: number, name: string): string => {
    const value = fields[index];
    if (value === undefined) throw new IceCandidateSyntaxError('missing-field', `the ${name} field is missing`, input);
    return value;
  };

  const foundation = take(0, 'foundation');
  if (!ICE_CHARS.test(foundation)) {
    throw new IceCandidateSyntaxError('bad-foundation', `foundation "${foundation}" must be 1–32 of A–Z a–z 0–9 + /`, input);
  }
  const componentText = take(1, 'component-id');
  const component = Number(componentText);
  if (!DIGITS.test(componentText) || componentText.length > 3 || component < 1 || component > 256) {
    throw new IceCandidateSyntaxError('bad-component', `component-id "${componentText}" must be an integer 1..256`, input);
  }
  const transport = take(2, 'transport');
  if (!TOKEN.test(transport)) throw new IceCandidateSyntaxError('bad-transport', `transport "${transport}" is not a token`, input);
  if (transport.toUpperCase() !== 'UDP') {
    throw new IceCandidateUnsupportedError('transport', `transport ${transport} is not checked; nat-probe runs UDP connectivity checks only`, input);
  }
  const priorityText = take(3, 'priority');
  const priority = Number(priorityText);
  if (!DIGITS.test(priorityText) || priorityText.length > 10 || priority < 1 || priority > MAX_WIRE_PRIORITY) {
    throw new IceCandidateSyntaxError('bad-priority', `priority "${priorityText}" must be an integer 1..2147483647`, input);
  }
  const address = take(4, 'connection-address');
  const family = addressFamilyOrThrow(address, input);
  const port = parsePort(take(5, 'port'), 'bad-port', 1, input);
  if (take(6, '"typ"') !== 'typ') throw new IceCandidateSyntaxError('missing-typ', `expected "typ" after the port, found "${fields[6]}"`, input);
  const typeText = take(7, 'cand-type');
  if (!TOKEN.test(typeText)) throw new IceCandidateSyntaxError('bad-extension', `cand-type "${typeText}" is not a token`, input);
  if (!(CANDIDATE_TYPES as readonly string[]).includes(typeText)) {
    throw new IceCandidateUnsupportedError('candidate-type', `candidate type "${typeText}" is not one of host, srflx, prflx, relay`, input);
  }
  const type = typeText as CandidateType;

  let index = 8;
  let relatedAddress: string | undefined;
  let relatedPort: number | undefined;
  if (fields[index] === 'raddr') {
    relatedAddress = take(index + 1, 'raddr value');
    if (familyOf(relatedAddress) === undefined) {
      throw new IceCandidateSyntaxError('bad-raddr', `raddr "${relatedAddress}" must be an IPv4 or IPv6 literal`, input);
    }
    index += 2;
    if (fields[index] !== 'rport') throw new IceCandidateSyntaxError('missing-rport', 'raddr must be followed by rport', input);
  }
  if (fields[index] === 'rport') {
    if (relatedAddress === undefined) throw new IceCandidateSyntaxError('missing-raddr', 'rport given without raddr', input);
    // Port 0 is allowed here: browsers that hide the base send "raddr 0.0.0.0 rport 0".
    relatedPort = parsePort(take(index + 1, 'rport value'), 'bad-rport', 0, input);
    index += 2;
  }

  const extensions: CandidateExtension[] = [];
  let generation: number | undefined;
  for (; index < fields.length; index += 2) {
    const name = fields[index]!;
    const value = fields[index + 1];
    if (value === undefined) throw new IceCandidateSyntaxError('dangling-extension', `extension "${name}" has no value`, input);
    if (!TOKEN.test(name) || RESERVED_NAMES.has(name) || !VCHARS.test(value)) {
      throw new IceCandidateSyntaxError('bad-extension', `"${name} ${value}" is not a valid extension (or repeats typ/raddr/rport out of place)`, input);
    }
    if (name === 'generation') {
      if (!DIGITS.test(value) || value.length > 10) {
        throw new IceCandidateSyntaxError('bad-generation', `generation "${value}" must be a non-negative integer`, input);
      }
      generation = Number(value);
    }
    extensions.push({ name, value });
  }

  return {
    foundation,
    component,
    transport: 'udp',
    priority,
    address,
    port,
    type,
    family,
    ...(relatedAddress !== undefined ? { relatedAddress } : {}),
    ...(relatedPort !== undefined ? { relatedPort } : {}),
    ...(generation !== undefined ? { generation } : {}),
    ...(extensions.length > 0 ? { extensions } : {}),
  };
}

export interface FormatCandidateOptions {
  /** Prepend `a=` (an SDP line). Default false: the bare form WebRTC and trickle signaling carry. */
  readonly withPrefix?: boolean;
}

/**
 * Formats a candidate as RFC 8839 §5.1 text. Extensions keep their order; `generation` is taken
 * from the field when set (replacing an extension of that name, or appended when there is none).
 */
export function formatCandidate(candidate: Candidate, options: FormatCandidateOptions = {}): string {
  if (!ICE_CHARS.test(candidate.foundation)) {
    throw new InvalidCandidateError(`Foundation "${candidate.foundation}" must be 1–32 of A–Z a–z 0–9 + / (RFC 8839 §5.1).`);
  }
  if (!Number.isInteger(candidate.priority) || candidate.priority < 1 || candidate.priority > MAX_WIRE_PRIORITY) {
    throw new InvalidCandidateError(`Priority ${candidate.priority} cannot be sent; RFC 8839 §5.1 allows 1..2147483647.`);
  }
  const parts = [
    `candidate:${candidate.foundation}`,
    String(candidate.component),
    'UDP',
    String(candidate.priority),
    candidate.address,
    String(candidate.port),
    'typ',
    candidate.type,
  ];
  if (candidate.relatedAddress !== undefined) {
    parts.push('raddr', candidate.relatedAddress, 'rport', String(candidate.relatedPort ?? 0));
  }
  let wroteGeneration = false;
  for (const extension of candidate.extensions ?? []) {
    if (!TOKEN.test(extension.name) || extension.value === '' || !VCHARS.test(extension.value)) {
      throw new InvalidCandidateError(`Extension "${extension.name}"="${extension.value}" cannot be written: a token name and a non-empty value without spaces are required.`);
    }
    if (extension.name === 'generation' && candidate.generation !== undefined) {
      if (wroteGeneration) continue;
      parts.push('generation', String(candidate.generation));
      wroteGeneration = true;
      continue;
    }
    parts.push(extension.name, extension.value);
  }
  if (candidate.generation !== undefined && !wroteGeneration) parts.push('generation', String(candidate.generation));
  return ((options.withPrefix ?? false) ? 'a=' : '') + parts.join(' ');
}

function addressFamilyOrThrow(address: string, input: string): 4 | 6 {
  const family = familyOf(address);
  if (family !== undefined) return family;
  if (/\.local\.?$/i.test(address) && HOSTNAME.test(address)) {
    throw new IceCandidateUnsupportedError(
      'mdns-hostname',
      `"${address}" is an mDNS name (draft-ietf-mmusic-mdns-ice-candidates) that hides the peer's host address; nat-probe cannot resolve it. Have the peer expose host IPs, or rely on its srflx/relay candidates`,
      input,
    );
  }
  if (HOSTNAME.test(address) && !/^[0-9.]+$/.test(address)) {
    throw new IceCandidateUnsupportedError('fqdn', `"${address}" is a hostname; nat-probe checks IP-literal candidates only, so resolve it before signaling`, input);
  }
  throw new IceCandidateSyntaxError('bad-address', `connection-address "${address}" is neither an IP literal nor a hostname`, input);
}

function parsePort(text: string, reason: 'bad-port' | 'bad-rport', min: number, input: string): number {
  const port = Number(text);
  if (!DIGITS.test(text) || text.length > 5 || port < min || port > 65_535) {
    throw new IceCandidateSyntaxError(reason, `port "${text}" must be an integer ${min}..65535`, input);
  }
  return port;
}
