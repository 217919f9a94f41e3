/**
 * Rendering `lab matrix --strategy`: the v2 JSON document's variant fields, the table's variant
 * grids, uplift grid and relay-only list, the HTML heatmaps per variant and of uplift (with
 * everything it takes from the run escaped), the progress lines, and the live grid's compact
 * "ice → all" view within 120 columns.
 */
import { render } from 'ink-testing-library';
import { createElement } from 'react';
import { describe, expect, it } from 'vitest';
import type { LabMatrixEvent } from '../../src/events.js';
import type { MatrixCellPlan, MatrixVariant, TrialTraversal } from '../../src/lab/matrix-types.js';
import { ICE_VARIANT } from '../../src/lab/matrix-variants.js';
import { buildLabMatrixReport, comparedVariant, formatPoints, formatRelative, hasVariants, LAB_MATRIX_SCHEMA, mixText } from '../../src/report/lab-matrix-report.js';
import { renderLabMatrixHtml, upliftColour } from '../../src/report/lab-matrix-html.js';
import { formatLabMatrixEventLine } from '../../src/report/lab-matrix-lines.js';
import { renderLabMatrixTable } from '../../src/report/lab-matrix-table.js';
import { LabMatrixView } from '../../src/ui/LabMatrixView.js';
import { initialLabMatrixState, reduceLabMatrixEvent, withLabMatrixReport } from '../../src/ui/lab-matrix-state.js';
import { sampleMatrix, strategyTrials } from '../lab/matrix-fixtures.js';

const ALL: MatrixVariant = { name: 'all', strategies: ['predict', 'birthday', 'relay-ladder'] };
const TYPES = ['none', 'port-restricted', 'symmetric'] as const;

const refused: TrialTraversal = { winner: 'none', probesSent: 0, socketsOpened: 0, plan: { technique: 'relay-only', reason: 'both sides are hard <script>alert("x")</script> & random', probability: 0.00025 } };
const birthday = (connected: boolean): TrialTraversal => ({ winner: connected ? 'birthday' : 'none', probesSent: 300, socketsOpened: 256, plan: { technique: 'birthday', reason: "the other side is hard (it's random)", probability: 0.983 } });
const iceOnly: TrialTraversal = { winner: 'ice', probesSent: 0, socketsOpened: 0, plan: { technique: 'ice', reason: 'plain ICE connects' } };

/** none, PR, S with ice and all: all rescues PR~S in 2 of 3 trials; S~S is refused as relay-only. */
function strategyMatrix() {
  return sampleMatrix([...TYPES], {
    variants: [ICE_VARIANT, ALL],
    variantTrials: (plan: MatrixCellPlan, variant) => {
      if (variant.name === 'ice') return undefined;
      if (plan.expectedDirect) return strategyTrials(3, 3, () => iceOnly);
      if (plan.id === 'symmetric~symmetric') return strategyTrials(3, 0, () => refused);
      return strategyTrials(3, 2, (_i, connected) => birthday(connected));
    },
  });
}

