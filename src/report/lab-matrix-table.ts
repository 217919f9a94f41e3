/**
 * The matrix as cli-table3 tables: the grid (side A down, side B across; "3/3" direct trials
 * connected, "✗" marking a difference from theory), then one row per cell, then the differences.
 */
import Table from 'cli-table3';
import { formatMs } from './format.js';
import { cellAt, cellScore, gridAxes, shortName, TYPE_SHORT_NAMES, type LabMatrixCellReport, type LabMatrixReport } from './lab-matrix-report.js';

const PLAIN_STYLE = { head: [] as string[], border: [] as string[] };

function gridText(cell: LabMatrixCellReport | undefined): string {
  if (cell === undefined) return '';
  return `${cellScore(cell)}${cell.mismatch ? ' ✗' : ''}`;
}

function detectText(cell: LabMatrixCellReport): string {
  const side = (d: LabMatrixCellReport['detect']['a']): string => `${d.classicName ?? 'no verdict'}${d.correct ? '' : ` ✗ (expected ${d.expected.classicName})`}`;
  return `A ${side(cell.detect.a)}\nB ${side(cell.detect.b)}`;
}

export function renderLabMatrixTable(report: LabMatrixReport): string {
  const { rows, columns } = gridAxes(report);
  const grid = new Table({ style: PLAIN_STYLE, head: [report.config.cgn !== null ? `A@${shortName(report.config.cgn)} \\ B` : 'A \\ B', ...columns.map(shortName)] });
  for (const row of rows) grid.push([shortName(row), ...columns.map((column) => gridText(cellAt(report, row, column)))]);

  const cells = new Table({ style: PLAIN_STYLE, head: ['cell', 'theory', 'direct', 'pair type', 'ttc p50', 'relay', 'detect', 'match'] });
  for (const cell of report.cells) {
    cells.push([
      cell.id,
      cell.theory.direct ? 'direct' : 'relay only',
      cell.error !== null ? 'ERR' : `${cell.direct.succeeded}/${cell.direct.runs}`,
      cell.direct.pairTypes.map((p) => p.pairType).join(', ') || '—',
      cell.direct.timeToConnectMs.p50 !== null ? formatMs(cell.direct.timeToConnectMs.p50) : '—',
      cell.relay === null ? '—' : `${cell.relay.succeeded}/${cell.relay.runs}${cell.relay.timeToConnectMs.p50 !== null ? ` (p50 ${formatMs(cell.relay.timeToConnectMs.p50)})` : ''}`,
      detectText(cell),
      cell.mismatch ? 'NO' : 'yes',
    ]);
  }
  const legend = `legend: ${Object.entries(TYPE_SHORT_NAMES).map(([type, short]) => `${short}=${type}`).join(' ')}; "k/n" direct trials connected${report.config.turn ? ', "rk/n" relayed' : ''}; ✗ differs from theory or detect was wrong`;
  const s = report.summary;
  const summary = `${s.ran}/${s.planned} cells${s.aborted ? ' (interrupted)' : ''} in ${formatMs(report.durationMs)}: ${s.matching} as theory, ${s.mismatched} different, ${s.detectWrong} wrong detect verdict(s)`;
  const differences = report.differences.length === 0 ? 'measured matches theory in every cell' : report.differences.map((d) => `${d.id}: ${d.problems.join('; ')}`).join('\n');
  return `${grid.toString()}\n${legend}\n\n${cells.toString()}\n\n${summary}\n${differences}\n`;
}
