import { describe, expect, it, vi } from 'vitest';
import {
  LabSpecError,
  assertLabPrerequisites,
  buildLab,
  normalizeLabSpec,
  parseConntrackLine,
  planLab,
  routerRuleset,
  type LabSpec,
  type NamespacePlan,
} from '../../src/lab/index.js';

function plan(spec: LabSpec) {
  return planLab(normalizeLabSpec(spec), 'abcd1234', { hashSeed: 7 });
}

function byRole(namespaces: NamespacePlan[], suffix: string): NamespacePlan {
  const found = namespaces.find((ns) => ns.name.endsWith(`-${suffix}`));
  if (!found) throw new Error(`no namespace -${suffix}`);
  return found;
}

describe('lab spec validation', () => {
  it('rejects an unknown NAT type with a typed error naming the field', () => {
    const attempt = () => normalizeLabSpec({ a: 'cone' as never });
    expect(attempt).toThrow(LabSpecError);
    try {
      attempt();
    } catch (error) {
      expect(error).toMatchObject({ code: 'lab-bad-spec', field: 'a' });
      expect((error as Error).message).toMatch(/port-restricted/);
    }
  });

  it('rejects it from buildLab before touching the system', async () => {
    await expect(buildLab({ a: 'port-restricted', b: 'bogus' as never }, { preflight: false })).rejects.toMatchObject({ code: 'lab-bad-spec', field: 'b' });
  });

  it('rejects loss outside 0..100, a non-translating CGN and unsafe prefixes', () => {
    expect(() => normalizeLabSpec({ a: 'none', lossPercent: 101 })).toThrow(/lossPercent/);
    expect(() => normalizeLabSpec({ a: 'none', lossPercent: 2.5 })).toThrow(/lossPercent/);
    expect(() => normalizeLabSpec({ a: 'none', cgn: 'firewall' })).toThrow(/carrier-grade/);
    for (const prefix of ['', '-', 'np', '../x-', 'NP-', 'a b-']) expect(() => normalizeLabSpec({ a: 'none', prefix })).toThrow(LabSpecError);
  });

  it('fills in defaults', () => {
    expect(normalizeLabSpec({ a: 'symmetric' })).toEqual({ a: 'symmetric', b: undefined, cgn: undefined, hairpin: false, lossPercent: 0, delayMs: 0, jitterMs: 0, prefix: 'np-' });
  });
});

