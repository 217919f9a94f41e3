import { Box, Text } from 'ink';
import { TURN_STEP_LABELS } from '../report/turn-report.js';
import { ProgressBar } from './ProgressBar.js';
import type { TurnViewState } from './turn-state.js';

export interface TurnViewProps {
  readonly state: TurnViewState;
  readonly title: string;
}

const MARK = { pending: '·', running: '…', pass: '✔', fail: '✘', skipped: '–' } as const;
const COLOUR = { pending: undefined, running: 'cyan', pass: 'green', fail: 'red', skipped: 'gray' } as const;

/** Live view of `nat-probe turn`: the six checks as they pass or fail, the round trip's progress, then the verdict. */
export function TurnView({ state, title }: TurnViewProps) {
  const report = state.report;
  return (
    <Box flexDirection="column">
      <Text>
        <Text bold>{title}</Text>
        <Text dimColor> · {state.elapsedMs.toFixed(0)} ms</Text>
      </Text>
      {state.steps.map((entry) => (
        <Text key={entry.step} wrap="wrap">
          <Text color={COLOUR[entry.status]}>
            {MARK[entry.status]} {TURN_STEP_LABELS[entry.step].padEnd(15)}
          </Text>
          <Text dimColor={entry.status === 'skipped'}>{entry.detail ?? ''}</Text>
        </Text>
      ))}
      {state.progress && !report ? <ProgressBar done={state.progress.received} total={state.progress.total} /> : null}
      {report ? (
        <Box borderStyle="round" paddingX={1} flexDirection="column">
          <Text bold color={report.passed ? 'green' : 'red'}>
            {report.passed ? 'TURN server works: relayed data flows' : 'TURN check failed'}
          </Text>
          {report.relayed ? (
            <Text>
              relayed {report.relayed} · server-reflexive {report.mapped} · lifetime {report.lifetimeSeconds} s
            </Text>
          ) : null}
          {report.roundTrip?.rttMs ? (
            <Text>
              RTT median {report.roundTrip.rttMs.median} ms · p95 {report.roundTrip.rttMs.p95} ms · {report.roundTrip.packetsPerSecond} packets/s · {report.roundTrip.received}/
              {report.roundTrip.sent} echoed
            </Text>
          ) : null}
        </Box>
      ) : null}
    </Box>
  );
}
