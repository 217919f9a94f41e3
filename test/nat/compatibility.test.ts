import { describe, expect, it } from 'vitest';
import { compatibilityFor, directConnectionExpected, type NatProfile } from '../../src/nat/compatibility.js';

const P = {
  fullCone: { mapping: 'endpoint-independent', filtering: 'endpoint-independent' },
  restricted: { mapping: 'endpoint-independent', filtering: 'address-dependent' },
  portRestricted: { mapping: 'endpoint-independent', filtering: 'address-and-port-dependent' },
  firewall: { mapping: 'endpoint-independent', filtering: 'address-and-port-dependent' },
  addrDependent: { mapping: 'address-dependent', filtering: 'address-and-port-dependent' },
  symmetric: { mapping: 'address-and-port-dependent', filtering: 'address-and-port-dependent' },
} satisfies Record<string, NatProfile>;

// The measured hole-punching table in ../shared/LAB-NOTES.md.
const GROUND_TRUTH: Array<[keyof typeof P, keyof typeof P, boolean]> = [
  ['portRestricted', 'portRestricted', true],
  ['restricted', 'portRestricted', true],
  ['fullCone', 'symmetric', true],
  ['fullCone', 'addrDependent', true],
  ['fullCone', 'portRestricted', true],
  ['restricted', 'symmetric', true],
  ['addrDependent', 'restricted', true],
  ['addrDependent', 'fullCone', true],
  ['portRestricted', 'symmetric', false],
  ['symmetric', 'symmetric', false],
  ['addrDependent', 'portRestricted', false],
  ['firewall', 'symmetric', false],
];

describe('hole-punching theory matches the lab measurements', () => {
  it.each(GROUND_TRUTH)('%s ↔ %s → %s', (a, b, expected) => {
    expect(directConnectionExpected(P[a], P[b])).toBe(expected);
    expect(directConnectionExpected(P[b], P[a])).toBe(expected);
  });

  it('lists which peers need TURN for a port-restricted NAT', () => {
    const compatibility = compatibilityFor(P.portRestricted)!;
    expect(compatibility.needsRelay).toEqual(['address-dependent NAT', 'symmetric']);
    expect(compatibility.direct).toContain('port-restricted cone');
  });

  it('gives no compatibility for an unknown behaviour', () => {
    expect(compatibilityFor({ mapping: 'unknown', filtering: 'endpoint-independent' })).toBeUndefined();
  });
});