describe('planLab', () => {
  it('names every namespace with the prefix and lab id', () => {
    const { lab } = plan({ a: 'port-restricted', b: 'symmetric', cgn: 'port-restricted', prefix: 'npt-' });
    expect(lab.namespaces).toEqual(['npt-abcd1234-pub', 'npt-abcd1234-a', 'npt-abcd1234-ra', 'npt-abcd1234-ca', 'npt-abcd1234-b', 'npt-abcd1234-rb']);
  });

  it('lays out the documented address plan', () => {
    const { lab } = plan({ a: 'port-restricted', b: 'symmetric' });
    expect(lab.public).toMatchObject({ primaryAddress: '203.0.113.1', alternateAddress: '203.0.113.2' });
    expect(lab.a).toMatchObject({ publicAddress: '203.0.113.10', client: { address: '198.51.100.2', gateway: '198.51.100.1' }, router: { wanAddress: '203.0.113.10', lanAddress: '198.51.100.1' } });
    expect(lab.b).toMatchObject({ publicAddress: '203.0.113.20', client: { address: '198.51.100.18', gateway: '198.51.100.17' }, router: { wanAddress: '203.0.113.20' } });
  });

  it("puts 'none' and 'firewall' clients on the bridge with the public address", () => {
    const { lab, namespaces } = plan({ a: 'none', b: 'firewall' });
    expect(lab.a).toMatchObject({ router: undefined, client: { address: '203.0.113.10', gateway: undefined } });
    expect(lab.b).toMatchObject({ router: undefined, client: { address: '203.0.113.20' } });
    expect(byRole(namespaces, 'a').nftRuleset).toBeUndefined();
    expect(byRole(namespaces, 'b').nftRuleset).toMatch(/iifname "eth0" ct state new drop/);
    expect(lab.namespaces).toHaveLength(3);
  });

  it('puts a CGN with 100.64.0.0/24 inside between side A and the bridge', () => {
    const { lab, namespaces } = plan({ a: 'port-restricted', cgn: 'symmetric' });
    expect(lab.a.cgn).toMatchObject({ wanAddress: '203.0.113.10', lanAddress: '100.64.0.1', natType: 'symmetric' });
    expect(lab.a.router).toMatchObject({ wanAddress: '100.64.0.2' });
    expect(byRole(namespaces, 'ra').setup).toContainEqual(['route', 'add', 'default', 'via', '100.64.0.1']);
    expect(byRole(namespaces, 'ca').nftRuleset).toMatch(/masquerade random/);
  });

  it('creates every veth inside lab namespaces, never in the host', () => {
    const { namespaces, lab } = plan({ a: 'full-cone', b: 'none', cgn: 'restricted' });
    for (const ns of namespaces) {
      for (const command of ns.links) {
        if (command.includes('veth')) expect(lab.namespaces).toContain(command[command.indexOf('netns') + 1]);
      }
    }
  });

  it('disables IPv6 everywhere and forwards only on routers', () => {
    const { namespaces } = plan({ a: 'restricted', b: 'none' });
    for (const ns of namespaces) {
      expect(ns.sysctls).toContain('net.ipv6.conf.all.disable_ipv6=1');
      expect(ns.sysctls.includes('net.ipv4.ip_forward=1')).toBe(ns.role === 'router' || ns.role === 'cgn');
    }
  });

  it('gives the public namespace a default route into a silent sink, as the Internet has', () => {
    const pub = byRole(plan({ a: 'symmetric', b: 'symmetric' }).namespaces, 'pub');
    expect(pub.links).toContainEqual(['link', 'add', 'sink0', 'type', 'veth', 'peer', 'name', 'sink0p', 'netns', pub.name]);
    expect(pub.setup).toContainEqual(['route', 'add', 'default', 'via', '10.255.255.1', 'dev', 'sink0', 'onlink']);
    expect(pub.setup.findIndex((c) => c[0] === 'neigh')).toBeLessThan(pub.setup.findIndex((c) => c[0] === 'route'));
  });

  it('drops loss on the router for NATed clients and on the bridge port for bridged ones', () => {
    const { namespaces } = plan({ a: 'port-restricted', b: 'none', lossPercent: 30 });
    expect(byRole(namespaces, 'ra').nftRuleset).toMatch(/numgen random mod 100 < 30 drop/);
    expect(byRole(namespaces, 'pub').nftRuleset).toMatch(/table bridge natprobe[\s\S]*iifname \{ "to-b" \}[\s\S]*< 30 drop/);
    expect(byRole(namespaces, 'pub').nftRuleset).not.toMatch(/to-a/);
  });
});

