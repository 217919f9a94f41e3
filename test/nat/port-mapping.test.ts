import { describe, expect, it } from 'vitest';
import type { GatewayReport, PortMappingProtocolReport } from '../../src/gateway/index.js';
import { analyseDoubleNat, isRfc1918, isSharedAddressSpace, portMappingSkipReason, withMappingEvidence } from '../../src/nat/index.js';

const absent = (protocol: PortMappingProtocolReport['protocol']): PortMappingProtocolReport => ({ protocol, present: false, sent: 4, error: 'no answer' });
function gateway(natPmp?: string, upnp?: string, pcpResult = 0): GatewayReport {
  return {
    gateway: '198.51.100.1',
    natPmp: natPmp ? { protocol: 'nat-pmp', present: true, version: '0', externalAddress: natPmp, sent: 1 } : absent('nat-pmp'),
    pcp: { protocol: 'pcp', present: true, version: '2', result: { code: pcpResult, name: '' }, sent: 1 },
    upnp: upnp ? { protocol: 'upnp', present: true, version: 'IGD:1', externalAddress: upnp, sent: 1 } : absent('upnp'),
    durationMs: 3,
  };
}

describe('address ranges', () => {
  it.each([
    ['10.1.2.3', true, false],
    ['172.16.0.1', true, false],
    ['172.32.0.1', false, false],
    ['192.168.1.1', true, false],
    ['100.64.0.2', false, true],
    ['100.127.255.255', false, true],
    ['100.128.0.1', false, false],
    ['203.0.113.10', false, false],
  ])('%s: RFC 1918 %s, RFC 6598 %s', (address, private1918, shared) => {
    expect(isRfc1918(address)).toBe(private1918);
    expect(isSharedAddressSpace(address)).toBe(shared);
  });
});

describe('analyseDoubleNat', () => {
  it('says double NAT and carrier-grade NAT likely for a 100.64/10 external address, and what it means for mapping', () => {
    const finding = analyseDoubleNat(gateway('100.64.0.2', '100.64.0.2'), ['203.0.113.10']);
    expect(finding).toMatchObject({ verdict: 'double-nat', cgnLikely: true });
    expect(finding.evidence[0]).toContain('100.64.0.0/10 (RFC 6598)');
    expect(finding.meaning).toContain('does not help');
  });

  it('says double NAT without CGN for a private external address', () => {
    expect(analyseDoubleNat(gateway('192.168.0.5'), ['203.0.113.10'])).toMatchObject({ verdict: 'double-nat', cgnLikely: false });
  });

  it('says double NAT when the stated public address differs from what STUN saw', () => {
    const finding = analyseDoubleNat(gateway(undefined, '198.18.0.9'), ['203.0.113.10']);
    expect(finding.verdict).toBe('double-nat');
    expect(finding.evidence[0]).toContain('but the STUN servers see 203.0.113.10');
  });

  it('says single NAT when the gateway states the STUN-mapped address', () => {
    const finding = analyseDoubleNat(gateway('203.0.113.10', '203.0.113.10'), ['203.0.113.10']);
    expect(finding.verdict).toBe('single');
    expect(finding.meaning).toContain('reachable from the Internet');
  });

  it('takes PCP ADDRESS_MISMATCH as a NAT between host and gateway', () => {
    expect(analyseDoubleNat(gateway(undefined, undefined, 12), []).verdict).toBe('double-nat');
  });

  it('says the gateway has no public address when it answers but refuses to state one (miniupnpd with a private WAN)', () => {
    const report = gateway();
    report.natPmp = { protocol: 'nat-pmp', present: true, version: '0', result: { code: 3, name: 'Network Failure' }, sent: 1 };
    report.upnp = { protocol: 'upnp', present: true, version: 'IGD:2', externalAddress: '', sent: 1 };
    const finding = analyseDoubleNat(report, ['203.0.113.10']);
    expect(finding.verdict).toBe('gateway-not-public');
    expect(finding.evidence[0]).toContain('NAT-PMP answered 3 (Network Failure)');
    expect(finding.evidence[0]).toContain('UPnP GetExternalIPAddress returned an empty address');
    expect(finding.meaning).toContain('port mapping does not help');
  });

  it('is unknown when nothing states an address', () => {
    expect(analyseDoubleNat(gateway(), ['203.0.113.10']).verdict).toBe('unknown');
  });
});

describe('withMappingEvidence (detect --map settles what the stated address suggests)', () => {
  const looksSingle = () => analyseDoubleNat(gateway('203.0.113.10'), ['203.0.113.10']);

  it('a mapping that lets an unsolicited answer in proves the gateway is the outer NAT', () => {
    const finding = withMappingEvidence(looksSingle(), { protocol: 'nat-pmp', created: true, externalPort: 40000, reachable: true, deleted: true });
    expect(finding.verdict).toBe('single');
    expect(finding.evidence.at(-1)).toContain('proven by --map');
    expect(finding.meaning).toContain('proven');
  });

  it('a granted mapping that lets nothing in means another NAT or a firewall beyond the gateway', () => {
    const finding = withMappingEvidence(looksSingle(), { protocol: 'nat-pmp', created: true, externalPort: 40000, reachable: false, deleted: true });
    expect(finding.verdict).toBe('double-nat');
    expect(finding.evidence.at(-1)).toContain('did not arrive');
  });

  it('a mapping refused with Network Failure by a gateway that states the outer address: not public (miniupnpd behind a CGN)', () => {
    const finding = withMappingEvidence(looksSingle(), { protocol: 'nat-pmp', created: false, error: 'NAT-PMP refused: 3 Network Failure', resultCode: 3 });
    expect(finding.verdict).toBe('gateway-not-public');
    expect(finding.evidence.join(' ')).toContain('203.0.113.10');
    expect(finding.evidence.at(-1)).toContain('3 (Network Failure)');
  });

  it('other refusals, no --map, or an already double verdict are left as they are', () => {
    const single = looksSingle();
    expect(withMappingEvidence(single, undefined)).toBe(single);
    expect(withMappingEvidence(single, { protocol: 'nat-pmp', created: false, error: 'NAT-PMP refused: 2 Not Authorized', resultCode: 2 })).toBe(single);
    const double = analyseDoubleNat(gateway('100.64.0.2'), ['203.0.113.10']);
    expect(withMappingEvidence(double, { protocol: 'nat-pmp', created: true, externalPort: 1, reachable: false })).toBe(double);
  });
});

describe('portMappingSkipReason (never ask the host network\'s gateway for a local self-test)', () => {
  it.each([
    [{ embedded: false, portmap: false, serverAddresses: ['203.0.113.1'] }, '--no-portmap'],
    [{ embedded: true, portmap: true, serverAddresses: ['127.0.0.1'] }, '--embedded'],
    [{ embedded: false, portmap: true, serverAddresses: ['127.0.0.1', '127.0.0.2', '::1'] }, 'loopback'],
  ])('%j skips (%s)', (input, why) => {
    expect(portMappingSkipReason(input)).toContain(why);
  });

  it('asks when any server is not loopback', () => {
    expect(portMappingSkipReason({ embedded: false, portmap: true, serverAddresses: ['127.0.0.1', '203.0.113.1'] })).toBeUndefined();
  });
});
