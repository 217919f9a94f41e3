import { NatProbeError } from '../errors.js';

/** No response arrived after every retransmission (RFC 8489 §6.2.1). */
export class TransactionTimeoutError extends NatProbeError {
  readonly attempts: number;
  readonly waitedMs: number;

  constructor(to: string, attempts: number, waitedMs: number) {
    super(
      'stun-timeout',
      `No STUN response from ${to} after ${attempts} attempt(s) over ${Math.round(waitedMs)} ms. ` +
        'Check that the server address is right and that UDP to it is not blocked by a firewall.',
    );
    this.attempts = attempts;
    this.waitedMs = waitedMs;
  }
}

/** A socket could not be opened, or a datagram could not be sent. */
export class SocketError extends NatProbeError {
  constructor(code: 'socket-bind-failed' | 'socket-send-failed' | 'socket-closed', message: string, cause?: unknown) {
    super(code, message, { cause });
  }
}

/** The transaction was abandoned because its socket closed or the caller cancelled it. */
export class TransactionCancelledError extends NatProbeError {
  constructor(reason: string) {
    super('stun-cancelled', `STUN transaction cancelled: ${reason}.`);
  }
}
