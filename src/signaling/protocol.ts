/**
 * The nat-probe signaling protocol, version 1: JSON text frames over one WebSocket, validated
 * with zod. PROTOCOL.md beside this file is the prose description; this file is the contract.
 *
 * - Version: the WebSocket subprotocol (RFC 6455 §1.9, §11.3.4) `nat-probe-signaling.v1`.
 *   A breaking change gets a new subprotocol name, so old and new peers fail at the handshake.
 * - Every frame carries `seq`. Stream messages (`seq` ≥ 1) are numbered per sender and per
 *   session, buffered until acknowledged, re-sent after a reconnect, and de-duplicated by the
 *   receiver. Control messages (`join`, `joined`, `config`, `ack`, `error`) carry `seq: 0`: they
 *   belong to one connection and are never re-sent.
 * - Client→server objects are strict (unknown keys are a schema violation, which catches typos);
 *   server→client objects are parsed loosely so a newer server can add fields.
 */
import { z } from 'zod';

/** Subprotocol token offered by clients and selected by the server (RFC 6455 §4.1, §4.2.2). */
export const SIGNALING_SUBPROTOCOL = 'nat-probe-signaling.v1';
export const PROTOCOL_VERSION = 1;

/** A room holds exactly two peers: the two ends of one connectivity test. */
export const ROOM_CAPACITY = 2;
/** `seq` of control messages, which live outside the reliable stream. */
export const CONTROL_SEQ = 0;
/** Default largest frame, in bytes of UTF-8 text. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 64 * 1024;
/** Bounds on the free-form `result` object, so one peer cannot make the other parse a pathological document. */
export const RESULT_MAX_DEPTH = 16;
export const RESULT_MAX_NODES = 4096;

/** WebSocket close codes the server uses (RFC 6455 §7.4; 4000–4999 are private use). */
export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  protocolError: 1002,
  policyViolation: 1008,
  messageTooBig: 1009,
  /** Another connection resumed this session. */
  superseded: 4001,
  /** The room was idle longer than the server's roomIdleMs and was freed. */
  roomIdle: 4002,
  /** The connection sent no `join` within joinTimeoutMs. */
  joinTimeout: 4003,
  /** The peer did not acknowledge maxPendingMessages messages; its session was dropped. */
  tooManyPending: 4004,
  /** The server dropped the session for another reason given in the preceding `error`. */
  sessionEnded: 4005,
  /** The shared store (Redis) failed under this connection; reconnect and resume (maybe on another instance). */
  storeUnavailable: 4006,
  /** The shared store lost its state (a new epoch); reconnect, and the resume says `resume-failed`. */
  stateLost: 4007,
} as const;

/**
 * Stable error codes carried by `error` messages. Never renamed; PROTOCOL.md lists what each means.
 * `fatal` errors are followed by the server closing the connection, and the session is gone.
 */
export const SIGNALING_ERROR_CODES = [
  'bad-json',
  'binary-not-supported',
  'schema-violation',
  'message-too-large',
  'rate-limited',
  'sequence-gap',
  'not-joined',
  'already-joined',
  'room-full',
  'room-token-mismatch',
  'too-many-rooms',
  'too-many-peers',
  'resume-failed',
  'no-peer',
  'too-many-pending',
  'join-timeout',
  'room-idle',
  'superseded',
  'unsupported-protocol',
  'server-shutdown',
  'internal-error',
  // With a shared store (Redis): the store cannot be reached, or its state was lost (new epoch).
  'store-unavailable',
  'state-lost',
  // The server requires an operator token (serve --auth-secret) and the join had none, or a bad one.
  'unauthorized',
] as const;
export type SignalingErrorCode = (typeof SIGNALING_ERROR_CODES)[number];

// ---------------------------------------------------------------------------------------------
// Field grammars

/** ice-char = ALPHA / DIGIT / "+" / "/" (RFC 8839 §5.1). */
const ICE_CHAR = '[A-Za-z0-9+/]';
/** token (RFC 3261 §25.1), used for transport, candidate types and extension names. */
const TOKEN = "[A-Za-z0-9!#$%&'*+\\-.^_`{|}~]+";
/** connection-address (RFC 4566 §9): IPv4, IPv6 or an FQDN such as an mDNS `.local` name. */
const ADDRESS = '[A-Za-z0-9.:%\\-]+';
const PORT = '\\d{1,5}';

/**
 * candidate-attribute (RFC 8839 §5.1), with the `candidate:` prefix as WebRTC writes it:
 * foundation component-id transport priority connection-address port "typ" cand-type
 * [raddr rel-addr] [rport rel-port] *(extension-att-name extension-att-value).
 */
