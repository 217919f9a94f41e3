/**
 * The matrix as cli-table3 tables: the grid (side A down, side B across; "3/3" direct trials
 * connected, "✗" marking a difference from theory), then one row per cell, then the differences.
 */
import Table from 'cli-table3';
import { formatMs } from './format.js';
import {
  cellAt,
  cellScore,
  comparedVariant,
  formatPercent,
  formatPoints,
  formatProbability,
  formatRelative,
  gridAxes,
  mixText,
  hasVariants,
  shortName,
  TYPE_SHORT_NAMES,
  type LabMatrixCellReport,
  type LabMatrixReport,
} from './lab-matrix-report.js';

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
  const base = `${grid.toString()}\n${legend}\n\n${cells.toString()}\n\n${summary}\n${differences}\n`;
  return hasVariants(report) ? `${base}\n${renderVariantsText(report)}` : base;
}

function variantOf(cell: LabMatrixCellReport, name: string): LabMatrixCellReport['variants'][number] | undefined {
  return cell.variants.find((v) => v.name === name);
}

/** One variant's grid (side A down, side B across), each cell's text from `text`; blank where the cell or variant is missing. */
function perVariantGrid(
  report: LabMatrixReport,
  name: string,
  corner: string,
  text: (cell: LabMatrixCellReport, variant: LabMatrixCellReport['variants'][number]) => string,
): string {
  const { rows, columns } = gridAxes(report);
  const grid = new Table({ style: PLAIN_STYLE, head: [corner, ...columns.map(shortName)] });
  for (const row of rows) {
    grid.push([
      shortName(row),
      ...columns.map((column) => {
        const cell = cellAt(report, row, column);
        const v = cell === undefined ? undefined : variantOf(cell, name);
        if (cell === undefined || v === undefined) return '';
        return cell.error !== null ? 'ERR' : text(cell, v);
      }),
    ]);
  }
  return grid.toString();
}

/** A variant's grid: k/n per cell, "R" where no technique reaches the pair. */
function variantGrid(report: LabMatrixReport, name: string): string {
  return perVariantGrid(report, name, `${name}: A \\ B`, (cell, v) => `${v.succeeded}/${v.runs}${v.strategies.length > 0 && cell.relayOnly !== null ? ' R' : ''}`);
}

/** Uplift of `name` over ice per cell, in points. */
function upliftGrid(report: LabMatrixReport, name: string): string {
  return perVariantGrid(report, name, `${name} − ice`, (_cell, v) => (v.uplift == null ? '' : formatPoints(v.uplift.points).replace(' pp', '')));
}

function planText(plan: LabMatrixCellReport['variants'][number]['plan']): string {
  return `${plan.technique}${plan.probability !== null ? ` (P≈${formatProbability(plan.probability)})` : ''}`;
}

/**
 * `--strategy` beyond plain ICE: a grid per variant, the uplift grid of the last variant over
 * ice, one row per cell and variant (success, uplift, p50, probes and sockets per trial, plan),
 * the cells no technique reaches with the reason, and the realistic mix beside the claim.
 */
export function renderVariantsText(report: LabMatrixReport): string {
  const names = report.config.variants.map((v) => v.name);
  const hasIce = names.includes('ice');
  const compared = comparedVariant(report);
  const parts: string[] = [`strategy variants: ${names.join(', ')} (theory judges ${report.config.baseline} exactly; a strategy variant must not lose a trial plain ICE wins)`];
  for (const name of names) parts.push(variantGrid(report, name));
  if (hasIce && compared !== 'ice') parts.push(`${upliftGrid(report, compared)}\nuplift of ${compared} over ice per cell, percentage points`);
  const rows = new Table({ style: { ...PLAIN_STYLE, compact: true }, head: ['cell', 'variant', 'ok', 'uplift', 'ttc p50', 'probes', 'sockets', 'plan'] });
  for (const cell of report.cells) {
    for (const v of cell.variants) {
      rows.push([
        cell.id,
        v.name,
        cell.error !== null ? 'ERR' : `${v.succeeded}/${v.runs}`,
        v.uplift === null ? '—' : `${formatPoints(v.uplift.points)} (${formatRelative(v.uplift.relative)})`,
        v.timeToConnectMs.p50 !== null ? formatMs(v.timeToConnectMs.p50) : '—',
        String(v.probesPerTrialP50),
        String(v.socketsPerTrialP50),
        v.strategies.length === 0 ? '—' : planText(v.plan),
      ]);
    }
  }
  parts.push(rows.toString());
  const mapped = report.cells.flatMap((cell) => cell.variants.filter((v) => v.portmap !== undefined).map((v) => ({ cell, v, tally: v.portmap! })));
  if (mapped.length > 0) {
    parts.push(
      `portmap (gateway mappings over the trials, both sides: mapped/asked, advertised, deleted, p50 time to map):\n${mapped
        .map(
          ({ cell, v, tally }) =>
            `  ${cell.id} ${v.name}: ${tally.mapped}/${tally.asked} mapped, ${tally.advertised} advertised, ${tally.deleted} deleted${tally.mapMsP50 !== undefined ? `, ${formatMs(tally.mapMsP50)}` : ''}${tally.commonestError !== undefined ? ` · unmapped: ${tally.commonestError}` : ''}`,
        )
        .join('\n')}`,
    );
  }
  const relayOnly = report.cells.filter((c) => c.relayOnly !== null);
  parts.push(
    relayOnly.length === 0
      ? 'relay-only: none (some technique reaches every cell)'
      : `relay-only (no technique reaches the pair):\n${relayOnly.map((c) => `  ${c.id}: ${c.relayOnly!.reason}${c.relayOnly!.probability !== null ? ` (P≈${formatProbability(c.relayOnly!.probability)})` : ''}`).join('\n')}`,
  );
  const plans = report.cells.flatMap((c) => {
    const v = c.variants.filter((x) => x.strategies.length > 0).at(-1);
    // Cells plain ICE connects, or without a plan, need no line.
    return v === undefined || c.relayOnly !== null || v.plan.technique === 'unknown' || v.plan.technique === 'ice' ? [] : [`  ${c.id} (${v.name}): ${v.plan.technique} — ${v.plan.reason}`];
  });
  if (plans.length > 0) parts.push(`plans (side A's view):\n${plans.join('\n')}`);
  const mix = mixText(report);
  if (mix !== undefined) parts.push(mix);
  return `${parts.join('\n\n')}\n`;
}
