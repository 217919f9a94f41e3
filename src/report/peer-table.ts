import Table from 'cli-table3';
import type { PeerReport } from './peer-report.js';
import { formatMs } from './format.js';
import { FAILURE_REASON_HINTS } from './trials-table.js';

const PLAIN_STYLE = { head: [] as string[], border: [] as string[] };

/** The human summary of `nat-probe peer`: verdict, selected pair, then every pair. */
export function renderPeerTable(report: PeerReport): string {
  const summary = new Table({ style: PLAIN_STYLE, colWidths: [18, 70], wordWrap: true });
  const why = report.failureReason ?? '';
  summary.push(
    ['Result', report.connected ? `connected in ${formatMs(report.timeToConnectMs ?? 0)}` : `NOT connected: ${why}${FAILURE_REASON_HINTS[why] ? ` — ${FAILURE_REASON_HINTS[why]}` : ''}`],
    ['Selected pair', report.selectedPair ? `${report.selectedPair.pairType}  ${report.selectedPair.local} → ${report.selectedPair.remote}  rtt ${report.selectedPair.rttMs !== null ? formatMs(report.selectedPair.rttMs) : '—'}` : '—'],
    ['Room', `${report.room} as ${report.role} (${report.peerId}), ${report.mode} mode, signaling ${formatMs(report.signalingMs)}`],
    ['Local candidates', report.localCandidates.map((c) => `${c.type} ${c.address}`).join('\n') || '—'],
    ['Remote candidates', report.remoteCandidates.map((c) => `${c.type} ${c.address}`).join('\n') || '—'],
  );
  if (report.relays.length > 0) {
    summary.push([
      'TURN',
      report.relays
        .map((r) => (r.error === undefined ? `${r.server}: relayed ${r.relayed}${r.allocateMs !== undefined ? ` in ${formatMs(r.allocateMs)}` : ''}` : `${r.server}: FAILED ${r.error.code} — ${r.error.message}`))
        .join('\n'),
    ]);
  }
  const pairs = new Table({ head: ['Pair', 'Local', 'Remote', 'State', 'RTT', 'Tries', 'Why'], style: PLAIN_STYLE, wordWrap: true });
  for (const pair of report.pairs) {
    pairs.push([
      `${pair.localType}/${pair.remoteType}`,
      pair.local,
      pair.remote,
      pair.state,
      pair.rttMs !== undefined ? formatMs(pair.rttMs) : '—',
      String(pair.attempts),
      pair.failureReason ?? '',
    ]);
  }
  return `${summary.toString()}\n${report.pairs.length > 0 ? `${pairs.toString()}\n` : ''}`;
}