export const CANDIDATE_ATTRIBUTE = new RegExp(
  `^candidate:${ICE_CHAR}{1,32} \\d{1,3} ${TOKEN} \\d{1,10} ${ADDRESS} ${PORT} typ ${TOKEN}` +
    `(?: raddr ${ADDRESS})?(?: rport ${PORT})?(?: ${TOKEN} [\\x21-\\x7e]*)*$`,
);

/** ice-ufrag = 4*256ice-char, ice-pwd = 22*256ice-char (RFC 8839 §5.4). */
const ICE_UFRAG = new RegExp(`^${ICE_CHAR}{4,256}$`);
const ICE_PWD = new RegExp(`^${ICE_CHAR}{22,256}$`);
const UINT64_MAX = (1n << 64n) - 1n;

/** Room names are chosen by people and appear in logs and URLs, so keep them to URL-safe text. */
export const RoomName = z.string().regex(/^[A-Za-z0-9._~:-]{1,128}$/, 'room must be 1–128 characters of A–Z a–z 0–9 . _ ~ : -');
export const PeerId = z.string().min(1).max(64);
const Secret = z.string().min(1).max(256);

const StreamSeq = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
const ControlSeq = z.literal(CONTROL_SEQ);
const AckSeq = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/**
 * ICE tie-breaker (RFC 8445 §7.3.1.1, §16.1): a 64-bit unsigned integer, sent as decimal text
 * because JSON numbers lose precision above 2^53.
 */
export const TieBreaker = z
  .string()
  .regex(/^\d{1,20}$/, 'tieBreaker must be a decimal string')
  // zod runs refinements even after the regex failed; only a decimal string may reach BigInt().
  .refine((value) => !/^\d{1,20}$/.test(value) || BigInt(value) <= UINT64_MAX, 'tieBreaker must fit in 64 bits (≤ 18446744073709551615)');

export type JsonObject = { [key: string]: unknown };

/**
 * Walks a parsed JSON value without recursion and returns the path to the first place it
 * exceeds the bounds, or undefined when it is within them.
 */
export function findJsonBoundViolation(
  value: unknown,
  limits: { maxDepth: number; maxNodes: number } = { maxDepth: RESULT_MAX_DEPTH, maxNodes: RESULT_MAX_NODES },
): { path: (string | number)[]; message: string } | undefined {
  const stack: { value: unknown; path: (string | number)[] }[] = [{ value, path: [] }];
  let nodes = 0;
  while (stack.length > 0) {
    const { value: current, path } = stack.pop()!;
    if (++nodes > limits.maxNodes) return { path, message: `more than ${limits.maxNodes} values` };
    if (current === null || typeof current !== 'object') continue;
    if (path.length >= limits.maxDepth) return { path, message: `nested deeper than ${limits.maxDepth} levels` };
    if (Array.isArray(current)) {
      current.forEach((item, index) => stack.push({ value: item, path: [...path, index] }));
    } else {
      for (const [key, item] of Object.entries(current)) stack.push({ value: item, path: [...path, key] });
    }
  }
  return undefined;
}

/** Each side's test result: any JSON object, bounded in depth and size (the frame size bounds bytes). */
export const ResultObject = z.record(z.string(), z.unknown()).superRefine((value, ctx) => {
  const violation = findJsonBoundViolation(value);
  if (violation !== undefined) ctx.addIssue({ code: 'custom', message: `result is too large: ${violation.message}`, path: violation.path });
});

// ---------------------------------------------------------------------------------------------
// Peer payloads: what one peer sends for the other. The server relays them with `from` added.

const iceParamsFields = {
  type: z.literal('ice-params'),
  /** ICE username fragment and password (RFC 8445 §5.3, RFC 8839 §5.4). */
  ufrag: z.string().regex(ICE_UFRAG, 'ufrag must be 4–256 ice-chars (RFC 8839 §5.4)'),
  pwd: z.string().regex(ICE_PWD, 'pwd must be 22–256 ice-chars (RFC 8839 §5.4)'),
  tieBreaker: TieBreaker,
  /** True when this side is an ICE lite implementation (RFC 8445 §2.5). */
  iceLite: z.boolean().optional(),
};
const candidateFields = {
  type: z.literal('candidate'),
  candidate: z.string().max(1024).regex(CANDIDATE_ATTRIBUTE, 'candidate must be an RFC 8839 §5.1 "candidate:" attribute'),
};
/** No more candidates will follow (RFC 8838 §4, end-of-candidates indication). */
const endOfCandidatesFields = { type: z.literal('end-of-candidates') };
const resultFields = { type: z.literal('result'), result: ResultObject };
/**
 * Traversal negotiation (src/traversal/messages.ts defines the payload): this side's NAT
 * behaviour, or a strategy's fresh base port. Bounded like a result; the server relays it as is,
 * and a peer that does not know it ignores it, so plain ICE carries on between old and new peers.
 */
const traversalFields = { type: z.literal('traversal'), traversal: ResultObject };

