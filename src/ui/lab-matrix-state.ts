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
  readonly mismatch: boolean | undefined;
  readonly problems: readonly string[];
}

export interface LabMatrixViewState {
  readonly types: readonly string[];
  readonly cgn: string | undefined;
  readonly runs: number;
  readonly turn: boolean;
  readonly cells: readonly LiveCell[];
  readonly finished: number;
  readonly elapsedMs: number;
  readonly report: LabMatrixReport | undefined;
}

export function initialLabMatrixState(): LabMatrixViewState {
  return { types: [], cgn: undefined, runs: 0, turn: false, cells: [], finished: 0, elapsedMs: 0, report: undefined };
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
    case 'lab-matrix-planned':
      return {
        ...state,
        elapsedMs,
        types: event.types,
        cgn: event.cgn,
        runs: event.runs,
        turn: event.turn,
        cells: event.cells.map((c) => ({ id: c.id, a: c.a, b: c.b, expectedDirect: c.expectedDirect, phase: 'waiting', direct: { runs: 0, succeeded: 0 }, relay: { runs: 0, succeeded: 0 }, mismatch: undefined, problems: [] })),
      };
    case 'lab-matrix-cell-phase':
      return { ...state, elapsedMs, cells: updateCell(state, event.cell, (cell) => ({ ...cell, phase: event.phase })) };
    case 'lab-matrix-trial':
      return {
        ...state,
        elapsedMs,
        cells: updateCell(state, event.cell, (cell) => {
          const set = event.kind === 'direct' ? cell.direct : cell.relay;
          const next = { runs: set.runs + 1, succeeded: set.succeeded + (event.connected ? 1 : 0) };
          return event.kind === 'direct' ? { ...cell, direct: next } : { ...cell, relay: next };
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
