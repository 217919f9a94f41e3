import { NatProbeError } from '../errors.js';

/** An ICE setting outside what RFC 8445 allows (e.g. Ta below 5 ms, §14.2). */
export class IceOptionError extends NatProbeError {
  constructor(message: string) {
    super('ice-invalid-option', message);
  }
}

/**
 * A caller referred to a candidate pair the checklist does not hold. This is a programming
 * error in the agent (it passed a stale or invented pair id), not a network outcome.
 */
export class UnknownPairError extends NatProbeError {
  readonly pairId: string;

  constructor(pairId: string) {
    super(
      'ice-unknown-pair',
      `No candidate pair "${pairId}" in the checklist; pass an id from a pair the scheduler handed to sendCheck or listed in report().`,
    );
    this.pairId = pairId;
  }
}

/** A candidate that cannot be used to form pairs (e.g. a reflexive candidate without its base). */
export class InvalidCandidateError extends NatProbeError {
  constructor(message: string) {
    super('ice-invalid-candidate', message);
  }
}