// ---------------------------------------------------------------------------------------------
// Client → server

export const JoinMessage = z.strictObject({
  type: z.literal('join'),
  seq: ControlSeq,
  room: RoomName,
  /** Optional room secret: the first peer sets it, the second must present the same one. */
  token: Secret.optional(),
  /** Resume token from an earlier `joined`, to take back that session after a reconnect. */
  resume: Secret.optional(),
  /** With `resume`: the highest server stream seq this client received; the server re-sends the rest. */
  ack: AckSeq.optional(),
  /** Operator token (auth-token.ts), required on new joins when the server has an auth secret. */
  auth: z.string().min(1).max(1024).optional(),
});
export const AckMessage = z.strictObject({
  type: z.literal('ack'),
  seq: ControlSeq,
  /** Every stream message up to and including this seq was received; the sender may forget them. */
  ack: AckSeq,
});
/**
 * Fields every stream message carries: its seq, and optionally a piggybacked acknowledgement of
 * the other direction (the same meaning as an `ack` message's `ack`), which saves a frame.
 */
const stream = { seq: StreamSeq, ack: AckSeq.optional() };
export const IceParamsMessage = z.strictObject({ ...iceParamsFields, ...stream });
export const CandidateMessage = z.strictObject({ ...candidateFields, ...stream });
export const EndOfCandidatesMessage = z.strictObject({ ...endOfCandidatesFields, ...stream });
export const ResultMessage = z.strictObject({ ...resultFields, ...stream });
export const TraversalMessage = z.strictObject({ ...traversalFields, ...stream });
/** Leaving for good: the server frees the session and tells the other peer `peer-left` (reason `bye`). */
export const ByeMessage = z.strictObject({ type: z.literal('bye'), ...stream });

export const ClientMessage = z.discriminatedUnion('type', [
  JoinMessage,
  AckMessage,
  IceParamsMessage,
  CandidateMessage,
  EndOfCandidatesMessage,
  ResultMessage,
  TraversalMessage,
  ByeMessage,
]);
export type ClientMessage = z.infer<typeof ClientMessage>;
export type JoinMessage = z.infer<typeof JoinMessage>;
export type ClientStreamMessage = Extract<ClientMessage, { seq: number; type: 'ice-params' | 'candidate' | 'end-of-candidates' | 'result' | 'traversal' | 'bye' }>;

/** The payload a peer hands to `SignalingClient.send`: a relayable message without its seq. */
export const PeerPayload = z.discriminatedUnion('type', [
  z.strictObject(iceParamsFields),
  z.strictObject(candidateFields),
  z.strictObject(endOfCandidatesFields),
  z.strictObject(resultFields),
  z.strictObject(traversalFields),
]);
export type PeerPayload = z.infer<typeof PeerPayload>;
export type PeerPayloadType = PeerPayload['type'];

// ---------------------------------------------------------------------------------------------
// Server → client

/** An ICE server entry (the RTCIceServer shape), for STUN and, later, TURN credentials. */
export const IceServer = z.object({
  urls: z.union([z.string(), z.array(z.string())]),
  username: z.string().optional(),
  credential: z.string().optional(),
});
export type IceServer = z.infer<typeof IceServer>;

