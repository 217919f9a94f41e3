/**
 * Role conflicts (RFC 8445 §7.3.1.1, §7.2.5.1). Both agents may believe they are controlling (or
 * both controlled); the 64-bit tie-breakers in ICE-CONTROLLING / ICE-CONTROLLED decide. The values
 * are compared as unsigned 64-bit integers, so they are BigInts: a Number cannot hold them.
 */
import type { RandomSource } from '../transport/clock.js';
import { IceOptionError } from './errors.js';
import type { IceRole } from './pair.js';

export const MAX_TIE_BREAKER = (1n << 64n) - 1n;

export type RoleConflictDecision =
  /** The request's role attribute does not conflict with ours: process it normally. */
  | { readonly action: 'none'; readonly role: IceRole }
  /** Switch to `role`, then process the request normally (and re-prioritise pairs). */
  | { readonly action: 'switch'; readonly role: IceRole }
  /** Keep our role and answer the request with a 487 (Role Conflict) error response. */
  | { readonly action: 'reject-487'; readonly role: IceRole };

export interface RoleConflictInput {
  readonly localRole: IceRole;
  readonly localTieBreaker: bigint;
  /** 'controlling' when the request carried ICE-CONTROLLING, 'controlled' for ICE-CONTROLLED. */
  readonly remoteRole: IceRole;
  readonly remoteTieBreaker: bigint;
}

/**
 * The receiving agent's rule (§7.3.1.1):
 * - both controlling: the larger-or-equal tie-breaker keeps the role and answers 487; the smaller switches to controlled;
 * - both controlled: the larger-or-equal tie-breaker switches to controlling; the smaller answers 487.
 */
export function resolveRoleConflict(input: RoleConflictInput): RoleConflictDecision {
  assertTieBreaker(input.localTieBreaker, 'local');
  assertTieBreaker(input.remoteTieBreaker, 'remote');
  if (input.localRole !== input.remoteRole) return { action: 'none', role: input.localRole };
  const localWins = input.localTieBreaker >= input.remoteTieBreaker;
  if (input.localRole === 'controlling') {
    return localWins ? { action: 'reject-487', role: 'controlling' } : { action: 'switch', role: 'controlled' };
  }
  return localWins ? { action: 'switch', role: 'controlling' } : { action: 'reject-487', role: 'controlled' };
}

/** The sending agent's rule (§7.2.5.1): a 487 response means switch to the other role. */
export function roleAfterConflictResponse(current: IceRole): IceRole {
  return current === 'controlling' ? 'controlled' : 'controlling';
}

/** A uniformly random 64-bit tie-breaker (§5.2) from four 16-bit draws of `random`. */
export function generateTieBreaker(random: RandomSource): bigint {
  let value = 0n;
  for (let i = 0; i < 4; i++) {
    const draw = Math.min(0xffff, Math.floor(random() * 0x10000));
    value = (value << 16n) | BigInt(draw);
  }
  return value;
}

function assertTieBreaker(value: bigint, which: string): void {
  if (value < 0n || value > MAX_TIE_BREAKER) {
    throw new IceOptionError(`The ${which} tie-breaker ${value} is not an unsigned 64-bit value (RFC 8445 §7.1.3); decode it as a uint64.`);
  }
}
