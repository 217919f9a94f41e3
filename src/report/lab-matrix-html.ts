/**
 * The matrix as ONE self-contained HTML file: inline CSS and SVG, no script, and a Content
 * Security Policy of `default-src 'none'`, so opening it never fetches anything. Sections: the
 * success heatmap (measured) beside theory, the differences, time-to-connect distributions per
 * cell, and the detect verdicts per side. Elements carry `data-*` attributes so the browser test
 * (test/e2e/lab-html-chromium.test.ts) can find them.
 */
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
  hasVariants,
  shortName,
  TYPE_SHORT_NAMES,
  type LabMatrixCellReport,
  type LabMatrixDetectReport,
  type LabMatrixReport,
} from './lab-matrix-report.js';

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** 0 → red, 1 → green, through amber; readable with the cell's dark text. */
export function heatColour(rate: number): string {
  const hue = Math.round(Math.max(0, Math.min(1, rate)) * 120);
  return `hsl(${hue} 65% 62%)`;
}

/** Uplift in percentage points: white at 0, greener up to +100, redder down to −100. */
export function upliftColour(points: number): string {
  const f = Math.max(-1, Math.min(1, points / 100));
  if (f === 0) return '#f6f8fa';
  const lightness = Math.round(95 - 35 * Math.abs(f));
  return f > 0 ? `hsl(120 55% ${lightness}%)` : `hsl(0 65% ${lightness}%)`;
}

const STYLE = `
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#1b1f24;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.meta{color:#57606a}.ok{color:#1a7f37}.bad{color:#cf222e;font-weight:600}
.grids{display:flex;flex-wrap:wrap;gap:32px}
table{border-collapse:collapse}
table.grid td,table.grid th{width:58px;height:42px;text-align:center;border:1px solid #d0d7de;font-size:13px}
table.grid th{background:#f6f8fa;font-weight:600}
table.grid td.cell{font-weight:600}
table.grid td.mismatch{outline:3px solid #cf222e;outline-offset:-3px}
table.grid td.empty{background:#f6f8fa}
table.grid td.vcell,table.grid td.ucell{font-weight:600}
table.grid td.relay-only{outline:2px dashed #57606a;outline-offset:-4px}
table.list td,table.list th{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top;font-size:13px}
table.list th{background:#f6f8fa}
.legend{color:#57606a;font-size:12px;margin-top:6px}
.swatch{display:inline-block;width:12px;height:12px;vertical-align:middle;border:1px solid #999;margin:0 2px 0 8px}
ul.diff li{margin:2px 0}
svg text{font:11px system-ui,sans-serif;fill:#57606a}
`;

function gridTable(report: LabMatrixReport, kind: 'measured' | 'theory'): string {
  const { rows, columns } = gridAxes(report);
  const corner = report.config.cgn !== null ? `A@${shortName(report.config.cgn)} \\ B` : 'A \\ B';
  const head = `<tr><th>${escapeHtml(corner)}</th>${columns.map((c) => `<th title="${escapeHtml(c)}">${escapeHtml(shortName(c))}</th>`).join('')}</tr>`;
  const body = rows
    .map((row) => {
      const tds = columns.map((column) => {
        const cell = cellAt(report, row, column);
        if (cell === undefined) return '<td class="empty"></td>';
        if (kind === 'theory') {
          const yes = cell.theory.direct;
          return `<td class="theory" data-theory="${cell.id}" style="background:${heatColour(yes ? 1 : 0)}" title="${escapeHtml(`${cell.id}: theory ${yes ? 'direct works' : 'needs a relay'}`)}">${yes ? 'direct' : 'relay'}</td>`;
        }
        const rate = cell.error !== null ? 0 : cell.direct.successRate;
        const title = `${cell.id}: direct ${cell.direct.succeeded}/${cell.direct.runs}, theory ${cell.theory.direct ? 'direct' : 'relay only'}${cell.mismatch ? ` — ${cell.problems.join('; ')}` : ''}`;
        return `<td class="cell${cell.mismatch ? ' mismatch' : ''}" data-cell="${escapeHtml(cell.id)}" data-rate="${rate}" data-mismatch="${cell.mismatch}" style="background:${cell.error !== null ? '#d0d7de' : heatColour(rate)}" title="${escapeHtml(title)}">${escapeHtml(cellScore(cell))}</td>`;
      });
      return `<tr><th title="${escapeHtml(row)}">${escapeHtml(shortName(row))}</th>${tds.join('')}</tr>`;
    })
    .join('\n');
  return `<table class="grid" data-grid="${kind}">${head}\n${body}</table>`;
}

