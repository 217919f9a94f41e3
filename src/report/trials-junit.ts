/**
 * `trials --junit FILE`: JUnit XML, the format CI systems (GitLab, Jenkins, GitHub test
 * reporters) read. One <testcase> per trial; a failed trial carries <failure> with its reason.
 * The summary figures ride along as <properties>, so they show up in CI without the JSON.
 */
import type { TrialsReport } from './trials-report.js';

/** XML 1.0 §2.4 and §2.2: escape markup, and drop characters XML cannot carry at all. */
export function escapeXml(text: string): string {
  return text
    .replace(/[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

const seconds = (ms: number): string => (ms / 1000).toFixed(3);

export function renderTrialsJunit(report: TrialsReport): string {
  const { summary } = report;
  const suiteName = `nat-probe trials (${report.config.mode}, ${report.config.runs} runs)`;
  const properties: Array<[string, string]> = [
    ['schema', report.schema],
    ['successRate', String(summary.successRate)],
    ['successRateCi95Low', String(summary.successRateCi95.low)],
    ['successRateCi95High', String(summary.successRateCi95.high)],
    ['minSuccess', String(report.threshold.minSuccess)],
    ['thresholdMet', String(report.threshold.met)],
  ];
  if (summary.timeToConnectMs) {
    properties.push(['timeToConnectP50Ms', String(summary.timeToConnectMs.p50)], ['timeToConnectP95Ms', String(summary.timeToConnectMs.p95)], ['timeToConnectP99Ms', String(summary.timeToConnectMs.p99)]);
  }
  if (report.config.traversal !== undefined) properties.push(['strategies', report.config.traversal.strategies.join(',')]);
  if (summary.traversal) {
    // One property per path (traversalWins.birthday = 5), so CI can chart each strategy's rescues.
    for (const [path, trials] of Object.entries(summary.traversal.wins)) properties.push([`traversalWins.${path}`, String(trials)]);
    properties.push(['traversalProbesSent', String(summary.traversal.probesSent)], ['traversalSocketsOpened', String(summary.traversal.socketsOpened)]);
  }
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="nat-probe" tests="${summary.runs}" failures="${summary.failed}" errors="0" time="${seconds(report.durationMs)}">`,
    `  <testsuite name="${escapeXml(suiteName)}" tests="${summary.runs}" failures="${summary.failed}" errors="0" skipped="0" time="${seconds(report.durationMs)}" timestamp="${escapeXml(report.startedAt)}">`,
    '    <properties>',
    ...properties.map(([name, value]) => `      <property name="${escapeXml(name)}" value="${escapeXml(value)}"/>`),
    '    </properties>',
  ];
  for (const trial of report.trials) {
    const name = `trial ${trial.trial}${trial.connected && trial.pairType ? ` ${trial.pairType}` : ''}`;
    const open = `    <testcase classname="nat-probe.trials" name="${escapeXml(name)}" time="${seconds(trial.durationMs)}"`;
    if (trial.connected) {
      lines.push(`${open}/>`);
      continue;
    }
    const reason = trial.failureReason ?? 'unknown';
    const detail = [
      `room ${trial.room}`,
      ...trial.peers.map((peer, i) => `peer ${i + 1}${peer.role ? ` (${peer.role})` : ''}: ${peer.state}${peer.error ? ` — ${peer.error}` : ''}`),
      ...(trial.traversal
        ? [`traversal: plan ${trial.traversal.plan.technique} — ${trial.traversal.plan.reason}; ${trial.traversal.probesSent} probes, ${trial.traversal.socketsOpened} sockets`]
        : []),
      ...trial.pairs.map((pair) => `${pair.localType}/${pair.remoteType} ${pair.local} → ${pair.remote}: ${pair.state}, ${pair.attempts} attempt(s)${pair.failureReason ? `, ${pair.failureReason}` : ''}${pair.failureDetail ? ` (${pair.failureDetail})` : ''}`),
    ].join('\n');
    lines.push(`${open}>`, `      <failure message="${escapeXml(reason)}" type="${escapeXml(reason)}">${escapeXml(detail)}</failure>`, '    </testcase>');
  }
  lines.push('  </testsuite>', '</testsuites>', '');
  return lines.join('\n');
}
