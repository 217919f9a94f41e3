import { describe, expect, it } from 'vitest';
import { EXPECTED_BEHAVIOUR, MEASURED_HOLE_PUNCHING, NAT_TYPES, effectiveBehaviour, expectDirectSuccess } from '../../src/lab/index.js';

describe('expected NAT behaviour tables', () => {
  it('describes every NAT type', () => {
    expect(Object.keys(EXPECTED_BEHAVIOUR).sort()).toEqual([...NAT_TYPES].sort());
  });

  it('gives the RFC 4787 behaviour LAB-NOTES verified for each type', () => {
    const summary = Object.fromEntries(NAT_TYPES.map((type) => [type, `${EXPECTED_BEHAVIOUR[type].mapping} / ${EXPECTED_BEHAVIOUR[type].filtering} / ${EXPECTED_BEHAVIOUR[type].ports}`]));
    expect(summary).toEqual({
      none: 'endpoint-independent / endpoint-independent / preserved',
      firewall: 'endpoint-independent / address-and-port-dependent / preserved',
      'full-cone': 'endpoint-independent / endpoint-independent / preserved',
      restricted: 'endpoint-independent / address-dependent / preserved',
      'port-restricted': 'endpoint-independent / address-and-port-dependent / preserved',
      'addr-dependent': 'address-dependent / address-and-port-dependent / random',
      symmetric: 'address-and-port-dependent / address-and-port-dependent / random',
      'symmetric-sequential': 'address-and-port-dependent / address-and-port-dependent / sequential',
    });
    expect(EXPECTED_BEHAVIOUR.none.translates).toBe(false);
    expect(EXPECTED_BEHAVIOUR.firewall.translates).toBe(false);
  });

  it('reproduces every hole-punching result measured in LAB-NOTES', () => {
    for (const row of MEASURED_HOLE_PUNCHING) {
      expect({ ...row, derived: expectDirectSuccess(row.a, row.b, row.cgn) }).toEqual({ ...row, derived: row.direct });
    }
  });

  it('is symmetric in A and B when there is no CGN', () => {
    for (const a of NAT_TYPES) for (const b of NAT_TYPES) expect(expectDirectSuccess(a, b)).toBe(expectDirectSuccess(b, a));
  });

  it('derives the pairs LAB-NOTES is silent on from the filtering rules', () => {
    expect(expectDirectSuccess('none', 'symmetric')).toBe(true); // nothing filters on the public host
    expect(expectDirectSuccess('firewall', 'firewall')).toBe(true); // simultaneous open
    expect(expectDirectSuccess('firewall', 'port-restricted')).toBe(true);
    expect(expectDirectSuccess('firewall', 'restricted')).toBe(true);
    expect(expectDirectSuccess('addr-dependent', 'addr-dependent')).toBe(false);
    expect(expectDirectSuccess('symmetric-sequential', 'port-restricted')).toBe(false); // no port prediction
    expect(expectDirectSuccess('symmetric-sequential', 'restricted')).toBe(true);
  });

  it('composes a CGN with the NAT behind it (the stricter behaviour wins)', () => {
    expect(effectiveBehaviour('port-restricted', 'port-restricted')).toMatchObject({ mapping: 'endpoint-independent', filtering: 'address-and-port-dependent', classicName: 'port-restricted cone' });
    expect(effectiveBehaviour('full-cone', 'restricted')).toMatchObject({ mapping: 'endpoint-independent', filtering: 'address-dependent' });
    expect(effectiveBehaviour('full-cone', 'symmetric')).toMatchObject({ mapping: 'address-and-port-dependent', classicName: 'symmetric', ports: 'random' });
    expect(effectiveBehaviour('symmetric-sequential', 'full-cone')).toMatchObject({ mapping: 'address-and-port-dependent', ports: 'sequential' });
    expect(effectiveBehaviour('none', 'restricted')).toMatchObject({ translates: true, classicName: 'restricted cone' });
    expect(expectDirectSuccess('full-cone', 'port-restricted', 'port-restricted')).toBe(true);
    expect(expectDirectSuccess('port-restricted', 'port-restricted', 'addr-dependent')).toBe(false);
  });
});
