import { NatProbeError } from '../errors.js';

/**
 * Why a datagram is not a valid STUN message. Each reason is a stable code, so callers
 * (and tests) can match on it; the offset says where in the input decoding stopped.
 */
export type StunDecodeReason =
  | 'truncated-header'
  | 'not-stun'
  | 'length-not-aligned'
  | 'length-mismatch'
  | 'truncated-attribute'
  | 'bad-attribute-value'
  | 'attribute-after-fingerprint'
  | 'fingerprint-mismatch';

export class StunDecodeError extends NatProbeError {
  readonly reason: StunDecodeReason;
  /** Byte offset in the input where decoding failed. */
  readonly offset: number;
  /** The attribute being decoded, when the failure is inside one. */
  readonly attribute: string | undefined;

  constructor(reason: StunDecodeReason, offset: number, detail: string, attribute?: string) {
    super(
      `stun-${reason}`,
      `Not a valid STUN message (${reason} at byte ${offset}${attribute ? `, in ${attribute}` : ''}): ${detail}`,
    );
    this.reason = reason;
    this.offset = offset;
    this.attribute = attribute;
  }
}

/** A message could not be encoded: the caller built an attribute value the wire format cannot carry. */
export class StunEncodeError extends NatProbeError {
  constructor(detail: string) {
    super('stun-encode', `Cannot encode STUN message: ${detail}. This is a bug in the caller; fix the attribute value.`);
  }
}
