import type { DecodedStunMessage, EncodeOptions, StunMessage, TransportAddress } from '../stun/index.js';
import type { TurnTransport } from './url.js';

/**
 * One client-to-server connection (the 5-tuple of RFC 8656 §2): UDP, TCP or TLS. The allocation
 * logic above it is the same for all; only retransmission (UDP only, RFC 8489 §6.2.1) and
 * framing (streams only, §12.5) differ, and live in the two implementations (udp-connection.ts,
 * stream-connection.ts, whose connector makes a TCP or a TLS stream).
 */
export interface RequestOutcome {
  response: DecodedStunMessage;
  rttMs: number;
  attempts: number;
}

export interface RequestBounds {
  /** The transaction's hard cap in ms. */
  deadlineMs: number;
  signal?: AbortSignal;
}

/** A datagram or stream message that answers no request: an indication (decoded) or ChannelData (`message` undefined). */
export type IncomingListener = (bytes: Uint8Array, message: DecodedStunMessage | undefined) => void;

export interface TurnConnection {
  readonly transport: TurnTransport;
  /** The client's own address on this connection. */
  readonly local: TransportAddress;
  /** The server's resolved address. */
  readonly remote: TransportAddress;
  /** ChannelData is padded to 4 bytes on stream transports (RFC 8656 §12.5). */
  readonly padsChannelData: boolean;
  /** True once anything at all came back from the server (tells "unreachable" from "slow"). */
  readonly heardFromServer: boolean;
  request(message: StunMessage, encode: EncodeOptions, bounds: RequestBounds): Promise<RequestOutcome>;
  /** Sends an indication or ChannelData; no answer is expected. */
  send(bytes: Uint8Array): Promise<void>;
  onIncoming(listener: IncomingListener): () => void;
  /** Called once when the connection ends by itself (TCP/TLS reset, framing error); not on close(). */
  onLost(listener: (error: Error) => void): () => void;
  close(): Promise<void>;
}
