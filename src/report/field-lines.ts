/**
 * Plain lines for `nat-probe field` without a TTY: one line per field event (visit prefix
 * first), the peer session's lines as `peer` prints them, and a short summary per visit report.
 * The strings from the browser are sanitized by the field layer before they get here.
 */
import type { FieldEvent } from '../field/events.js';
import type { FieldVisitReport } from './field-report.js';
import { formatPeerEventLine } from './trials-lines.js';
import { formatMs } from './format.js';

export function formatFieldEventLine(event: FieldEvent): string | undefined {
  switch (event.type) {
    case 'field-listening':
      return `Send this link to the customer: ${event.link}  (expires ${event.expiresAt}, ${event.visits} visit${event.visits === 1 ? '' : 's'})`;
    case 'field-visit-started':
      return `${event.visit} opened: ${event.browser} on ${event.os}; nat-probe is ICE-${event.natProbeRole}`;
    case 'field-peer': {
      const line = formatPeerEventLine(event.event);
      return line === undefined ? undefined : `${event.visit} ${line}`;
    }
    case 'field-browser': {
      const g = event.gather;
      const i = event.ice;
      const mdns = g.mdnsHidden ? '; host addresses hidden by mDNS (.local)' : g.hostHidden ? '; host addresses withheld by the browser' : '';
      const relay = g.relayTransports.length > 0 ? `; relay over ${g.relayTransports.join(', ')}` : '';
      const selected = i.selectedPairType !== null ? ` via ${i.selectedPairType} ${i.selectedPair ?? ''}${i.selectedRttMs !== null ? ` rtt ${formatMs(i.selectedRttMs)}` : ''}` : '';
      return [
        `${event.visit} browser gathered ${g.hostCandidates} host, ${g.srflxCandidates} srflx, ${g.relayCandidates} relay${mdns}${relay}`,
        `${event.visit} browser mapping: ${g.mapping} (${g.mappingDetail})`,
        `${event.visit} browser ICE: ${i.connected ? 'connected' : 'not connected'} (${i.finalState})${selected}`,
      ].join('\n');
    }
    case 'field-visit-ended':
      return `${event.visit} ended (${event.reason}${event.detail !== undefined ? `: ${event.detail}` : ''}): ${event.result.sentence}`;
    case 'field-refused':
      return `refused ${event.status}: ${event.why}`;
  }
}

/** The per-visit summary printed after its events. */
export function renderFieldVisitSummary(report: FieldVisitReport): string {
  const lines = [`── visit ${report.visit}: ${report.result.code} — ${report.result.sentence}`];
  lines.push(`   browser: ${report.browser.name} on ${report.browser.os} (ICE-${report.browser.iceRole}), user agent "${report.browser.userAgent}"`);
  if (report.browser.gather !== null) lines.push(`   mapping seen from the browser: ${report.browser.gather.mapping} (${report.browser.gather.mappingDetail})${report.browser.gather.mdnsHidden ? '; mDNS hides host addresses' : ''}`);
  if (report.natProbe !== null) {
    const p = report.natProbe;
    lines.push(`   nat-probe survey: ${p.pairs.filter((x) => x.state === 'succeeded').length}/${p.pairs.length} pairs succeeded`);
    for (const pair of p.pairs) {
      lines.push(`     ${pair.localType}/${pair.remoteType} ${pair.local} → ${pair.remote}  ${pair.state}${pair.rttMs !== undefined ? ` rtt ${formatMs(pair.rttMs)}` : ''}${pair.failureReason !== undefined ? ` (${pair.failureReason})` : ''}`);
    }
  }
  if (report.natProbeError !== null) lines.push(`   nat-probe session: ${report.natProbeError.code}: ${report.natProbeError.message}`);
  for (const skipped of report.skippedRemoteCandidates) lines.push(`   skipped browser candidate (${skipped.reason}): ${skipped.candidate}`);
  return lines.join('\n');
}