export const JoinedMessage = z.object({
  type: z.literal('joined'),
  seq: ControlSeq,
  v: z.literal(PROTOCOL_VERSION),
  room: RoomName,
  peerId: PeerId,
  /** Secret for `join.resume` after a reconnect. Valid until the session ends. */
  resumeToken: Secret,
  /** The other peers already in the room (zero or one). */
  peers: z.array(PeerId),
  /** Highest client stream seq the server holds; the client re-sends everything after it. */
  ack: AckSeq,
  resumed: z.boolean(),
  /**
   * The server state's epoch (a new one each time a store starts empty: a fresh process, or a
   * Redis that lost its data). For logs; resume tokens carry it, so a resume into another epoch
   * is refused with `resume-failed`, reason `state-lost`.
   */
  epoch: z.string().max(64).optional(),
});
export const ConfigMessage = z.object({
  type: z.literal('config'),
  seq: ControlSeq,
  heartbeatMs: z.number(),
  resumeGraceMs: z.number(),
  maxPayloadBytes: z.number(),
  rateLimit: z.object({ messagesPerSecond: z.number(), burst: z.number() }),
  /** STUN/TURN servers the peers should use, when the operator configured some. */
  iceServers: z.array(IceServer).optional(),
  /**
   * Optional message types this server relays beyond version 1's first set (e.g. 'traversal').
   * A server without the field refuses them, so a client sends them only when they are listed.
   */
  features: z.array(z.string().max(64)).max(32).optional(),
});
/** The optional message types this version of the server relays (config.features). */
export const SERVER_FEATURES = ['traversal'] as const;
export const ServerAckMessage = z.object({ type: z.literal('ack'), seq: ControlSeq, ack: AckSeq });
export const ErrorMessage = z.object({
  type: z.literal('error'),
  seq: ControlSeq,
  code: z.string(),
  message: z.string(),
  /** For schema violations: where in the message the problem is (zod issue path). */
  path: z.array(z.union([z.string(), z.number()])).optional(),
  /** For `rate-limited`: the stream seq that was dropped; re-send from it after retryAfterMs. */
  rejectedSeq: z.number().optional(),
  /** For `sequence-gap`: the seq the server expects next; re-send from it. */
  expectedSeq: z.number().optional(),
  retryAfterMs: z.number().optional(),
  /** For `resume-failed`: `state-lost` (the server state the token belonged to is gone: a new epoch) or `unknown-session` (ended or expired). */
  reason: z.string().max(64).optional(),
  /** The server closes the connection after a fatal error, and the session is gone. */
  fatal: z.boolean().optional(),
});
export const PeerJoinedMessage = z.object({ type: z.literal('peer-joined'), ...stream, peerId: PeerId });
export const PEER_LEFT_REASONS = ['bye', 'connection-lost', 'heartbeat-timeout', 'too-many-pending'] as const;
export const PeerLeftMessage = z.object({
  type: z.literal('peer-left'),
  ...stream,
  peerId: PeerId,
  reason: z.string(),
});
const from = { ...stream, from: PeerId };
export const RelayedIceParams = z.object({ ...iceParamsFields, ...from });
export const RelayedCandidate = z.object({ ...candidateFields, ...from });
export const RelayedEndOfCandidates = z.object({ ...endOfCandidatesFields, ...from });
export const RelayedResult = z.object({ ...resultFields, ...from });
export const RelayedTraversal = z.object({ ...traversalFields, ...from });

export const ServerMessage = z.discriminatedUnion('type', [
  JoinedMessage,
  ConfigMessage,
  ServerAckMessage,
  ErrorMessage,
  PeerJoinedMessage,
  PeerLeftMessage,
  RelayedIceParams,
  RelayedCandidate,
  RelayedEndOfCandidates,
  RelayedResult,
  RelayedTraversal,
]);
export type ServerMessage = z.infer<typeof ServerMessage>;
export type JoinedMessage = z.infer<typeof JoinedMessage>;
export type ConfigMessage = z.infer<typeof ConfigMessage>;
export type ErrorMessage = z.infer<typeof ErrorMessage>;
export type PeerLeftReason = (typeof PEER_LEFT_REASONS)[number];
/** Stream messages a client receives: peer presence and relayed peer payloads. */
export type ServerStreamMessage = Extract<ServerMessage, { type: 'peer-joined' | 'peer-left' | PeerPayloadType }>;

// ---------------------------------------------------------------------------------------------
// Decoding

export type DecodeResult<T> =
  | { ok: true; message: T }
  | { ok: false; code: 'bad-json' | 'schema-violation'; message: string; path?: (string | number)[] };

/** Parses one text frame into a validated message, or says precisely why it is not one. */
export function decodeFrame<T>(schema: z.ZodType<T>, text: string): DecodeResult<T> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { ok: false, code: 'bad-json', message: `Frame is not valid JSON: ${(error as Error).message}` };
  }
  const parsed = schema.safeParse(json);
  if (parsed.success) return { ok: true, message: parsed.data };
  const issue = parsed.error.issues[0]!;
  const path = issue.path.map((part) => (typeof part === 'symbol' ? String(part) : part));
  const where = path.length === 0 ? 'message' : path.join('.');
  return { ok: false, code: 'schema-violation', message: `Invalid ${where}: ${issue.message}`, path };
}

export function decodeClientFrame(text: string): DecodeResult<ClientMessage> {
  return decodeFrame(ClientMessage, text);
}

export function decodeServerFrame(text: string): DecodeResult<ServerMessage> {
  return decodeFrame(ServerMessage, text);
}

/** True for client message types that are part of the reliable stream. */
export function isClientStreamMessage(message: ClientMessage): message is ClientStreamMessage {
  return message.seq !== CONTROL_SEQ;
}

/**
 * Prefixes a `seq` (and optionally a piggybacked `ack`) to a JSON object serialized without them.
 * Stores keep bodies without seq so that a shared store can number them atomically, and the ack
 * is only known when the frame is written; this splices both in without re-serializing.
 */
export function withSeq(seq: number, body: string, ack?: number): string {
  return ack === undefined ? `{"seq":${seq},${body.slice(1)}` : `{"seq":${seq},"ack":${ack},${body.slice(1)}`;
}

/** Room left in a frame for the piggybacked `"ack":N,` a sender may splice in when writing it. */
export const ACK_SPLICE_BYTES = 32;
