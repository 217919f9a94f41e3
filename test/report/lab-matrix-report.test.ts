/**
 * Rendering the matrix: the JSON document, the cli-table3 grid, the progress lines, the
 * self-contained HTML, and the live grid's reducer and Ink view.
 */
import { render } from 'ink-testing-library';
import { createElement } from 'react';
import { describe, expect, it } from 'vitest';
import type { LabMatrixEvent } from '../../src/events.js';
import { buildLabMatrixReport, cellAt, LAB_MATRIX_SCHEMA } from '../../src/report/lab-matrix-report.js';
import { escapeHtml, heatColour, renderLabMatrixHtml } from '../../src/report/lab-matrix-html.js';
import { formatLabMatrixEventLine } from '../../src/report/lab-matrix-lines.js';
import { renderLabMatrixTable } from '../../src/report/lab-matrix-table.js';
import { LabMatrixView } from '../../src/ui/LabMatrixView.js';
import { initialLabMatrixState, liveCellAt, reduceLabMatrixEvent, withLabMatrixReport } from '../../src/ui/lab-matrix-state.js';
import { sampleMatrix, trials } from '../lab/matrix-fixtures.js';

const TYPES = ['none', 'port-restricted', 'restricted', 'symmetric'] as const;

describe('lab matrix JSON report', () => {
  it('is a versioned document with every cell, theory beside measured, and exit code 0 when all match', () => {
    const report = buildLabMatrixReport(sampleMatrix([...TYPES]), { version: '9.9.9' });
    expect(report.schema).toBe(LAB_MATRIX_SCHEMA);
    expect(report.schema).toBe('nat-probe.lab-matrix/v2');
    expect(report.tool).toEqual({ name: 'nat-probe', version: '9.9.9' });
    expect(report.durationMs).toBe(61234.6);
    expect(report.config).toEqual({ types: [...TYPES], cgn: null, runs: 3, turn: false, lossPercent: 0, concurrency: 3, variants: [{ name: 'ice', strategies: [] }], baseline: 'ice' });
    expect(report.cells).toHaveLength(10);
    expect(report.summary).toEqual({ planned: 10, ran: 10, matching: 10, mismatched: 0, detectWrong: 0, aborted: false, relayOnly: 0 });
    expect(report.differences).toEqual([]);
    expect(report.exitCode).toBe(0);
    const pr = report.cells.find((c) => c.id === 'port-restricted~port-restricted')!;
    expect(pr.theory).toEqual({ direct: true, relay: null });
    expect(pr.direct).toMatchObject({ runs: 3, succeeded: 3, successRate: 1, timeToConnectMs: { p50: 1020, samples: [1010, 1020, 1030] } });
    expect(pr.detect.a).toMatchObject({ classicName: 'port-restricted-cone', correct: true, expected: { classicName: 'port-restricted-cone' } });
    const ss = report.cells.find((c) => c.id === 'port-restricted~symmetric')!;
    expect(ss).toMatchObject({ theory: { direct: false }, direct: { succeeded: 0, timeToConnectMs: { p50: null, samples: [] } }, mismatch: false });
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
  });

  it('lists the differences from theory and exits 1', () => {
    const result = sampleMatrix([...TYPES], {
      override: (plan) => (plan.id === 'port-restricted~symmetric' ? { direct: trials(3, 1) } : undefined),
    });
    const report = buildLabMatrixReport(result, { version: '0' });
    expect(report.exitCode).toBe(1);
    expect(report.summary).toMatchObject({ matching: 9, mismatched: 1 });
    expect(report.differences).toEqual([{ id: 'port-restricted~symmetric', problems: ['direct 1/3 connected, theory says none connects'] }]);
  });

  it('finds a cell from either side of the grid without a CGN, and only as (A, B) with one', () => {
    const report = buildLabMatrixReport(sampleMatrix([...TYPES]), { version: '0' });
    expect(cellAt(report, 'symmetric', 'none')!.id).toBe('none~symmetric');
    expect(cellAt(report, 'none', 'symmetric')!.id).toBe('none~symmetric');
    const cgn = buildLabMatrixReport(sampleMatrix(['port-restricted', 'symmetric'], { cgn: 'symmetric' }), { version: '0' });
    expect(cgn.cells).toHaveLength(4);
    expect(cellAt(cgn, 'symmetric', 'port-restricted')!.id).toBe('symmetric@symmetric~port-restricted');
    expect(cellAt(cgn, 'port-restricted', 'symmetric')!.id).toBe('port-restricted@symmetric~symmetric');
  });
});

