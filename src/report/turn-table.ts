import Table from 'cli-table3';
import type { TurnReport } from './turn-report.js';
import { TURN_STEP_LABELS } from './turn-report.js';
import { formatMs } from './format.js';

const PLAIN_STYLE = { head: [] as string[], border: [] as string[] };
const MARK = { pass: 'pass', fail: 'FAIL', skipped: 'skipped' } as const;

/** The human summary of `nat-probe turn`: one row per check, then the relay's addresses and the round trip. */
export function renderTurnTable(report: TurnReport): string {
  const steps = new Table({ head: ['Check', 'Result', 'Time', 'Detail'], style: PLAIN_STYLE, colWidths: [16, 9, 10, 72], wordWrap: true });
  for (const step of report.steps) {
    steps.push([TURN_STEP_LABELS[step.step], MARK[step.status], step.status === 'skipped' ? '' : formatMs(step.durationMs), step.code ? `${step.detail} [${step.code}]` : step.detail]);
  }
  const summary = new Table({ style: PLAIN_STYLE, colWidths: [16, 91], wordWrap: true });
  summary.push(
    ['Verdict', report.passed ? 'all checks passed' : report.interrupted ? 'interrupted before every check ran' : `FAILED at ${TURN_STEP_LABELS[report.steps.find((step) => step.status === 'fail')?.step ?? 'reachability']}`],
    ['Server', `${report.server} as "${report.username}" (${report.credentialKind}${report.realm ? `, realm ${report.realm}` : ''})`],
  );
  if (report.relayed) summary.push(['Addresses', `local ${report.local}, server-reflexive ${report.mapped}, relayed ${report.relayed}, lifetime ${report.lifetimeSeconds} s`]);
  const rt = report.roundTrip;
  if (rt) {
    summary.push([
      'Round trip',
      `${rt.received}/${rt.sent} packets of ${rt.payloadBytes} B via ${rt.peer}` +
        (rt.rttMs ? `, RTT median ${formatMs(rt.rttMs.median)}, p95 ${formatMs(rt.rttMs.p95)}` : '') +
        `, ${rt.packetsPerSecond} packets/s`,
    ]);
  }
  return `${steps.toString()}\n${summary.toString()}\n`;
}