const SVG_WIDTH = 560;
const LABEL_WIDTH = 230;
const ROW_HEIGHT = 18;

/** One row per cell: a dot per connected trial on a shared time axis, and a tick at p50. */
function distributions(report: LabMatrixReport): string {
  const cells = report.cells.filter((c) => c.direct.timeToConnectMs.samples.length > 0 || (c.relay?.timeToConnectMs.samples.length ?? 0) > 0);
  if (cells.length === 0) return '<p data-distributions="none">No trial connected, so there is no time to connect to show.</p>';
  const all = cells.flatMap((c) => [...c.direct.timeToConnectMs.samples, ...(c.relay?.timeToConnectMs.samples ?? [])]);
  const max = Math.max(1, ...all);
  const plotWidth = SVG_WIDTH - LABEL_WIDTH - 20;
  const x = (ms: number): number => LABEL_WIDTH + (ms / max) * plotWidth;
  const rows = cells.map((c, i) => {
    const y = 20 + i * ROW_HEIGHT;
    const dots = (samples: readonly number[], colour: string, kind: string): string =>
      samples.map((ms) => `<circle data-sample="${kind}" cx="${x(ms).toFixed(1)}" cy="${y}" r="4" fill="${colour}" fill-opacity="0.7"><title>${escapeHtml(`${c.id} ${kind}: ${formatMs(ms)}`)}</title></circle>`).join('');
    const p50 = c.direct.timeToConnectMs.p50;
    const tick = p50 === null ? '' : `<line x1="${x(p50).toFixed(1)}" x2="${x(p50).toFixed(1)}" y1="${y - 7}" y2="${y + 7}" stroke="#1b1f24" stroke-width="2"/>`;
    return `<g data-distribution="${escapeHtml(c.id)}"><text x="0" y="${y + 4}">${escapeHtml(c.id)}</text><line x1="${LABEL_WIDTH}" x2="${LABEL_WIDTH + plotWidth}" y1="${y}" y2="${y}" stroke="#eaeef2"/>${tick}${dots(c.direct.timeToConnectMs.samples, '#0969da', 'direct')}${dots(c.relay?.timeToConnectMs.samples ?? [], '#8250df', 'relay')}</g>`;
  });
  const height = 40 + cells.length * ROW_HEIGHT;
  const axisY = height - 12;
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => `<text x="${x(f * max).toFixed(1)}" y="${axisY}" text-anchor="middle">${escapeHtml(formatMs(f * max))}</text>`).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${SVG_WIDTH}" height="${height}" viewBox="0 0 ${SVG_WIDTH} ${height}" role="img" aria-label="time to connect per cell">${rows.join('')}${ticks}</svg>
<div class="legend"><span class="swatch" style="background:#0969da"></span>direct trial <span class="swatch" style="background:#8250df"></span>relayed trial <span class="swatch" style="background:#1b1f24"></span>direct p50</div>`;
}

function verdictText(d: LabMatrixDetectReport): string {
  const got = d.classicName === null ? 'no verdict' : `${d.classicName} (${d.mapping ?? '?'} / ${d.filtering ?? '?'}${d.portAllocation !== null ? `, ports ${d.portAllocation}` : ''})`;
  return d.correct ? `<span class="ok">${escapeHtml(got)}</span>` : `<span class="bad">${escapeHtml(got)}</span><br>expected ${escapeHtml(`${d.expected.classicName} (${d.expected.mapping} / ${d.expected.filtering})`)}`;
}

function detectTable(report: LabMatrixReport): string {
  const rows = report.cells.map(
    (c: LabMatrixCellReport) =>
      `<tr data-detect="${escapeHtml(c.id)}"><td>${escapeHtml(c.id)}</td><td>${escapeHtml(c.a)}${c.cgn !== null ? ` behind ${escapeHtml(c.cgn)}` : ''}</td><td>${verdictText(c.detect.a)}</td><td>${escapeHtml(c.b)}</td><td>${verdictText(c.detect.b)}</td></tr>`,
  );
  return `<table class="list"><tr><th>cell</th><th>side A built</th><th>detect on A</th><th>side B built</th><th>detect on B</th></tr>${rows.join('\n')}</table>`;
}

function cellTable(report: LabMatrixReport): string {
  const rows = report.cells.map((c) => {
    const ttc = c.direct.timeToConnectMs;
    return `<tr><td>${escapeHtml(c.id)}</td><td>${c.theory.direct ? 'direct' : 'relay only'}</td><td>${c.error !== null ? 'did not run' : `${c.direct.succeeded}/${c.direct.runs}`}</td><td>${escapeHtml(c.direct.pairTypes.map((p) => `${p.pairType} ×${p.count}`).join(', ') || '—')}</td><td>${ttc.p50 !== null ? escapeHtml(formatMs(ttc.p50)) : '—'}</td><td>${escapeHtml(ttc.samples.map((ms) => formatMs(ms)).join(', ') || '—')}</td><td>${c.relay === null ? '—' : `${c.relay.succeeded}/${c.relay.runs}`}</td><td>${escapeHtml(c.direct.failureReasons.map((r) => `${r.reason} ×${r.count}`).join(', ') || '—')}</td><td>${c.mismatch ? '<span class="bad">differs</span>' : '<span class="ok">as theory</span>'}</td></tr>`;
  });
  return `<table class="list"><tr><th>cell</th><th>theory</th><th>direct</th><th>pair types</th><th>ttc p50</th><th>ttc samples</th><th>relay</th><th>failures</th><th>match</th></tr>${rows.join('\n')}</table>`;
}

function variantGrid(report: LabMatrixReport, name: string): string {
  const { rows, columns } = gridAxes(report);
  const head = `<tr><th>${escapeHtml(name)}</th>${columns.map((c) => `<th title="${escapeHtml(c)}">${escapeHtml(shortName(c))}</th>`).join('')}</tr>`;
  const body = rows
    .map((row) => {
      const tds = columns.map((column) => {
        const cell = cellAt(report, row, column);
        const v = cell?.variants.find((x) => x.name === name);
        if (cell === undefined || v === undefined) return '<td class="empty"></td>';
        const relayOnly = v.strategies.length > 0 && cell.relayOnly !== null;
        const rate = cell.error !== null ? 0 : v.successRate;
        const title = `${cell.id} ${name}: ${v.succeeded}/${v.runs}${v.uplift !== null ? `, ${formatPoints(v.uplift.points)} vs ice` : ''}${v.strategies.length > 0 ? `; plan ${v.plan.technique}: ${v.plan.reason}${v.plan.probability !== null ? ` (P≈${formatProbability(v.plan.probability)})` : ''}` : ''}`;
        const text = cell.error !== null ? 'ERR' : `${v.succeeded}/${v.runs}${relayOnly ? ' R' : ''}`;
        return `<td class="vcell${relayOnly ? ' relay-only' : ''}" data-variant="${escapeHtml(name)}" data-cell="${escapeHtml(cell.id)}" data-rate="${rate}" data-relay-only="${relayOnly}" style="background:${cell.error !== null ? '#d0d7de' : heatColour(rate)}" title="${escapeHtml(title)}">${escapeHtml(text)}</td>`;
      });
      return `<tr><th title="${escapeHtml(row)}">${escapeHtml(shortName(row))}</th>${tds.join('')}</tr>`;
    })
    .join('\n');
  return `<table class="grid" data-grid="variant" data-variant="${escapeHtml(name)}">${head}\n${body}</table>`;
}

function upliftGrid(report: LabMatrixReport, name: string): string {
  const { rows, columns } = gridAxes(report);
  const head = `<tr><th>${escapeHtml(`${name} − ice`)}</th>${columns.map((c) => `<th title="${escapeHtml(c)}">${escapeHtml(shortName(c))}</th>`).join('')}</tr>`;
  const body = rows
    .map((row) => {
      const tds = columns.map((column) => {
        const cell = cellAt(report, row, column);
        const v = cell?.variants.find((x) => x.name === name);
        if (cell === undefined || v === undefined || v.uplift === null || cell.error !== null) return '<td class="empty"></td>';
        const title = `${cell.id}: ${name} ${v.succeeded}/${v.runs}, ${formatPoints(v.uplift.points)} (${formatRelative(v.uplift.relative)}) over ice`;
        return `<td class="ucell" data-cell="${escapeHtml(cell.id)}" data-uplift="${v.uplift.points}" style="background:${upliftColour(v.uplift.points)}" title="${escapeHtml(title)}">${escapeHtml(formatPoints(v.uplift.points).replace(' pp', ''))}</td>`;
      });
      return `<tr><th title="${escapeHtml(row)}">${escapeHtml(shortName(row))}</th>${tds.join('')}</tr>`;
    })
    .join('\n');
  return `<table class="grid" data-grid="uplift" data-variant="${escapeHtml(name)}">${head}\n${body}</table>`;
}

function variantTable(report: LabMatrixReport): string {
  const rows = report.cells.flatMap((c) =>
    c.variants.map(
      (v) =>
        `<tr data-variant-row="${escapeHtml(`${c.id} ${v.name}`)}"><td>${escapeHtml(c.id)}</td><td>${escapeHtml(v.name)}</td><td>${c.error !== null ? 'did not run' : `${v.succeeded}/${v.runs}`}</td><td>${v.uplift === null ? '—' : escapeHtml(`${formatPoints(v.uplift.points)} (${formatRelative(v.uplift.relative)})`)}</td><td>${v.timeToConnectMs.p50 !== null ? escapeHtml(formatMs(v.timeToConnectMs.p50)) : '—'}</td><td>${v.probesPerTrialP50}</td><td>${v.socketsPerTrialP50}</td><td>${v.strategies.length === 0 ? '—' : escapeHtml(v.plan.technique)}</td><td>${v.strategies.length === 0 ? '—' : escapeHtml(v.plan.reason)}</td><td>${v.strategies.length === 0 || v.plan.probability === null ? '—' : escapeHtml(formatProbability(v.plan.probability))}</td><td>${escapeHtml(v.winners.map((w) => `${w.winner} ×${w.count}`).join(', ') || '—')}</td></tr>`,
    ),
  );
  return `<table class="list"><tr><th>cell</th><th>variant</th><th>connected</th><th>uplift vs ice</th><th>ttc p50</th><th>probes/trial</th><th>sockets/trial</th><th>plan</th><th>reason (side A's view)</th><th>P</th><th>winner</th></tr>${rows.join('\n')}</table>`;
}