describe('lab matrix table and lines', () => {
  it('draws the grid with k/n per cell and ✗ where measured differs', () => {
    const result = sampleMatrix([...TYPES], { override: (plan) => (plan.id === 'symmetric~symmetric' ? { direct: trials(3, 3) } : undefined) });
    const text = renderLabMatrixTable(buildLabMatrixReport(result, { version: '0' }));
    const gridRow = (name: string): string => text.split('\n').find((line) => line.startsWith(`│ ${name} `))!;
    expect(gridRow('PR')).toMatch(/│ PR\s+│ 3\/3\s+│ 3\/3\s+│ 3\/3\s+│ 0\/3\s+│/);
    expect(gridRow('S')).toMatch(/│ S\s+│ 3\/3\s+│ 0\/3\s+│ 3\/3\s+│ 3\/3 ✗\s+│/);
    expect(text).toContain('10/10 cells in 61.23 s: 9 as theory, 1 different, 0 wrong detect verdict(s)');
    expect(text).toContain('symmetric~symmetric: direct 3/3 connected, theory says none connects');
    expect(renderLabMatrixTable(buildLabMatrixReport(sampleMatrix(['none']), { version: '0' }))).toContain('measured matches theory in every cell');
  });

  it('prints one progress line per finished cell, with the verdict', () => {
    const done: LabMatrixEvent = {
      type: 'lab-matrix-cell-done',
      at: 1,
      cell: 3,
      id: 'port-restricted~symmetric',
      expectedDirect: false,
      direct: { runs: 3, succeeded: 1 },
      relay: { runs: 3, succeeded: 3 },
      timeToConnectP50Ms: 1040,
      pairType: 'srflx/prflx',
      detectCorrect: { a: true, b: true },
      mismatch: true,
      problems: ['direct 1/3 connected, theory says none connects'],
      finished: 4,
      planned: 10,
    };
    expect(formatLabMatrixEventLine(done)).toBe('cell  4/10 port-restricted~symmetric  direct 1/3 (theory no), relay 3/3 srflx/prflx p50 1.04 s  MISMATCH: direct 1/3 connected, theory says none connects');
    expect(formatLabMatrixEventLine({ type: 'lab-matrix-cell-phase', at: 1, cell: 0, id: 'none~none', phase: 'building' })).toBe('cell none~none: started');
    expect(formatLabMatrixEventLine({ type: 'lab-matrix-cell-phase', at: 1, cell: 0, id: 'none~none', phase: 'direct' })).toBe('cell none~none: lab, servers and detect ready; trials running');
    expect(formatLabMatrixEventLine({ type: 'lab-matrix-cell-phase', at: 1, cell: 0, id: 'none~none', phase: 'detect' })).toBeUndefined();
    expect(formatLabMatrixEventLine({ type: 'lab-matrix-trial', at: 1, cell: 0, id: 'x', kind: 'direct', trial: 1, connected: true })).toBeUndefined();
    expect(formatLabMatrixEventLine({ type: 'lab-matrix-planned', at: 0, types: ['none', 'symmetric'], cells: [], runs: 3, turn: true })).toBe('lab matrix: 0 cell(s) over none, symmetric, 3 trial(s) each + relay');
  });
});

