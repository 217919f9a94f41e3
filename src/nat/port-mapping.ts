/**
 * What the gateway's port-mapping answers mean next to the STUN verdict: whether to ask the
 * gateway at all, and double NAT / carrier-grade NAT (RFC 6598) from the address the gateway
 * states. Pure functions; the probing is `gateway/probe.ts`.
 */
import { isIPv4 } from 'node:net';
import type { GatewayReport } from '../gateway/index.js';
import type { MappedPortReport } from './mapped-port.js';
import { isLoopbackAddress } from '../stun/index.js';

/** The port-mapping part of a detect run, as reported. */
export type PortMappingSummary =
  | { status: 'skipped'; because: string }
  | { status: 'no-gateway'; because: string }
  | { status: 'probed'; gateway: GatewayReport; doubleNat: DoubleNatFinding; map?: MappedPortReport };

export interface DoubleNatFinding {
  /**
   * 'double-nat': another NAT sits beyond the gateway; 'single': the gateway is the outer NAT;
   * 'gateway-not-public': the gateway speaks a mapping protocol but says it has no public
   * external address (so a mapping on it would not be reachable either); 'unknown': nothing
   * to compare.
   */
  verdict: 'double-nat' | 'single' | 'gateway-not-public' | 'unknown';
  /** The gateway's outside is RFC 6598 shared address space: the second NAT is the carrier's. */
  cgnLikely: boolean;
  /** The facts, in plain words. */
  evidence: string[];
  /** What it means for port mapping. */
  meaning: string;
}

const v4 = (address: string): number[] => address.split('.').map(Number);

/** RFC 1918 private space: 10/8, 172.16/12, 192.168/16. */
export function isRfc1918(address: string): boolean {
  if (!isIPv4(address)) return false;
  const [a, b] = v4(address) as [number, number];
  return a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168);
}

/** RFC 6598 shared address space for carrier-grade NAT: 100.64.0.0/10. */
export function isSharedAddressSpace(address: string): boolean {
  if (!isIPv4(address)) return false;
  const [a, b] = v4(address) as [number, number];
  return a === 100 && b >= 64 && b <= 127;
}

/**
 * Why `detect` must not ask the gateway, or undefined when it may. The gateway and the LAN's
 * multicast group belong to the network the host is on; a self-test against loopback servers
 * (or the embedded server) is about this host alone and must not touch them.
 */
export function portMappingSkipReason(input: { embedded: boolean; portmap: boolean; serverAddresses: readonly string[] }): string | undefined {
  if (!input.portmap) return '--no-portmap';
  if (input.embedded) return '--embedded runs against this host only';
  if (input.serverAddresses.length > 0 && input.serverAddresses.every(isLoopbackAddress)) return 'every server is a loopback address';
  return undefined;
}

/**
 * Double NAT when the gateway's stated external address is private (RFC 1918) or shared (RFC
 * 6598), or differs from the address the STUN servers saw; PCP's ADDRESS_MISMATCH says a NAT
 * sits between this host and the gateway.
 */