function mixHtml(report: LabMatrixReport): string {
  const mix = report.mix;
  if (mix === null) return '<p data-mix="none">No realistic mix: with a CGN the cells are ordered, composed types that the distribution does not describe.</p>';
  const variants = mix.variants.map((v) => `<li data-mix-variant="${escapeHtml(v.name)}" data-success="${v.success}"><b>${escapeHtml(v.name)}</b> ${escapeHtml(formatPercent(v.success))}${v.relativeUplift !== null ? ` (${escapeHtml(formatRelative(v.relativeUplift))} over ice)` : ''}</li>`).join('');
  const claimed = `${formatRelative(mix.claimed.relative)} (${formatPercent(mix.claimed.from)} → ${formatPercent(mix.claimed.to)})`;
  const ours = mix.allOverIce === null ? 'run --strategy ice,all to compare' : `${formatRelative(mix.allOverIce.relative)} (${formatPercent(mix.allOverIce.ice)} → ${formatPercent(mix.allOverIce.all)})`;
  return `<div data-mix="${mix.distribution.id === '' ? 'unnamed' : escapeHtml(mix.distribution.id)}"><p>Cells weighted by ${escapeHtml(mix.distribution.citation)}. Mapping onto the lab's types: ${escapeHtml(mix.distribution.mapping)}. The measured cells cover ${escapeHtml(formatPercent(mix.coverage))} of the population's pairs.</p><ul>${variants}</ul><p><b>all over ice:</b> ${escapeHtml(ours)} · <b>claimed</b> by the system this project comes from: ${escapeHtml(claimed)}</p></div>`;
}

