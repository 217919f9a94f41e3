import type { LifetimeBracket } from '../nat/lifetime-plan.js';
import type { LifetimeReport } from './detect-report.js';

const s = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** "19.1 s ± 1.1 s (alive after 18.0 s, gone after 20.2 s)" — one wording for table, lines and Ink. */
export function describeBracket(bracket: LifetimeBracket, maxMs?: number): string {
  switch (bracket.status) {
    case 'measured':
      return `${s(bracket.estimateMs)} ± ${s(bracket.resolutionMs)} (alive after ${s(bracket.lowerMs)} of silence, gone after ${s(bracket.upperMs)})`;
    case 'above-max':
      return `at least ${s(bracket.lowerMs)} (every mapping tested survived${maxMs !== undefined ? `; raise --lifetime-max above ${s(maxMs)}` : ''})`;
    case 'below-min':
      return `under ${s(bracket.upperMs)} (even the shortest wait lost the mapping)`;
    case 'no-tests':
      return 'not measured (no mapping could be made or tested)';
  }
}

/** Rows (label, text) for the lifetime part of a detect report. */
export function lifetimeRows(report: LifetimeReport): Array<[string, string]> {
  if (report.status === 'failed') return [['Mapping lifetime', `not measured: ${report.error}`]];
  const rows: Array<[string, string]> = [];
  for (const result of report.results) {
    const label = result.case === 'one-way' ? 'Lifetime, one-way' : 'Lifetime, two-way';
    rows.push([label, describeBracket(result.bracket, report.maxMs)]);
    if (result.keepalive) rows.push([`Keepalive (${result.case})`, result.keepalive.text]);
  }
  rows.push(['Lifetime search', `${report.search}, against ${report.server}: ${report.mappings} mappings, ${report.packetsSent} packets, ${s(report.durationMs)}${report.interrupted ? ' (interrupted)' : ''}`]);
  return rows;
}
