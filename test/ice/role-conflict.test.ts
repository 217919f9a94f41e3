import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IceOptionError } from '../../src/ice/errors.js';
import {
  MAX_TIE_BREAKER,
  generateTieBreaker,
  resolveRoleConflict,
  roleAfterConflictResponse,
} from '../../src/ice/role-conflict.js';

const big = 0xffff_ffff_ffff_fff0n; // above 2^53: Numbers would round these
const bigger = 0xffff_ffff_ffff_fff1n;

describe('resolveRoleConflict (RFC 8445 §7.3.1.1)', () => {
  it('does nothing when the roles differ', () => {
    expect(resolveRoleConflict({ localRole: 'controlling', localTieBreaker: 1n, remoteRole: 'controlled', remoteTieBreaker: 2n })).toEqual({
      action: 'none',
      role: 'controlling',
    });
  });

  it('both controlling: larger-or-equal keeps the role and answers 487, smaller switches to controlled', () => {
    expect(resolveRoleConflict({ localRole: 'controlling', localTieBreaker: bigger, remoteRole: 'controlling', remoteTieBreaker: big })).toEqual({
      action: 'reject-487',
      role: 'controlling',
    });
    expect(resolveRoleConflict({ localRole: 'controlling', localTieBreaker: big, remoteRole: 'controlling', remoteTieBreaker: big })).toEqual({
      action: 'reject-487',
      role: 'controlling',
    });
    expect(resolveRoleConflict({ localRole: 'controlling', localTieBreaker: big, remoteRole: 'controlling', remoteTieBreaker: bigger })).toEqual({
      action: 'switch',
      role: 'controlled',
    });
  });

  it('both controlled: larger-or-equal switches to controlling, smaller answers 487', () => {
    expect(resolveRoleConflict({ localRole: 'controlled', localTieBreaker: bigger, remoteRole: 'controlled', remoteTieBreaker: big })).toEqual({
      action: 'switch',
      role: 'controlling',
    });
    expect(resolveRoleConflict({ localRole: 'controlled', localTieBreaker: big, remoteRole: 'controlled', remoteTieBreaker: bigger })).toEqual({
      action: 'reject-487',
      role: 'controlled',
    });
  });

  it('always ends with exactly one controlling agent (property)', () => {
    const tieBreaker = fc.bigInt({ min: 0n, max: MAX_TIE_BREAKER });
    const role = fc.constantFrom('controlling' as const, 'controlled' as const);
    fc.assert(
      fc.property(role, tieBreaker, tieBreaker, (shared, a, b) => {
        fc.pre(a !== b);
        // Agent A receives B's request and decides; B applies the sending-side rule if A answered 487.
        const atA = resolveRoleConflict({ localRole: shared, localTieBreaker: a, remoteRole: shared, remoteTieBreaker: b });
        const roleA = atA.role;
        const roleB = atA.action === 'reject-487' ? roleAfterConflictResponse(shared) : shared;
        expect(roleA).not.toBe(roleB);
        // The agent with the larger tie-breaker ends up controlling.
        expect(a > b ? roleA : roleB).toBe('controlling');
      }),
      { numRuns: 300 },
    );
  });

  it('rejects values outside unsigned 64 bits', () => {
    expect(() => resolveRoleConflict({ localRole: 'controlling', localTieBreaker: -1n, remoteRole: 'controlling', remoteTieBreaker: 0n })).toThrow(IceOptionError);
    expect(() =>
      resolveRoleConflict({ localRole: 'controlling', localTieBreaker: 0n, remoteRole: 'controlling', remoteTieBreaker: MAX_TIE_BREAKER + 1n }),
    ).toThrow(/uint64/);
  });
});

describe('tie-breakers', () => {
  it('are 64-bit values drawn from the injected random source', () => {
    expect(generateTieBreaker(() => 0)).toBe(0n);
    expect(generateTieBreaker(() => 0.999999999)).toBe(MAX_TIE_BREAKER);
    const draws = [0.5, 0.25, 0, 0.75];
    let i = 0;
    expect(generateTieBreaker(() => draws[i++]!)).toBe(0x8000_4000_0000_c000n);
  });

  it('flip the role after a 487 response (§7.2.5.1)', () => {
    expect(roleAfterConflictResponse('controlling')).toBe('controlled');
    expect(roleAfterConflictResponse('controlled')).toBe('controlling');
  });
});