describe('lab matrix v2 JSON with variants', () => {
  it('gives each cell its variants: success, uplift, p50, probes and sockets per trial, plan, winners, trials', () => {
    const report = buildLabMatrixReport(strategyMatrix(), { version: '0' });
    expect(report.schema).toBe(LAB_MATRIX_SCHEMA);
    expect(report.config.variants).toEqual([
      { name: 'ice', strategies: [] },
      { name: 'all', strategies: ['predict', 'birthday', 'relay-ladder'] },
    ]);
    expect(report.config.baseline).toBe('ice');
    const prs = report.cells.find((c) => c.id === 'port-restricted~symmetric')!;
    expect(prs.direct.succeeded).toBe(0);
    expect(prs.variants.map((v) => v.name)).toEqual(['ice', 'all']);
    expect(prs.variants[0]).toMatchObject({ succeeded: 0, uplift: null, plan: { technique: 'unknown', probability: null } });
    expect(prs.variants[1]).toEqual({
      name: 'all',
      strategies: ['predict', 'birthday', 'relay-ladder'],
      runs: 3,
      succeeded: 2,
      successRate: 2 / 3,
      uplift: { points: 66.7, relative: null },
      timeToConnectMs: { p50: 2010, samples: [2010, 2020] },
      pairTypes: [{ pairType: 'prflx/srflx', count: 2 }],
      failureReasons: [{ reason: 'timeout', count: 1 }],
      probesPerTrialP50: 300,
      socketsPerTrialP50: 256,
      plan: { technique: 'birthday', reason: "the other side is hard (it's random)", probability: 0.983 },
      techniques: [{ technique: 'birthday', count: 3 }],
      winners: [
        { winner: 'birthday', count: 2 },
        { winner: 'none', count: 1 },
      ],
      matchesTheory: true,
      trials: [
        { index: 1, connected: true, timeToConnectMs: 2010, winner: 'birthday', probesSent: 300, socketsOpened: 256, technique: 'birthday' },
        { index: 2, connected: true, timeToConnectMs: 2020, winner: 'birthday', probesSent: 300, socketsOpened: 256, technique: 'birthday' },
        { index: 3, connected: false, timeToConnectMs: null, winner: 'none', probesSent: 300, socketsOpened: 256, technique: 'birthday' },
      ],
    });
    expect(prs.relayOnly).toBeNull();
    const ss = report.cells.find((c) => c.id === 'symmetric~symmetric')!;
    expect(ss.relayOnly).toEqual({ reason: refused.plan.reason, probability: 0.00025, variant: 'all' });
    expect(report.summary).toMatchObject({ relayOnly: 1, mismatched: 0 });
    expect(report.exitCode).toBe(0);
    expect(report.mix!.variants.map((v) => v.name)).toEqual(['ice', 'all']);
    expect(report.mix!.allOverIce!.all).toBeGreaterThan(report.mix!.allOverIce!.ice);
    expect(report.mix!.claimed).toEqual({ from: 0.523, to: 0.738, relative: 0.41 });
    expect(report.mix!.distribution.id).toBe('halkes-pouwelse-2011');
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
  });

  it('keeps plain ICE runs as they were, with one ice variant per cell and a mix of ice alone', () => {
    const report = buildLabMatrixReport(sampleMatrix([...TYPES]), { version: '0' });
    expect(hasVariants(report)).toBe(false);
    expect(report.cells[0]!.variants.map((v) => v.name)).toEqual(['ice']);
    expect(report.cells.every((c) => c.relayOnly === null)).toBe(true);
    expect(report.mix!.allOverIce).toBeNull();
    expect(renderLabMatrixTable(report)).not.toContain('strategy variants');
    expect(renderLabMatrixHtml(report)).not.toContain('data-grid="variant"');
  });

  it('has no mix with a CGN', () => {
    expect(buildLabMatrixReport(sampleMatrix(['port-restricted'], { cgn: 'symmetric' }), { version: '0' }).mix).toBeNull();
  });
});

describe('lab matrix variants: table and lines', () => {
  it('draws a grid per variant, the uplift grid, a row per cell and variant, the relay-only cells and the mix', () => {
    const text = renderLabMatrixTable(buildLabMatrixReport(strategyMatrix(), { version: '0' }));
    expect(text).toContain('strategy variants: ice, all');
    const row = (head: string, name: string): string => text.split('\n').filter((line) => line.startsWith(`│ ${name} `))[['ice', 'all', 'uplift'].indexOf(head) + 1]!;
    // Rows: the v1 grid first, then ice, all and the uplift grid.
    expect(row('ice', 'S')).toMatch(/│ S\s+│ 3\/3\s+│ 0\/3\s+│ 0\/3\s+│/);
    expect(row('all', 'S')).toMatch(/│ S\s+│ 3\/3\s+│ 2\/3\s+│ 0\/3 R\s+│/);
    expect(row('uplift', 'PR')).toMatch(/│ PR\s+│ ±0\s+│ ±0\s+│ \+66\.7\s+│/);
    expect(text).toMatch(/│ port-restricted~symmetric\s+│ all\s+│ 2\/3 │ \+66\.7 pp \(n\/a\) │ 2\.01 s\s+│ 300\s+│ 256\s+│ birthday \(P≈98\.3%\)\s+│/);
    expect(text).toContain(`symmetric~symmetric: ${refused.plan.reason} (P≈0.025%)`);
    expect(text).toContain("port-restricted~symmetric (all): birthday — the other side is hard (it's random)");
    expect(text).toMatch(/realistic mix \(cells weighted by NAT types of Halkes & Pouwelse 2011 \(Tribler peers\); they cover \d+\.\d% of pairs\):/);
    expect(text).toContain('claimed by the system this project comes from: +41% (52.3% → 73.8%)');
    expect(text).toMatch(/all over ice: \+\d+\.\d% \(\d+\.\d% → \d+\.\d%\)/);
  });

  it('formats points and relative uplift with signs', () => {
    expect(formatPoints(66.666)).toBe('+66.7 pp');
    expect(formatPoints(-5)).toBe('−5 pp');
    expect(formatPoints(0.01)).toBe('±0 pp');
    expect(formatRelative(0.41)).toBe('+41%');
    expect(formatRelative(-0.125)).toBe('−12.5%');
    expect(formatRelative(null)).toBe('n/a');
  });

  it('adds each variant’s score to the cell line only when variants ran', () => {
    const done: LabMatrixEvent = {
      type: 'lab-matrix-cell-done',
      at: 1,
      cell: 5,
      id: 'symmetric~symmetric',
      expectedDirect: false,
      direct: { runs: 3, succeeded: 0 },
      timeToConnectP50Ms: null,
      detectCorrect: { a: true, b: true },
      mismatch: false,
      problems: [],
      finished: 6,
      planned: 6,
      variants: [
        { name: 'ice', runs: 3, succeeded: 0, upliftPoints: null, technique: 'unknown' },
        { name: 'all', runs: 3, succeeded: 2, upliftPoints: 66.67, technique: 'birthday' },
      ],
      relayOnly: { reason: 'r' },
    };
    expect(formatLabMatrixEventLine(done)).toBe('cell 6/6 symmetric~symmetric  direct 0/3 (theory no)  ice 0/3 · all 2/3 (+66.7 pp) · relay-only  as theory');
    expect(formatLabMatrixEventLine({ type: 'lab-matrix-planned', at: 0, types: ['none'], cells: [], runs: 20, turn: false, variants: ['ice', 'all'] })).toBe('lab matrix: 0 cell(s) over none, 20 trial(s) each per variant (ice, all)');
  });
});

