/**
 * What the live matrix grid shows, folded from the lab matrix events by a pure reducer: per cell
 * its phase, the trials so far, and, once done, whether it matches theory.
 */
import type { LabMatrixCellPhaseEvent, LabMatrixEvent } from '../events.js';
import type { LabMatrixReport } from '../report/lab-matrix-report.js';

export interface LiveCell {
  readonly id: string;
  readonly a: string;
  readonly b: string;
  readonly expectedDirect: boolean;
  readonly phase: LabMatrixCellPhaseEvent['phase'] | 'waiting' | 'done';
  readonly direct: { readonly runs: number; readonly succeeded: number };
  readonly relay: { readonly runs: number; readonly succeeded: number };
  /** Direct trials per `--strategy` variant (`direct` is the baseline's). */
  readonly variants: Readonly<Record<string, { readonly runs: number; readonly succeeded: number }>>;
  /** No technique reaches the pair (known once the cell is done). */
  readonly relayOnly: boolean;
  readonly mismatch: boolean | undefined;
  readonly problems: readonly string[];
}

export interface LabMatrixViewState {
  readonly types: readonly string[];
  readonly cgn: string | undefined;
  readonly runs: number;
  readonly turn: boolean;
  /** `--strategy` variant names in order; `['ice']` by default. */
  readonly variants: readonly string[];
  /** The variant `direct` counts: `ice` when it ran, else the first. */
  readonly baseline: string;
  readonly cells: readonly LiveCell[];
  readonly finished: number;
  readonly elapsedMs: number;
  readonly report: LabMatrixReport | undefined;
}

export function initialLabMatrixState(): LabMatrixViewState {
  return { types: [], cgn: undefined, runs: 0, turn: false, variants: ['ice'], baseline: 'ice', cells: [], finished: 0, elapsedMs: 0, report: undefined };
}

function updateCell(state: LabMatrixViewState, index: number, change: (cell: LiveCell) => LiveCell): readonly LiveCell[] {
  const cell = state.cells[index];
  if (cell === undefined) return state.cells;
  const cells = [...state.cells];
  cells[index] = change(cell);
  return cells;
}

export function reduceLabMatrixEvent(state: LabMatrixViewState, event: LabMatrixEvent): LabMatrixViewState {
  const elapsedMs = Math.max(state.elapsedMs, event.at);
  switch (event.type) {
    case 'lab-matrix-planned': {
      const variants = event.variants ?? ['ice'];
      return {
        ...state,
        elapsedMs,
        types: event.types,
        cgn: event.cgn,
        runs: event.runs,
        turn: event.turn,
        variants,
        baseline: variants.includes('ice') ? 'ice' : variants[0]!,
        cells: event.cells.map((c) => ({
          id: c.id,
          a: c.a,
          b: c.b,
          expectedDirect: c.expectedDirect,
          phase: 'waiting',
          direct: { runs: 0, succeeded: 0 },
          relay: { runs: 0, succeeded: 0 },
          variants: Object.fromEntries(variants.map((name) => [name, { runs: 0, succeeded: 0 }])),
          relayOnly: false,
          mismatch: undefined,
          problems: [],
        })),
      };
    }
    case 'lab-matrix-cell-phase':
      return { ...state, elapsedMs, cells: updateCell(state, event.cell, (cell) => ({ ...cell, phase: event.phase })) };
    case 'lab-matrix-trial':
      return {
        ...state,
        elapsedMs,
        cells: updateCell(state, event.cell, (cell) => {
          const bump = (set: { runs: number; succeeded: number } | undefined): { runs: number; succeeded: number } => ({ runs: (set?.runs ?? 0) + 1, succeeded: (set?.succeeded ?? 0) + (event.connected ? 1 : 0) });
          if (event.kind === 'relay') return { ...cell, relay: bump(cell.relay) };
          const variant = event.variant ?? 'ice';
          const variants = { ...cell.variants, [variant]: bump(cell.variants[variant]) };
          return variant === state.baseline ? { ...cell, direct: bump(cell.direct), variants } : { ...cell, variants };
        }),
      };
    case 'lab-matrix-cell-done':
      return {
        ...state,
        elapsedMs,
        finished: event.finished,
        cells: updateCell(state, event.cell, (cell) => ({
          ...cell,
          phase: 'done',
          direct: event.direct,
          relay: event.relay ?? cell.relay,
          variants: event.variants !== undefined ? Object.fromEntries(event.variants.map((v) => [v.name, { runs: v.runs, succeeded: v.succeeded }])) : { ...cell.variants, [state.baseline]: event.direct },
          relayOnly: event.relayOnly !== undefined,
          mismatch: event.mismatch,
          problems: event.problems,
        })),
      };
  }
}

export function withLabMatrixReport(state: LabMatrixViewState, report: LabMatrixReport): LabMatrixViewState {
  return { ...state, report, elapsedMs: report.durationMs };
}

/** The cell at (row, column); without a CGN (x, y) and (y, x) are the same cell. */
export function liveCellAt(state: LabMatrixViewState, row: string, column: string): LiveCell | undefined {
  return state.cells.find((c) => (c.a === row && c.b === column) || (state.cgn === undefined && c.a === column && c.b === row));
}