describe('lab matrix HTML report', () => {
  it('is one self-contained document: inline style, no script, nothing fetched, a CSP that forbids fetching', () => {
    const html = renderLabMatrixHtml(buildLabMatrixReport(sampleMatrix([...TYPES], { turn: true }), { version: '0' }));
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'"`);
    expect(html).not.toMatch(/<script|<link|<img|@import|url\(/i);
    expect(html).not.toMatch(/(src|href)=/i);
    // The heatmap: 4×4 grid positions, 10 distinct cells, each shown at both (x, y) and (y, x).
    expect(html.match(/<td class="cell/g)).toHaveLength(16);
    expect(html.match(/data-theory=/g)).toHaveLength(16);
    expect(html).toContain('data-cell="port-restricted~symmetric" data-rate="0" data-mismatch="false"');
    // Distributions: a dot per connected trial (direct and relayed), a row per cell that has any.
    // Theory says 8 of the 10 cells connect directly (only PR~S and S~S do not).
    expect(html.match(/data-sample="direct"/g)).toHaveLength(3 * 8);
    expect(html.match(/data-sample="relay"/g)).toHaveLength(3 * 10);
    expect(html).toContain('data-verdict="match"');
    expect(html).toContain('data-differences="0"');
    expect(html.match(/<tr data-detect=/g)).toHaveLength(10);
  });

  it('shows the differences and escapes every text it takes from the run', () => {
    const result = sampleMatrix(['none', 'symmetric'], {
      override: (plan) => (plan.id === 'none~symmetric' ? { error: '<b>lab & "servers"</b> failed', direct: [] } : undefined),
    });
    const html = renderLabMatrixHtml(buildLabMatrixReport(result, { version: '0' }));
    expect(html).toContain('data-verdict="differs"');
    expect(html).toContain('data-differences="1"');
    expect(html).toContain('&lt;b&gt;lab &amp; &quot;servers&quot;&lt;/b&gt; failed');
    expect(html).not.toContain('<b>lab');
    expect(html).toContain('data-cell="none~symmetric" data-rate="0" data-mismatch="true"');
    const notRun = sampleMatrix(['none'], {
      override: () => ({ error: 'interrupted', direct: [], detect: { a: { side: 'a', exitCode: null, durationMs: 0, error: 'not run', notRun: true }, b: { side: 'b', exitCode: null, durationMs: 0, error: 'not run', notRun: true } } }),
    });
    const stopped = buildLabMatrixReport(notRun, { version: '0' });
    expect(stopped.summary).toMatchObject({ mismatched: 1, detectWrong: 0 });
    expect(stopped.cells[0]!.detect.a).toMatchObject({ ran: false, correct: false });
    expect(escapeHtml(`<'&">`)).toBe('&lt;&#39;&amp;&quot;&gt;');
    expect(heatColour(0)).toBe('hsl(0 65% 62%)');
    expect(heatColour(1)).toBe('hsl(120 65% 62%)');
    expect(heatColour(7)).toBe('hsl(120 65% 62%)');
  });
});

describe('lab matrix live grid', () => {
  const planned: LabMatrixEvent = {
    type: 'lab-matrix-planned',
    at: 0,
    types: ['none', 'symmetric'],
    cells: [
      { cell: 0, id: 'none~none', a: 'none', b: 'none', expectedDirect: true },
      { cell: 1, id: 'none~symmetric', a: 'none', b: 'symmetric', expectedDirect: true },
      { cell: 2, id: 'symmetric~symmetric', a: 'symmetric', b: 'symmetric', expectedDirect: false },
    ],
    runs: 2,
    turn: false,
  };
  const done = (cell: number, id: string, succeeded: number, mismatch: boolean, finished: number): LabMatrixEvent => ({
    type: 'lab-matrix-cell-done',
    at: 100 * finished,
    cell,
    id,
    expectedDirect: cell < 2,
    direct: { runs: 2, succeeded },
    timeToConnectP50Ms: null,
    detectCorrect: { a: true, b: true },
    mismatch,
    problems: mismatch ? ['direct 1/2 connected, theory says every trial connects'] : [],
    finished,
    planned: 3,
  });

  it('folds phases, trials and results per cell', () => {
    let state = reduceLabMatrixEvent(initialLabMatrixState(), planned);
    expect(state.cells.map((c) => c.phase)).toEqual(['waiting', 'waiting', 'waiting']);
    state = reduceLabMatrixEvent(state, { type: 'lab-matrix-cell-phase', at: 5, cell: 1, id: 'none~symmetric', phase: 'detect' });
    state = reduceLabMatrixEvent(state, { type: 'lab-matrix-trial', at: 6, cell: 1, id: 'none~symmetric', kind: 'direct', trial: 1, connected: true });
    state = reduceLabMatrixEvent(state, { type: 'lab-matrix-trial', at: 7, cell: 1, id: 'none~symmetric', kind: 'relay', trial: 1, connected: true });
    expect(state.cells[1]).toMatchObject({ phase: 'detect', direct: { runs: 1, succeeded: 1 }, relay: { runs: 1, succeeded: 1 } });
    state = reduceLabMatrixEvent(state, done(1, 'none~symmetric', 1, true, 1));
    expect(state.cells[1]).toMatchObject({ phase: 'done', direct: { runs: 2, succeeded: 1 }, mismatch: true });
    expect(state.finished).toBe(1);
    expect(state.elapsedMs).toBe(100);
    expect(liveCellAt(state, 'symmetric', 'none')!.id).toBe('none~symmetric');
    // Events for unknown cells change nothing.
    expect(reduceLabMatrixEvent(state, { type: 'lab-matrix-cell-phase', at: 1, cell: 99, id: 'x', phase: 'detect' }).cells).toBe(state.cells);
  });

  it('renders the grid, marks mismatches, and the final verdict', () => {
    let state = reduceLabMatrixEvent(initialLabMatrixState(), planned);
    state = reduceLabMatrixEvent(state, done(0, 'none~none', 2, false, 1));
    state = reduceLabMatrixEvent(state, done(1, 'none~symmetric', 1, true, 2));
    state = reduceLabMatrixEvent(state, { type: 'lab-matrix-cell-phase', at: 250, cell: 2, id: 'symmetric~symmetric', phase: 'detect' });
    const { lastFrame, rerender } = render(createElement(LabMatrixView, { state }));
    const frame = lastFrame()!;
    expect(frame).toContain('nat-probe lab matrix · 2/3 cells · 2 trial(s) each');
    const row = (name: string): string => frame.split('\n').find((line) => line.startsWith(name.padEnd(7)))!;
    expect(row('none')).toMatch(/^none\s+2\/2\s+1\/2✗/);
    expect(row('S')).toMatch(/^S\s+1\/2✗\s+detect/);
    expect(frame).toContain('✗ none~symmetric: direct 1/2 connected, theory says every trial connects');
    const report = buildLabMatrixReport(sampleMatrix(['none', 'symmetric']), { version: '0' });
    rerender(createElement(LabMatrixView, { state: withLabMatrixReport(state, report) }));
    expect(lastFrame()).toContain('Measured matches theory in all 3 cells; every detect verdict is right.');
  });
});
