/**
 * An in-memory TurnConnection for unit tests of the client's timing and auth logic (refresh
 * timers on a FakeClock, 401/438 handling). Interop with a real server lives in
 * coturn-*.test.ts; this only scripts answers.
 */
import {
  attr,
  decodeMessage,
  encodeMessage,
  type AttributeName,
  type DecodedStunMessage,
  type EncodeOptions,
  type StunAttribute,
  type StunMessage,
  type TransportAddress,
} from '../../src/stun/index.js';
import type { IncomingListener, RequestBounds, RequestOutcome, TurnConnection } from '../../src/turn/connection.js';

export interface SentRequest {
  message: StunMessage;
  encode: EncodeOptions;
  /** The request as the server would see it on the wire. */
  wire: DecodedStunMessage;
  at: number;
}

/** Returns the attributes of a success response, or `{ error, attributes }` for an error response. */
export type Responder = (request: SentRequest) => StunAttribute[] | { error: number; reason: string; attributes?: StunAttribute[] };

export class FakeConnection implements TurnConnection {
  readonly transport = 'udp' as const;
  readonly padsChannelData = false;
  readonly heardFromServer = true;
  readonly local: TransportAddress = { family: 4, address: '127.0.0.1', port: 50000 };
  readonly remote: TransportAddress = { family: 4, address: '127.0.0.1', port: 3478 };
  readonly requests: SentRequest[] = [];
  readonly sent: Uint8Array[] = [];
  closed = false;
  private readonly incoming = new Set<IncomingListener>();

  constructor(
    private readonly now: () => number,
    public respond: Responder,
  ) {}

  async request(message: StunMessage, encode: EncodeOptions, _bounds: RequestBounds): Promise<RequestOutcome> {
    const wire = decodeMessage(encodeMessage(message, encode));
    const request = { message, encode, wire, at: this.now() };
    this.requests.push(request);
    const answer = this.respond(request);
    const attributes = Array.isArray(answer) ? answer : [attr('ERROR-CODE', { code: answer.error, reason: answer.reason }), ...(answer.attributes ?? [])];
    const response = decodeMessage(
      encodeMessage({ class: Array.isArray(answer) ? 'successResponse' : 'errorResponse', method: message.method, transactionId: message.transactionId, attributes }),
    );
    return { response, rttMs: 1, attempts: 1 };
  }

  async send(bytes: Uint8Array): Promise<void> {
    this.sent.push(bytes);
  }

  onIncoming(listener: IncomingListener): () => void {
    this.incoming.add(listener);
    return () => this.incoming.delete(listener);
  }

  onLost(): () => void {
    return () => undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** Methods of the requests so far, e.g. ['allocate', 'refresh']. */
  methods(): number[] {
    return this.requests.map((request) => request.message.method);
  }
}

export function attributeOf<N extends AttributeName>(request: SentRequest, name: N) {
  return request.message.attributes.find((attribute) => attribute.name === name)?.value;
}
