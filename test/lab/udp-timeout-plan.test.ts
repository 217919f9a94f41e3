import { describe, expect, it } from 'vitest';
import { normalizeLabSpec, planLab } from '../../src/lab/index.js';

describe('lab udpTimeout (pure planning)', () => {
  it('sets both conntrack UDP timeouts in every NAT router namespace, CGN included, and nowhere else', () => {
    const plan = planLab(normalizeLabSpec({ a: 'port-restricted', cgn: 'symmetric', b: 'none', udpTimeout: { oneWay: 20, twoWay: 60 } }), 'x1');
    const wanted = ['net.netfilter.nf_conntrack_udp_timeout=20', 'net.netfilter.nf_conntrack_udp_timeout_stream=60'];
    for (const ns of plan.namespaces) {
      if (ns.role === 'router' || ns.role === 'cgn') expect(ns.sysctls, ns.name).toEqual(expect.arrayContaining(wanted));
      else expect(ns.sysctls.some((s) => s.includes('conntrack')), ns.name).toBe(false);
    }
  });

  it('takes one number for both, leaves the kernel default without it, and rejects nonsense', () => {
    expect(normalizeLabSpec({ a: 'symmetric', udpTimeout: 20 }).udpTimeout).toEqual({ oneWay: 20, twoWay: 20 });
    expect(normalizeLabSpec({ a: 'symmetric' }).udpTimeout).toBeUndefined();
    expect(() => normalizeLabSpec({ a: 'symmetric', udpTimeout: 0 })).toThrow(/whole seconds/);
    expect(() => normalizeLabSpec({ a: 'symmetric', udpTimeout: { oneWay: 2.5, twoWay: 3 } })).toThrow(/whole seconds/);
  });
});