function variantsSection(report: LabMatrixReport): string {
  const names = report.config.variants.map((v) => v.name);
  const compared = comparedVariant(report);
  const grids = names.map((name) => `<div><b>${escapeHtml(name)}</b>${variantGrid(report, name)}</div>`).join('');
  const uplift = names.includes('ice') && compared !== 'ice' ? `<div><b>Uplift</b> (${escapeHtml(compared)} − ice, points)${upliftGrid(report, compared)}</div>` : '';
  const relayOnly = report.cells.filter((c) => c.relayOnly !== null);
  const relayList =
    relayOnly.length === 0
      ? '<p data-relay-only="0">Some technique reaches every cell.</p>'
      : `<ul class="diff" data-relay-only="${relayOnly.length}">${relayOnly.map((c) => `<li><b>${escapeHtml(c.id)}</b>: relay-only — ${escapeHtml(c.relayOnly!.reason)}${c.relayOnly!.probability !== null ? ` (P≈${escapeHtml(formatProbability(c.relayOnly!.probability))})` : ''}</li>`).join('')}</ul>`;
  return `<h2>Strategy variants: ${escapeHtml(names.join(', '))}</h2>
<div class="grids">${grids}${uplift}</div>
<p class="legend">Each variant ran ${report.config.runs} direct trial(s) per cell, trial by trial beside the others. Colour: share connected, red 0% to green 100%; uplift white at 0, green up, red down. R and a dashed outline: no technique reaches the pair (relay-only).</p>
<h3>Relay-only cells</h3>
${relayList}
<h3>Realistic mix</h3>
${mixHtml(report)}
<h3>Per cell and variant</h3>
${variantTable(report)}`;
}

