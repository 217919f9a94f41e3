/**
 * Errors the signaling client raises. Each has a stable `code`; messages say what to do next.
 * Errors the server reports in an `error` frame become SignalingRejectedError (or a more specific
 * subclass) carrying the server's code unchanged, so `code` is the same on both ends.
 */
import { NatProbeError } from '../errors.js';

/** The server could not be reached, or the connection kept failing, after every reconnect attempt. */
export class SignalingUnreachableError extends NatProbeError {
  readonly url: string;
  readonly attempts: number;

  constructor(url: string, attempts: number, options: { cause?: unknown } = {}) {
    const why = options.cause instanceof Error ? `: ${options.cause.message}` : '';
    super(
      'signaling-unreachable',
      `Cannot reach the signaling server at ${url} after ${attempts} attempt(s)${why}. ` +
        'Check the URL, that `nat-probe serve` is running, and that no firewall blocks the port.',
      options,
    );
    this.url = url;
    this.attempts = attempts;
  }
}

/** The server answered with an `error` frame that ends the attempt (e.g. too-many-rooms). */
export class SignalingRejectedError extends NatProbeError {
  /** The server's words, kept apart from the advice this error adds. */
  readonly serverMessage: string;

  constructor(code: string, serverMessage: string, advice = '') {
    super(code, `The signaling server refused: ${serverMessage}${advice === '' ? '' : ` ${advice}`}`);
    this.serverMessage = serverMessage;
  }
}

/** The room already holds two peers. */
export class RoomFullError extends SignalingRejectedError {
  constructor(room: string, serverMessage: string) {
    super('room-full', serverMessage, `Room "${room}" already has two peers; pick another room name or wait for one to leave.`);
  }
}

/** The session could not be resumed (its grace period ran out, or the server restarted). */
export class SessionLostError extends SignalingRejectedError {
  /** The server's reason: `state-lost` (the server state was lost: a new epoch) or `unknown-session`. */
  readonly reason: string | undefined;
  constructor(serverMessage: string, reason?: string) {
    super('resume-failed', serverMessage, 'The other peer has been told this peer left; start a new session.');
    this.reason = reason;
  }
}

/** A wait for a message (or for the server) took longer than its bound. */
export class SignalingTimeoutError extends NatProbeError {
  constructor(what: string, timeoutMs: number) {
    super('signaling-timeout', `Timed out after ${timeoutMs} ms waiting for ${what}. Check that the other peer is running and joined the same room.`);
  }
}

/** The client was closed (by `close()` or a fatal error) while something still waited on it. */
export class SignalingClosedError extends NatProbeError {
  constructor(detail = 'the signaling client is closed') {
    super('signaling-closed', `Signaling stopped: ${detail}. Create a new SignalingClient to start again.`);
  }
}

/** A message is larger than the server accepts; it was not sent. */
export class MessageTooLargeError extends NatProbeError {
  constructor(bytes: number, limit: number) {
    super('message-too-large', `A signaling message of ${bytes} bytes exceeds the server's limit of ${limit} bytes; send less data per message.`);
  }
}

/** The caller passed a message that does not match the protocol schema; it was not sent. */
export class InvalidSignalingMessageError extends NatProbeError {
  constructor(detail: string) {
    super('invalid-signaling-message', `Refusing to send an invalid signaling message: ${detail}. Fix the caller.`);
  }
}

/** The server sent something this client does not understand (a server bug or a version mismatch). */
export class SignalingProtocolError extends NatProbeError {
  constructor(detail: string) {
    super('signaling-protocol-violation', `The signaling server sent an invalid frame: ${detail}. Check that client and server run the same nat-probe version.`);
  }
}
