import { Box, Text } from 'ink';
import { mixText, shortName } from '../report/lab-matrix-report.js';
import { ProgressBar } from './ProgressBar.js';
import { liveCellAt, type LabMatrixViewState, type LiveCell } from './lab-matrix-state.js';

export interface LabMatrixViewProps {
  readonly state: LabMatrixViewState;
}

const CELL_WIDTH = 7;
/** With variants a cell reads "ice→all" ("3→20/20 R"): 10 columns, 90 for all eight types. */
const COMPARE_WIDTH = 10;

const PHASE_MARK: Readonly<Record<LiveCell['phase'], string>> = {
  waiting: '·',
  building: 'build',
  servers: 'serve',
  detect: 'detect',
  workers: 'start',
  direct: '',
  relay: '',
  teardown: 'down',
  done: '',
};

function cellText(cell: LiveCell): string {
  if (cell.phase === 'waiting' || cell.phase === 'building' || cell.phase === 'servers' || cell.phase === 'detect' || cell.phase === 'workers') return PHASE_MARK[cell.phase];
  return `${cell.direct.succeeded}/${cell.direct.runs}${cell.mismatch === true ? '✗' : ''}`;
}

/** The two variants a compact cell compares: the baseline and the last other one listed (as comparedVariant). */
function comparedPair(state: LabMatrixViewState): [string, string] | undefined {
  const other = state.variants.filter((v) => v !== state.baseline).at(-1);
  return other === undefined ? undefined : [state.baseline, other];
}

function compareText(cell: LiveCell, [from, to]: [string, string]): string {
  if (cell.phase === 'waiting' || cell.phase === 'building' || cell.phase === 'servers' || cell.phase === 'detect' || cell.phase === 'workers') return PHASE_MARK[cell.phase];
  const a = cell.variants[from] ?? { runs: 0, succeeded: 0 };
  const b = cell.variants[to] ?? { runs: 0, succeeded: 0 };
  return `${a.succeeded}→${b.succeeded}/${b.runs}${cell.relayOnly ? ' R' : ''}${cell.mismatch === true ? '✗' : ''}`;
}

function compareColour(cell: LiveCell, [, to]: [string, string]): string | undefined {
  const b = cell.variants[to] ?? { runs: 0, succeeded: 0 };
  if (cell.phase !== 'done') return b.runs > 0 ? 'cyan' : undefined;
  if (cell.mismatch === true) return 'red';
  if (cell.relayOnly || b.succeeded === 0) return 'yellow';
  return b.succeeded === b.runs ? 'green' : 'magenta';
}

function cellColour(cell: LiveCell): string | undefined {
  if (cell.phase !== 'done') return cell.direct.runs > 0 ? 'cyan' : undefined;
  if (cell.mismatch === true) return 'red';
  return cell.expectedDirect ? 'green' : 'yellow';
}

/**
 * The live matrix: a grid of cells (side A down, side B across) filling in as each finishes —
 * green where direct works as theory says, yellow where theory and measurement agree it needs a
 * relay, red with ✗ where they differ — then the differences and the total when it ends.
 */
export function LabMatrixView({ state }: LabMatrixViewProps) {
  const planned = state.cells.length;
  const mismatched = state.cells.filter((c) => c.mismatch === true);
  const pair = comparedPair(state);
  const width = pair === undefined ? CELL_WIDTH : COMPARE_WIDTH;
  const pad = (text: string): string => text.padEnd(width).slice(0, width);
  const mix = state.report !== undefined && pair !== undefined ? mixText(state.report) : undefined;
  return (
    <Box flexDirection="column">
      <Text>
        <Text bold>nat-probe lab matrix</Text> · {state.finished}/{planned} cells · {state.runs} trial(s) each{pair !== undefined ? ` per variant (${state.variants.join(', ')})` : ''}{state.turn ? ' + relay' : ''} · {(state.elapsedMs / 1000).toFixed(1)} s
      </Text>
      {pair !== undefined ? (
        <Text dimColor>
          cell: {pair[0]} successes → {pair[1]} successes/trials; R relay-only (no technique reaches it); green all, magenta some, yellow none
        </Text>
      ) : null}
      <ProgressBar done={state.finished} total={Math.max(planned, 1)} width={30} />
      <Box flexDirection="column" marginTop={1}>
        <Text bold>{pad(state.cgn !== undefined ? `A@${shortName(state.cgn)}` : 'A\\B')}{state.types.map((t) => pad(shortName(t))).join('')}</Text>
        {state.types.map((row) => (
          <Text key={row}>
            <Text bold>{pad(shortName(row))}</Text>
            {state.types.map((column) => {
              const cell = liveCellAt(state, row, column);
              return (
                <Text key={column} color={cell ? (pair !== undefined ? compareColour(cell, pair) : cellColour(cell)) : undefined}>
                  {pad(cell ? (pair !== undefined ? compareText(cell, pair) : cellText(cell)) : '')}
                </Text>
              );
            })}
          </Text>
        ))}
      </Box>
      {mismatched.length > 0 ? (
        <Box flexDirection="column" marginTop={1}>
          {mismatched.map((c) => (
            <Text key={c.id} color="red">
              ✗ {c.id}: {c.problems.join('; ')}
            </Text>
          ))}
        </Box>
      ) : null}
      {state.report ? (
        <Box marginTop={1}>
          <Text color={state.report.exitCode === 0 ? 'green' : 'red'}>
            {state.report.exitCode === 0
              ? `Measured matches theory in all ${state.report.summary.ran} cells; every detect verdict is right.`
              : `${state.report.summary.mismatched} of ${state.report.summary.ran} cells differ from theory or had a wrong detect verdict.`}
          </Text>
        </Box>
      ) : null}
      {mix !== undefined ? (
        <Box marginTop={1} flexDirection="column">
          {mix.split('\n').map((line, i) => (
            <Text key={i}>{line}</Text>
          ))}
        </Box>
      ) : null}
    </Box>
  );
}
