/**
 * Plain progress lines from the matrix's event stream (stderr on non-TTY runs and in CI): the
 * same events the live grid folds. One event, at most one line.
 */
import type { LabMatrixEvent } from '../events.js';
import { formatMs } from './format.js';

export function formatLabMatrixEventLine(event: LabMatrixEvent): string | undefined {
  switch (event.type) {
    case 'lab-matrix-planned':
      return `lab matrix: ${event.cells.length} cell(s) over ${event.types.join(', ')}${event.cgn !== undefined ? ` (side A behind a ${event.cgn} CGN)` : ''}, ${event.runs} trial(s) each${event.variants !== undefined ? ` per variant (${event.variants.join(', ')})` : ''}${event.turn ? ' + relay' : ''}`;
    case 'lab-matrix-cell-phase':
      // The start, and the start of the trials (the slow part of a cell expected to fail).
      if (event.phase === 'building') return `cell ${event.id}: started`;
      return event.phase === 'direct' ? `cell ${event.id}: lab, servers and detect ready; trials running` : undefined;
    case 'lab-matrix-trial':
      return undefined;
    case 'lab-matrix-cell-done': {
      const width = String(event.planned).length;
      const head = `cell ${String(event.finished).padStart(width)}/${event.planned} ${event.id}`;
      const relay = event.relay !== undefined ? `, relay ${event.relay.succeeded}/${event.relay.runs}` : '';
      const ttc = event.timeToConnectP50Ms !== null ? ` p50 ${formatMs(event.timeToConnectP50Ms)}` : '';
      const pair = event.pairType !== undefined ? ` ${event.pairType}` : '';
      const verdict = event.mismatch ? `MISMATCH: ${event.problems.join('; ')}` : 'as theory';
      const variants =
        event.variants === undefined
          ? ''
          : `  ${event.variants.map((v) => `${v.name} ${v.succeeded}/${v.runs}${v.upliftPoints !== null && v.upliftPoints !== 0 ? ` (${v.upliftPoints > 0 ? '+' : '−'}${Math.abs(Math.round(v.upliftPoints * 10) / 10)} pp)` : ''}`).join(' · ')}${event.relayOnly !== undefined ? ' · relay-only' : ''}`;
      return `${head}  direct ${event.direct.succeeded}/${event.direct.runs} (theory ${event.expectedDirect ? 'yes' : 'no'})${relay}${pair}${ttc}${variants}  ${verdict}`;
    }
  }
}