export function renderLabMatrixHtml(report: LabMatrixReport): string {
  const s = report.summary;
  const headline =
    report.exitCode === 0
      ? `<p class="ok" data-verdict="match">Measured matches theory in all ${s.ran} cells, and every detect verdict is right.</p>`
      : `<p class="bad" data-verdict="differs">${s.mismatched} of ${s.ran} cells differ from theory or had a wrong detect verdict${s.aborted ? '; the run was interrupted' : ''}.</p>`;
  const differences =
    report.differences.length === 0
      ? '<p data-differences="0">None: every cell went the way the hole-punching theory says.</p>'
      : `<ul class="diff" data-differences="${report.differences.length}">${report.differences.map((d) => `<li><b>${escapeHtml(d.id)}</b>: ${escapeHtml(d.problems.join('; '))}</li>`).join('')}</ul>`;
  const config = report.config;
  const legend = Object.entries(TYPE_SHORT_NAMES)
    .map(([type, short]) => `${escapeHtml(short)} = ${escapeHtml(type)}`)
    .join(' · ');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>nat-probe lab matrix</title>
<style>${STYLE}</style></head>
<body>
<h1>nat-probe lab matrix</h1>
<p class="meta">${escapeHtml(`${report.startedAt} · ${formatMs(report.durationMs)} · types ${config.types.join(', ')}${config.cgn !== null ? ` · side A behind a ${config.cgn} CGN` : ''} · ${config.runs} trial(s) per cell${config.turn ? ' + relay-only trials' : ''}${config.lossPercent > 0 ? ` · ${config.lossPercent}% loss` : ''}${(config.delayMs ?? 0) > 0 ? ` · ${config.delayMs} ms delay${(config.jitterMs ?? 0) > 0 ? ` ± ${config.jitterMs} ms` : ''} per client hop` : ''} · nat-probe ${report.tool.version}`)}</p>
${headline}
<h2>Direct success: measured and theory</h2>
<div class="grids"><div><b>Measured</b> (direct trials connected)${gridTable(report, 'measured')}</div><div><b>Theory</b> (RFC 4787 hole punching)${gridTable(report, 'theory')}</div></div>
<p class="legend">${legend}. Colour: share of direct trials connected, red 0% to green 100%. A red outline marks a cell that differs from theory or where detect was wrong.</p>
<h2>Theory vs measured: differences</h2>
${differences}
${hasVariants(report) ? `${variantsSection(report)}\n` : ''}<h2>Time to connect</h2>
${distributions(report)}
<h2>Cells</h2>
${cellTable(report)}
<h2>Detect verdicts</h2>
${detectTable(report)}
</body></html>
`;
}
