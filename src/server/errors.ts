import { NatProbeError } from '../errors.js';

/** The STUN server could not start: bad options, or its sockets could not be bound. */
export class StunServerError extends NatProbeError {
  constructor(code: 'server-bad-options' | 'server-bind-failed', message: string, cause?: unknown) {
    super(code, message, { cause });
  }
}
