import Table from 'cli-table3';
import type { PeerReport } from './peer-report.js';
import { formatMs } from './format.js';
import { FAILURE_REASON_HINTS } from './trials-table.js';
import { formatAttempt, formatBehaviour, formatPlanHead, formatPortmap, formatRung, formatWinner, foundByStrategy } from './traversal-format.js';

const PLAIN_STYLE = { head: [] as string[], border: [] as string[] };

/** "host/prflx  a → b  rtt 1.2 ms", and which strategy found it when one did. */
function selectedPairLine(selected: NonNullable<PeerReport['selectedPair']>): string {
  const line = `${selected.pairType}  ${selected.local} → ${selected.remote}  rtt ${selected.rttMs !== null ? formatMs(selected.rttMs) : '—'}`;
  if (!foundByStrategy(selected.foundBy)) return line;
  return `${line}\n${selected.pairType.includes('prflx') ? 'prflx path ' : ''}found by ${formatWinner(selected.foundBy)}`;
}

/** The traversal section: plan and reason, both behaviours, each attempt, the relay ladder, and which path won. */
function traversalTable(traversal: NonNullable<PeerReport['traversal']>): string {
  const table = new Table({ style: PLAIN_STYLE, colWidths: [18, 70], wordWrap: true });
  table.push(
    ['Traversal', `requested ${traversal.requested.join(', ')}`],
    ['Plan', `${formatPlanHead(traversal.plan)}\n${traversal.plan.reason}`],
    ['This side', formatBehaviour(traversal.localBehaviour)],
    ['Other side', formatBehaviour(traversal.remoteBehaviour)],
    ['Strategies', traversal.attempts.map(formatAttempt).join('\n') || 'none ran'],
  );
  if (traversal.ladder.length > 0) table.push(['Relay ladder', traversal.ladder.map(formatRung).join('\n')]);
  if (traversal.portmap !== undefined) table.push(['Port mapping', formatPortmap(traversal.portmap)]);
  table.push(['Path won by', formatWinner(traversal.winner)]);
  return table.toString();
}

/** " — what it means": the session's own words when it has them, else the reason's general hint. */
function notConnectedWords(report: PeerReport): string {
  const words = report.failureDetail ?? FAILURE_REASON_HINTS[report.failureReason ?? ''];
  return words ? ` — ${words}` : '';
}

/** " (since both peers joined: signaling 80 ms · gathering 5.1 s incl. TURN · checks 60 ms)" */
function spentOn(report: PeerReport): string {
  const time = report.connectTime;
  if (time === undefined) return '';
  return ` since both peers joined (signaling ${formatMs(time.parametersMs)} · gathering ${formatMs(time.gatheringMs)}${time.waitedForRelays ? ' incl. TURN' : ''} · checks ${formatMs(time.checksMs)})`;
}

/** The human summary of `nat-probe peer`: verdict, selected pair, the traversal section, then every pair. */
export function renderPeerTable(report: PeerReport): string {
  const summary = new Table({ style: PLAIN_STYLE, colWidths: [18, 70], wordWrap: true });
  const why = report.failureReason ?? '';
  summary.push(
    ['Result', report.connected ? `connected in ${formatMs(report.timeToConnectMs ?? 0)}${spentOn(report)}` : `NOT connected: ${why}${notConnectedWords(report)}`],
    ['Selected pair', report.selectedPair ? selectedPairLine(report.selectedPair) : '—'],
    ['Room', `${report.room} as ${report.role} (${report.peerId}), ${report.mode} mode, signaling ${formatMs(report.signalingMs)}`],
    ['Local candidates', report.localCandidates.map((c) => `${c.type} ${c.address}`).join('\n') || '—'],
    ['Remote candidates', report.remoteCandidates.map((c) => `${c.type} ${c.address}`).join('\n') || '—'],
  );
  if (report.skippedRemoteCandidates.length > 0) {
    summary.push(['Skipped remote', report.skippedRemoteCandidates.map((s) => `${s.reason}: ${s.candidate}`).join('\n')]);
  }
  if (report.warnings !== undefined && report.warnings.length > 0) summary.push(['WARNING', report.warnings.map((w) => w.message).join('\n')]);
  if (report.hold !== undefined) summary.push([report.hold.consentLost ? 'Hold: PATH LOST' : 'Hold (--hold)', report.hold.text]);
  if (report.relays.length > 0) {
    summary.push([
      'TURN',
      report.relays
        .map((r) =>
          r.error === undefined
            ? `${r.server}: relayed ${r.relayed}${r.allocateMs !== undefined ? ` in ${formatMs(r.allocateMs)}` : ''}`
            : r.error.code === 'turn-pending'
              ? `${r.server}: not finished — ${r.error.message}`
              : `${r.server}: FAILED ${r.error.code} — ${r.error.message}`,
        )
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
  const traversal = report.traversal !== undefined ? `${traversalTable(report.traversal)}\n` : '';
  return `${summary.toString()}\n${traversal}${report.pairs.length > 0 ? `${pairs.toString()}\n` : ''}`;
}
