import Table from 'cli-table3';
import type { TrialsReport } from './trials-report.js';
import { formatMs } from './format.js';
import type { TraversalOptions } from '../traversal/types.js';

const PLAIN_STYLE = { head: [] as string[], border: [] as string[] };

/** What each failure reason means, for people reading the summary (codes from src/ice/checklist.ts and the signaling errors). */
export const FAILURE_REASON_HINTS: Readonly<Record<string, string>> = {
  timeout: 'checks went unanswered: NAT filtering or a symmetric NAT on both sides; a TURN relay is needed',
  unreachable: 'the network reported the peer unreachable (ICMP): a firewall or no route',
  integrity: 'responses failed MESSAGE-INTEGRITY: credentials mismatched or a middlebox rewrote packets',
  'role-conflict': 'both peers kept claiming the same ICE role (487)',
  'non-symmetric': 'responses came from an address other than the one checked',
  'no-candidate-pairs': 'nothing to check: no usable remote candidate (none arrived, none could be used, or none shared an address family) and no check from the peer arrived',
  'not-nominated': 'a pair worked but none was nominated before the time bound',
  'overall-timeout': 'the session time bound expired before the checks finished; try a longer --timeout',
  'signaling-unreachable': 'the signaling server could not be reached',
  'trial-timeout': 'a session outlived its own timeout',
  'turn-pending': 'the TURN allocation had not finished when the session ended; a longer --timeout gives it time',
};

export function percent(ratio: number): string {
  return `${(ratio * 100).toFixed(ratio === 1 || ratio === 0 ? 0 : 1)}%`;
}

/** The human summary printed after the per-trial lines (and after the dashboard closes). */
export function renderTrialsTable(report: TrialsReport): string {
  const { summary, config } = report;
  const table = new Table({ style: PLAIN_STYLE, colWidths: [22, 66], wordWrap: true });
  const ci = summary.successRateCi95;
  const verdict = report.threshold.met ? 'threshold met' : 'BELOW THRESHOLD';
  table.push(
    ['Trials', `${summary.runs} of ${config.runs}${report.aborted ? ' (interrupted)' : ''}, concurrency ${config.concurrency}, ${config.mode} mode, ${formatMs(report.durationMs)} (${summary.trialsPerSecond} trials/s)`],
    ['Success rate', `${percent(summary.successRate)} (${summary.succeeded}/${summary.runs}), 95% CI ${percent(ci.low)}–${percent(ci.high)} · min ${percent(report.threshold.minSuccess)}: ${verdict}`],
    [
      'Time to connect',
      summary.timeToConnectMs
        ? `p50 ${formatMs(summary.timeToConnectMs.p50)} · p95 ${formatMs(summary.timeToConnectMs.p95)} · p99 ${formatMs(summary.timeToConnectMs.p99)} (min ${formatMs(summary.timeToConnectMs.min)}, max ${formatMs(summary.timeToConnectMs.max)})`
        : 'no trial connected',
    ],
    ...(summary.spentOnMs !== undefined
      ? [
          [
            '  spent on (p50)',
            `signaling ${formatMs(summary.spentOnMs.parameters)} · gathering ${formatMs(summary.spentOnMs.gathering)}${summary.spentOnMs.trialsWaitingForRelays > 0 ? ` (TURN allocations included in ${summary.spentOnMs.trialsWaitingForRelays} trial(s))` : ''} · checks ${formatMs(summary.spentOnMs.checks)} — counted from both peers joined`,
          ],
        ]
      : []),
    [
      'Selected pair types',
      summary.byPairType.length === 0 ? '—' : summary.byPairType.map((row) => `${row.pairType} ${row.trials} (${percent(row.share)})`).join(', '),
    ],
    ['By candidate type', (['host', 'srflx', 'prflx', 'relay'] as const).map((type) => `${type} ${summary.byCandidateType[type]}`).join(' · ')],
  );
  if (summary.pairChecks.length > 0) {
    table.push(['Pairs checked', summary.pairChecks.map((row) => `${row.pairType}: ${row.checked} checked, ${row.succeeded} succeeded, ${row.failed} failed`).join('\n')]);
  }
  if (config.traversal !== undefined) table.push(['Strategies', strategySettings(config.traversal)]);
  const traversal = summary.traversal;
  if (traversal !== undefined) {
    table.push(
      // Every path, in the summary's order (ice, predict, birthday, relay-udp, relay-tcp, relay-tls).
      ['Won by', Object.entries(traversal.wins).map(([path, trials]) => `${path} ${trials}`).join(' · ')],
      ['Plans', traversal.byTechnique.map((row) => `${row.technique} ${row.trials}`).join(' · ') || '—'],
      ['Traversal cost', `${traversal.probesSent} probes, ${traversal.socketsOpened} sockets over ${traversal.trials} trial(s), both peers`],
    );
  }
  table.push([
    'Failure reasons',
    summary.failureReasons.length === 0
      ? 'none'
      : summary.failureReasons.map((row) => `${row.reason} × ${row.count}${FAILURE_REASON_HINTS[row.reason] ? ` — ${FAILURE_REASON_HINTS[row.reason]}` : ''}`).join('\n'),
  ]);
  table.push(['Signaling', `${config.signalUrl}${config.builtInServers ? ' (built-in)' : ''}${config.stunServer ? ` · STUN ${config.stunServer.address}:${config.stunServer.port}` : ' · no STUN'}${config.turnServers?.length ? ` · TURN ${config.turnServers.join(', ')}${config.relayOnly ? ' (relay only)' : ''}` : ''}`]);
  return `${table.toString()}\n`;
}

/** "predict (window 50 × 2), birthday (256 sockets, budget 1024, allow random pair), relay-ladder · 200 probes/s". */
export function strategySettings(traversal: TraversalOptions): string {
  const parts = traversal.strategies.map((strategy) => {
    if (strategy === 'predict' && traversal.predict) return `predict (window ${traversal.predict.window ?? '?'} × ${traversal.predict.repeats ?? '?'})`;
    if (strategy === 'birthday' && traversal.birthday) {
      return `birthday (${traversal.birthday.sockets ?? '?'} sockets, budget ${traversal.birthday.budget ?? '?'}${traversal.birthday.allowRandomPair ? ', random pair allowed' : ''})`;
    }
    return strategy;
  });
  const rate = traversal.birthday?.ratePerSecond ?? traversal.predict?.ratePerSecond;
  return `${parts.join(', ')}${rate !== undefined ? ` · ${rate} probes/s` : ''}`;
}