describe('lab matrix variants: HTML', () => {
  it('draws a heatmap per variant and one of uplift, lists relay-only cells and the mix, and escapes every text', () => {
    const html = renderLabMatrixHtml(buildLabMatrixReport(strategyMatrix(), { version: '0' }));
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'"`);
    expect(html).not.toMatch(/<script|<link|<img|@import|url\(/i);
    expect(html).not.toMatch(/(src|href)=/i);
    // The v1 heatmaps are untouched; then 3×3 positions per variant, and the uplift grid.
    expect(html.match(/<td class="cell/g)).toHaveLength(9);
    expect(html.match(/data-grid="variant"/g)).toHaveLength(2);
    expect(html.match(/<td class="vcell/g)).toHaveLength(18);
    expect(html).toContain('data-variant="all" data-cell="port-restricted~symmetric" data-rate="0.6666666666666666" data-relay-only="false"');
    expect(html).toContain('data-variant="all" data-cell="symmetric~symmetric" data-rate="0" data-relay-only="true"');
    expect(html.match(/<td class="ucell"/g)).toHaveLength(9);
    expect(html).toContain('data-cell="port-restricted~symmetric" data-uplift="66.7"');
    expect(html).toContain('data-relay-only="1"');
    expect(html).toContain('both sides are hard &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; random');
    expect(html).toContain('the other side is hard (it&#39;s random)');
    expect(html).toContain('data-mix="halkes-pouwelse-2011"');
    expect(html).toContain('UDP NAT and Firewall Puncturing in the Wild');
    expect(html).toContain('+41% (52.3% → 73.8%)');
    expect(html.match(/<tr data-variant-row=/g)).toHaveLength(12);
  });

  it('colours uplift white at zero, green up and red down', () => {
    expect(upliftColour(0)).toBe('#f6f8fa');
    expect(upliftColour(100)).toBe('hsl(120 55% 60%)');
    expect(upliftColour(250)).toBe('hsl(120 55% 60%)');
    expect(upliftColour(-50)).toBe('hsl(0 65% 78%)');
  });
});

describe('lab matrix variants: live grid', () => {
  const planned: LabMatrixEvent = {
    type: 'lab-matrix-planned',
    at: 0,
    types: ['none', 'symmetric'],
    cells: [
      { cell: 0, id: 'none~none', a: 'none', b: 'none', expectedDirect: true },
      { cell: 1, id: 'none~symmetric', a: 'none', b: 'symmetric', expectedDirect: true },
      { cell: 2, id: 'symmetric~symmetric', a: 'symmetric', b: 'symmetric', expectedDirect: false },
    ],
    runs: 20,
    turn: false,
    variants: ['ice', 'all'],
  };
  const done = (cell: number, id: string, ice: number, all: number, finished: number, relayOnly: boolean): LabMatrixEvent => ({
    type: 'lab-matrix-cell-done',
    at: 100 * finished,
    cell,
    id,
    expectedDirect: cell < 2,
    direct: { runs: 20, succeeded: ice },
    timeToConnectP50Ms: null,
    detectCorrect: { a: true, b: true },
    mismatch: false,
    problems: [],
    finished,
    planned: 3,
    variants: [
      { name: 'ice', runs: 20, succeeded: ice, upliftPoints: null, technique: 'unknown' },
      { name: 'all', runs: 20, succeeded: all, upliftPoints: (100 * (all - ice)) / 20, technique: relayOnly ? 'relay-only' : 'ice' },
    ],
    ...(relayOnly ? { relayOnly: { reason: 'both sides are hard', probability: 0.00025 } } : {}),
  });

  it('counts each variant’s trials apart, and only the baseline’s as direct', () => {
    let state = reduceLabMatrixEvent(initialLabMatrixState(), planned);
    expect(state.baseline).toBe('ice');
    state = reduceLabMatrixEvent(state, { type: 'lab-matrix-trial', at: 1, cell: 2, id: 'symmetric~symmetric', kind: 'direct', trial: 1, connected: false });
    state = reduceLabMatrixEvent(state, { type: 'lab-matrix-trial', at: 2, cell: 2, id: 'symmetric~symmetric', kind: 'direct', trial: 1, connected: true, variant: 'all' });
    expect(state.cells[2]).toMatchObject({ direct: { runs: 1, succeeded: 0 }, variants: { ice: { runs: 1, succeeded: 0 }, all: { runs: 1, succeeded: 1 } } });
    state = reduceLabMatrixEvent(state, done(2, 'symmetric~symmetric', 0, 0, 1, true));
    expect(state.cells[2]).toMatchObject({ relayOnly: true, variants: { all: { runs: 20, succeeded: 0 } } });
  });

  it('shows "ice → all" per cell, R for relay-only, the legend and the mix, within 120 columns', () => {
    let state = reduceLabMatrixEvent(initialLabMatrixState(), planned);
    state = reduceLabMatrixEvent(state, done(0, 'none~none', 20, 20, 1, false));
    state = reduceLabMatrixEvent(state, done(1, 'none~symmetric', 20, 20, 2, false));
    state = reduceLabMatrixEvent(state, done(2, 'symmetric~symmetric', 0, 0, 3, true));
    const report = buildLabMatrixReport(strategyMatrix(), { version: '0' });
    const { lastFrame } = render(createElement(LabMatrixView, { state: withLabMatrixReport(state, report) }));
    const frame = lastFrame()!;
    expect(frame).toContain('3/3 cells · 20 trial(s) each per variant (ice, all)');
    expect(frame).toContain('cell: ice successes → all successes/trials; R relay-only');
    const line = (name: string): string => frame.split('\n').find((l) => l.startsWith(name.padEnd(10)))!;
    expect(line('none')).toMatch(/^none\s+20→20\/20\s+20→20\/20/);
    expect(line('S')).toMatch(/^S\s+20→20\/20\s+0→0\/20 R/);
    expect(frame).toContain('claimed by the system this project comes from: +41% (52.3% → 73.8%)');
    for (const l of frame.split('\n')) expect(l.length, l).toBeLessThanOrEqual(120);
    expect(mixText(report)).toContain('all over ice:');
  });
});

describe('lab matrix variants: which variant compact views compare', () => {
  it('is the last one listed that is not the baseline, whatever the order', () => {
    const config = (names: string[], baseline: string) => ({ config: { variants: names.map((name) => ({ name, strategies: [] })), baseline } }) as unknown as Parameters<typeof comparedVariant>[0];
    expect(comparedVariant(config(['ice', 'predict', 'all'], 'ice'))).toBe('all');
    expect(comparedVariant(config(['all', 'ice'], 'ice'))).toBe('all');
    expect(comparedVariant(config(['birthday', 'all'], 'birthday'))).toBe('all');
    let state = reduceLabMatrixEvent(initialLabMatrixState(), {
      type: 'lab-matrix-planned',
      at: 0,
      types: ['none'],
      cells: [{ cell: 0, id: 'none~none', a: 'none', b: 'none', expectedDirect: true }],
      runs: 2,
      turn: false,
      variants: ['all', 'ice'],
    });
    state = reduceLabMatrixEvent(state, { type: 'lab-matrix-cell-phase', at: 1, cell: 0, id: 'none~none', phase: 'direct' });
    state = reduceLabMatrixEvent(state, { type: 'lab-matrix-trial', at: 1, cell: 0, id: 'none~none', kind: 'direct', trial: 1, connected: true, variant: 'all' });
    const frame = render(createElement(LabMatrixView, { state })).lastFrame()!;
    expect(frame).toContain('cell: ice successes → all successes/trials');
    expect(frame.split('\n').find((l) => l.startsWith('none '))).toMatch(/^none\s+0→1\/1/);
  });
});