describe('routerRuleset', () => {
  it('always drops new inbound packets to the router itself (the LAB-NOTES pitfall)', () => {
    for (const type of ['full-cone', 'restricted', 'port-restricted', 'addr-dependent', 'symmetric', 'symmetric-sequential'] as const) {
      expect(routerRuleset({ type, wanAddress: '203.0.113.10' })).toMatch(/chain input \{[^}]*iifname "wan" ct state new drop/);
    }
  });

  it('builds each behaviour as LAB-NOTES records', () => {
    expect(routerRuleset({ type: 'port-restricted', wanAddress: '203.0.113.10' })).toMatch(/oifname "wan" ip saddr != 203\.0\.113\.10 masquerade\n/);
    expect(routerRuleset({ type: 'symmetric', wanAddress: '203.0.113.10' })).toMatch(/masquerade random/);
    expect(routerRuleset({ type: 'addr-dependent', wanAddress: '203.0.113.10', hashSeed: 255 })).toMatch(/snat ip to 203\.0\.113\.10 : jhash ip saddr \. udp sport \. ip daddr mod \d+ seed 0xff/);
    expect(routerRuleset({ type: 'symmetric-sequential', wanAddress: '203.0.113.10' })).toMatch(/numgen inc mod 1024 map \{ 0 : 40000, 1 : 40001,/);
    const fullCone = routerRuleset({ type: 'full-cone', wanAddress: '203.0.113.10' });
    expect(fullCone).toMatch(/map mappings \{ type inet_service : ipv4_addr \. inet_service; flags dynamic,timeout/);
    expect(fullCone).toMatch(/priority srcnat \+ 10[^}]*ct direction original update @mappings/);
    expect(fullCone).toMatch(/iifname "wan" dnat ip addr \. port to udp dport map @mappings/);
    const restricted = routerRuleset({ type: 'restricted', wanAddress: '203.0.113.10' });
    expect(restricted).toMatch(/udp dport \. ip saddr @contacted dnat/);
    expect(restricted).toMatch(/update @contacted \{ ct reply proto-dst \. ip daddr \}/);
  });

  it("translates only forwarded traffic, never the router's own (miniupnpd's STUN test must see its port kept)", () => {
    for (const type of ['full-cone', 'restricted', 'port-restricted', 'addr-dependent', 'symmetric', 'symmetric-sequential'] as const) {
      const postrouting = /chain postrouting \{[^}]*\}/.exec(routerRuleset({ type, wanAddress: '100.64.0.2' }))![0];
      const natRules = postrouting.split('\n').filter((line) => /masquerade|snat/.test(line));
      expect(natRules.length).toBeGreaterThan(0);
      for (const rule of natRules) expect(rule).toContain('oifname "wan" ip saddr != 100.64.0.2 ');
    }
  });

  it("lets the STUN server's answers in only to sockets on the router itself, before the input drop", () => {
    const rules = routerRuleset({ type: 'symmetric', wanAddress: '203.0.113.10', stunServer: { addresses: ['203.0.113.1', '203.0.113.2'], ports: [3478, 3479] } });
    expect(rules).toMatch(
      /chain input \{[^}]*iifname "wan" ip saddr \{ 203\.0\.113\.1, 203\.0\.113\.2 \} udp sport \{ 3478, 3479 \} socket transparent 0 accept\n\s*iifname "wan" ct state new drop/,
    );
    expect(routerRuleset({ type: 'symmetric', wanAddress: '203.0.113.10' })).not.toMatch(/socket/);
    // The plan gives every NAT router (CGN included) the lab's server.
    const { namespaces } = plan({ a: 'port-restricted', cgn: 'symmetric' });
    for (const role of ['ra', 'ca']) expect(byRole(namespaces, role).nftRuleset).toMatch(/udp sport \{ 3478, 3479 \} socket transparent 0 accept/);
  });

  it('adds hairpin DNAT and SNAT only when asked', () => {
    expect(routerRuleset({ type: 'port-restricted', wanAddress: '203.0.113.10' })).not.toMatch(/iifname "lan"/);
    const hairpin = routerRuleset({ type: 'port-restricted', wanAddress: '203.0.113.10', hairpin: true });
    expect(hairpin).toMatch(/iifname "lan" ip daddr 203\.0\.113\.10 dnat ip addr \. port to udp dport map @mappings/);
    expect(hairpin).toMatch(/iifname "lan" oifname "lan" ct status dnat snat ip to 203\.0\.113\.10/);
  });
});

describe('preflight', () => {
  it('says the lab needs root', async () => {
    const spy = vi.spyOn(process as { getuid: () => number }, 'getuid').mockReturnValue(1000);
    try {
      await expect(assertLabPrerequisites()).rejects.toMatchObject({ code: 'lab-needs-root', message: expect.stringMatching(/root/) });
    } finally {
      spy.mockRestore();
    }
  });

  it('names a missing tool and its package', async () => {
    const spy = vi.spyOn(process as { getuid: () => number }, 'getuid').mockReturnValue(0);
    try {
      await expect(assertLabPrerequisites({ tools: ['nat-probe-no-such-tool'] })).rejects.toMatchObject({ code: 'lab-missing-tool', message: expect.stringMatching(/nat-probe-no-such-tool/) });
    } finally {
      spy.mockRestore();
    }
  });
});

describe('parseConntrackLine', () => {
  it('reads both tuples and flags', () => {
    const entry = parseConntrackLine('udp      17 28 src=198.51.100.2 dst=203.0.113.1 sport=40000 dport=3478 [UNREPLIED] src=203.0.113.1 dst=203.0.113.10 sport=3478 dport=40001 mark=0 use=1');
    expect(entry).toEqual({
      protocol: 'udp',
      timeoutSeconds: 28,
      state: undefined,
      flags: ['UNREPLIED'],
      original: { src: '198.51.100.2', dst: '203.0.113.1', sport: 40000, dport: 3478 },
      reply: { src: '203.0.113.1', dst: '203.0.113.10', sport: 3478, dport: 40001 },
    });
    expect(parseConntrackLine('conntrack v1.4.7 (conntrack-tools): 1 flow entries have been shown.')).toBeUndefined();
  });
});