export function analyseDoubleNat(gateway: GatewayReport, stunPublicAddresses: readonly string[]): DoubleNatFinding {
  const evidence: string[] = [];
  const stated = [
    ['NAT-PMP', gateway.natPmp.externalAddress],
    ['UPnP', gateway.upnp.externalAddress],
  ].filter((e): e is [string, string] => e[1] !== undefined && e[1] !== '' && e[1] !== '0.0.0.0');
  let double = false;
  let cgnLikely = false;
  for (const [protocol, address] of stated) {
    if (isSharedAddressSpace(address)) {
      double = true;
      cgnLikely = true;
      evidence.push(`${protocol} on the gateway ${gateway.gateway} states external address ${address}, in the carrier-grade NAT range 100.64.0.0/10 (RFC 6598).`);
    } else if (isRfc1918(address)) {
      double = true;
      evidence.push(`${protocol} on the gateway ${gateway.gateway} states external address ${address}, a private address (RFC 1918).`);
    } else if (stunPublicAddresses.length > 0 && !stunPublicAddresses.includes(address)) {
      double = true;
      evidence.push(`${protocol} on the gateway ${gateway.gateway} states external address ${address}, but the STUN servers see ${stunPublicAddresses.join(', ')}.`);
    } else if (stunPublicAddresses.includes(address)) {
      evidence.push(`${protocol} on the gateway ${gateway.gateway} states external address ${address}, the same the STUN servers see.`);
    }
  }
  if (gateway.pcp.result?.code === 12) {
    double = true;
    evidence.push(`PCP on ${gateway.gateway} answered ADDRESS_MISMATCH: a NAT sits between this host and that gateway (RFC 6887 §8.1).`);
  }
  if (double) {
    return {
      verdict: 'double-nat',
      cgnLikely,
      evidence,
      meaning: cgnLikely
        ? 'Double NAT, carrier-grade NAT likely: the gateway is itself behind the carrier\'s NAT. A mapping made on the gateway (UPnP, NAT-PMP, PCP) opens a port only on the carrier\'s inside network, not on the Internet, so it does not help peers reach this host; only the outer NAT\'s behaviour (the STUN verdict) counts. Ask the ISP for a public IPv4 address or use IPv6.'
        : 'Double NAT: the gateway is behind another NAT. A mapping made on the gateway (the inner NAT) does not help peers on the Internet reach this host; only the outer NAT\'s behaviour (the STUN verdict) counts.',
    };
  }
  // A gateway that forwards our STUN traffic has a WAN address; when it answers but will not
  // state it (NAT-PMP result 3, RFC 6886 §3.5; an empty or 0.0.0.0 NewExternalIPAddress), the
  // address is one it considers unusable: miniupnpd, the common Linux implementation, refuses
  // private, shared (100.64/10) and reserved addresses this way.
  const refusals: string[] = [];
  if (gateway.natPmp.present && gateway.natPmp.result?.code === 3) refusals.push('NAT-PMP answered 3 (Network Failure) to the external address request');
  const upnpAddress = gateway.upnp.externalAddress;
  if (gateway.upnp.present && (upnpAddress === '' || upnpAddress === '0.0.0.0')) refusals.push(`UPnP GetExternalIPAddress returned ${upnpAddress === '' ? 'an empty address' : '0.0.0.0'}`);
  if (stated.length === 0 && refusals.length > 0) {
    return {
      verdict: 'gateway-not-public',
      cgnLikely: false,
      evidence: [
        `The gateway ${gateway.gateway} speaks port mapping but states no usable external address: ${refusals.join('; ')}.${stunPublicAddresses.length > 0 ? ` The STUN servers see ${stunPublicAddresses.join(', ')}.` : ''}`,
      ],
      meaning:
        'The gateway considers its own outside address not public (private, carrier-grade 100.64/10 or reserved space): most likely another NAT sits beyond it. A mapping made on it would not be reachable from the Internet, so port mapping does not help here; the STUN verdict is what peers meet.',
    };
  }
  if (stated.length > 0 && evidence.length > 0) {
    return {
      verdict: 'single',
      cgnLikely: false,
      evidence,
      // Stated = seen is what a single NAT looks like, but not proof: a gateway that learns its
      // address by STUN (miniupnpd's ext_perform_stun) states the outer one behind a CGN too.
      meaning:
        'The gateway states the address the STUN servers see, so it looks like the outer NAT: a port mapped on it (UPnP, NAT-PMP or PCP) would be reachable from the Internet, which turns a hard NAT into an easy one for this host. A gateway that learns its address by STUN states the outer address even behind another NAT; `detect --map` proves it with a mapping an outside answer comes through.',
    };
  }
  return {
    verdict: 'unknown',
    cgnLikely: false,
    evidence: stated.length > 0 ? [`The gateway states ${stated.map(([p, a]) => `${a} (${p})`).join(', ')}, but no STUN server saw a public address to compare.`] : ['The gateway states no external address (no NAT-PMP or UPnP answer with one).'],
    meaning: 'Whether a NAT sits beyond the gateway is unknown.',
  };
}

/**
 * `detect --map` settles what the stated address only suggests: a mapping that lets an
 * unsolicited STUN answer in proves the gateway is the outer NAT; one granted that lets nothing
 * in means another NAT (or a firewall) beyond it; one refused with 3 (Network Failure, RFC 6886
 * §3.5) from a gateway that states an address is what miniupnpd answers when its own STUN test
 * found it behind a NAT that would not forward. Returns the finding with that evidence added.
 */
export function withMappingEvidence(finding: DoubleNatFinding, map: MappedPortReport | undefined): DoubleNatFinding {
  if (map === undefined) return finding;
  if (map.created && map.reachable === true) {
    if (finding.verdict !== 'single' && finding.verdict !== 'unknown') return { ...finding, evidence: [...finding.evidence, `A NAT-PMP mapping of port ${map.externalPort} let an unsolicited STUN answer in.`] };
    return {
      verdict: 'single',
      cgnLikely: false,
      evidence: [...finding.evidence, `A NAT-PMP mapping of port ${map.externalPort} on the gateway let an unsolicited STUN answer in: the gateway is the outer NAT (proven by --map).`],
      meaning: 'The gateway is the outer NAT (proven: a port mapped on it received an answer from outside). UPnP, NAT-PMP or PCP mappings on it turn a hard NAT into an easy one for this host.',
    };
  }
  if (map.created && map.reachable === false && finding.verdict !== 'double-nat') {
    return {
      verdict: 'double-nat',
      cgnLikely: finding.cgnLikely,
      evidence: [...finding.evidence, `The gateway mapped port ${map.externalPort}, but an unsolicited STUN answer sent to that port did not arrive: another NAT or a firewall sits beyond the gateway.`],
      meaning: 'Double NAT (or a firewall beyond the gateway): a mapping made on the gateway does not let peers on the Internet reach this host; only the outer NAT\'s behaviour (the STUN verdict) counts.',
    };
  }
  if (!map.created && map.resultCode === 3 && (finding.verdict === 'single' || finding.verdict === 'unknown')) {
    return {
      verdict: 'gateway-not-public',
      cgnLikely: false,
      evidence: [...finding.evidence, 'The gateway refused a NAT-PMP mapping with 3 (Network Failure) although it states an external address: miniupnpd answers so when its own STUN test finds it behind a NAT that would not forward.'],
      meaning: 'The gateway will not map ports to the Internet: most likely another NAT (a carrier-grade NAT, or a second router) sits beyond it. Port mapping does not help here; the STUN verdict is what peers meet.',
    };
  }
  return finding;
}
