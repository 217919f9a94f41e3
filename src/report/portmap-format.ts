import type { PortMappingProtocolReport } from '../gateway/types.js';
import type { PortMappingSummary } from '../nat/port-mapping.js';

const NAMES = { 'nat-pmp': 'NAT-PMP', pcp: 'PCP', upnp: 'UPnP IGD' } as const;

/** One line per protocol, the same in the table, the plain output and the Ink view. */
export function describeProtocol(report: PortMappingProtocolReport): { name: string; text: string } {
  const name = NAMES[report.protocol];
  if (!report.present) return { name, text: `absent: ${report.error ?? 'no answer'}` };
  const parts = [`present${report.version ? `, version ${report.version}` : ''}`];
  if (report.externalAddress) parts.push(`external address ${report.externalAddress}`);
  else if (report.externalAddress === '') parts.push('no external address stated');
  if (report.upnp?.friendlyName) parts.push(`"${report.upnp.friendlyName}"`);
  if (report.upnp) parts.push(`found by ${report.upnp.searchedBy} M-SEARCH`);
  if (report.rttMs !== undefined) parts.push(`${report.rttMs} ms`);
  if (report.error) parts.push(`error: ${report.error}`);
  return { name, text: parts.join(', ') };
}

/** Rows (label, text) for the port-mapping part of a detect report. */
export function portMappingRows(summary: PortMappingSummary): Array<[string, string]> {
  if (summary.status !== 'probed') return [['Port mapping', `not probed: ${summary.because}`]];
  const { gateway, doubleNat } = summary;
  const rows: Array<[string, string]> = [['Gateway', `${gateway.gateway} (asked in ${gateway.durationMs} ms, no mapping created)`]];
  for (const protocol of [gateway.natPmp, gateway.pcp, gateway.upnp]) {
    const { name, text } = describeProtocol(protocol);
    rows.push([name, text]);
  }
  const headline = doubleNat.verdict === 'double-nat' ? `Double NAT${doubleNat.cgnLikely ? ', carrier-grade NAT likely' : ''}` : doubleNat.verdict === 'single'
        ? 'No double NAT: the gateway is the outer NAT'
        : doubleNat.verdict === 'gateway-not-public'
          ? 'The gateway has no public address (double NAT likely)'
          : 'Double NAT unknown';
  rows.push(['Double NAT', [headline, ...doubleNat.evidence, doubleNat.meaning].filter(Boolean).join('\n')]);
  if (summary.map) {
    const m = summary.map;
    rows.push([
      'Mapping (--map)',
      m.created
        ? `NAT-PMP mapped local port ${m.internalPort} to external port ${m.externalPort} for ${m.lifetimeSeconds} s; an unsolicited STUN answer ${m.reachable ? 'arrived through it' : 'did not arrive'}; ${m.deleted ? 'deleted afterwards' : (m.error ?? 'not deleted')}`
        : `not created: ${m.error ?? 'refused'}`,
    ]);
  }
  return rows;
}
