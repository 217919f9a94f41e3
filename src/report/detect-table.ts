import Table from 'cli-table3';
import type { DetectFamilyReport, DetectReport } from './detect-report.js';
import { formatTransportAddress } from './format.js';
import { lifetimeRows } from './lifetime-format.js';
import { portMappingRows } from './portmap-format.js';

function strayNote(stray: DetectFamilyReport['servers'][number]['stray']): string {
  const total = stray.malformed + stray.oversized + stray.unmatched;
  if (total === 0) return '';
  return `${total} non-STUN datagram(s) back: ${stray.malformed} malformed, ${stray.oversized} oversized, ${stray.unmatched} unmatched`;
}

const PLAIN_STYLE = { head: [] as string[], border: [] as string[] };

/** The human summary printed when stdout is not a terminal (and after the Ink view ends). */
export function renderDetectTable(report: DetectReport): string {
  const blocks: string[] = [];
  for (const result of report.results) {
    const { verdict } = result;
    const table = new Table({ style: PLAIN_STYLE, colWidths: [20, 64], wordWrap: true });
    const allocation = verdict.portAllocation;
    table.push(
      [`IPv${result.family} verdict`, `${result.headline}`],
      ['Behaviour', `${result.behaviour}  (mapping ${verdict.mapping}, filtering ${verdict.filtering})`],
      ['Public address', verdict.publicAddresses.join(', ') || '—'],
      [
        'Port allocation',
        allocation.kind === 'sequential' ? `sequential, step ${allocation.delta}, next ≈ ${allocation.predictedNext}` : allocation.kind,
      ],
      ['Hairpinning', verdict.hairpinning],
      ['Confidence', verdict.confidence],
      ['Meaning', result.meaning],
    );
    if (result.compatibility) {
      table.push(['Direct works with', result.compatibility.direct.join(', ') || 'none']);
      table.push(['Needs TURN with', result.compatibility.needsRelay.join(', ') || 'none']);
    }
    table.push(['Why', verdict.reasons.join('\n')]);
    table.push([
      'Probes',
      `${result.probes.sent} requests (${result.probes.answered} answered, ${result.probes.unanswered} unanswered, ${result.probes.failed} failed), ${result.probes.packetsSent} packets, ${result.durationMs} ms`,
    ]);
    blocks.push(table.toString());

    const servers = new Table({ head: ['Server', 'Address', 'RTT', 'RFC 5780', 'Notes'], style: PLAIN_STYLE, wordWrap: true, colWidths: [26, 22, 9, 10, 40] });
    for (const server of result.servers) {
      servers.push([
        server.label,
        formatTransportAddress(server.primary),
        server.rttMs === undefined ? '—' : `${server.rttMs.toFixed(1)} ms`,
        server.reachable ? server.rfc5780 : 'no answer',
        [server.alternate ? `other address ${formatTransportAddress(server.alternate)}` : '', ...server.problems, strayNote(server.stray)].filter(Boolean).join('\n'),
      ]);
    }
    blocks.push(servers.toString());
  }
  const portmap = new Table({ style: PLAIN_STYLE, colWidths: [20, 64], wordWrap: true });
  for (const row of portMappingRows(report.portMapping)) portmap.push(row);
  blocks.push(portmap.toString());
  if (report.lifetime) {
    const lifetime = new Table({ style: PLAIN_STYLE, colWidths: [20, 64], wordWrap: true });
    for (const row of lifetimeRows(report.lifetime)) lifetime.push(row);
    blocks.push(lifetime.toString());
  }
  return `${blocks.join('\n')}\n`;
}
