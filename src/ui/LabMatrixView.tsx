import { Box, Text } from 'ink';
import { shortName } from '../report/lab-matrix-report.js';
import { ProgressBar } from './ProgressBar.js';
import { liveCellAt, type LabMatrixViewState, type LiveCell } from './lab-matrix-state.js';

export interface LabMatrixViewProps {
  readonly state: LabMatrixViewState;
}

const CELL_WIDTH = 7;

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
  const pad = (text: string): string => text.padEnd(CELL_WIDTH).slice(0, CELL_WIDTH);
  return (
    <Box flexDirection="column">
      <Text>
        <Text bold>nat-probe lab matrix</Text> · {state.finished}/{planned} cells · {state.runs} trial(s) each{state.turn ? ' + relay' : ''} · {(state.elapsedMs / 1000).toFixed(1)} s
      </Text>
      <ProgressBar done={state.finished} total={Math.max(planned, 1)} width={30} />
      <Box flexDirection="column" marginTop={1}>
        <Text bold>{pad(state.cgn !== undefined ? `A@${shortName(state.cgn)}` : 'A\\B')}{state.types.map((t) => pad(shortName(t))).join('')}</Text>
        {state.types.map((row) => (
          <Text key={row}>
            <Text bold>{pad(shortName(row))}</Text>
            {state.types.map((column) => {
              const cell = liveCellAt(state, row, column);
              return (
                <Text key={column} color={cell ? cellColour(cell) : undefined}>
                  {pad(cell ? cellText(cell) : '')}
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
    </Box>
  );
}
