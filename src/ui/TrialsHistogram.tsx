import { Box, Text } from 'ink';
import { histogram } from '../stats.js';

export interface TrialsHistogramProps {
  /** Time-to-connect samples in ms. */
  readonly samples: readonly number[];
  /** Number of bins. Default 6. */
  readonly bins?: number;
  /** Width of the longest bar. Default 30. */
  readonly width?: number;
}

const ms = (value: number): string => `${value.toFixed(value < 10 ? 1 : 0)}`;

/** Time to connect as a horizontal histogram: one row per equal-width bin. */
export function TrialsHistogram({ samples, bins = 6, width = 30 }: TrialsHistogramProps) {
  const rows = histogram(samples, bins);
  if (rows.length === 0) return <Text dimColor>time to connect: no connections yet</Text>;
  const top = Math.max(...rows.map((row) => row.count));
  const labels = rows.map((row) => `${ms(row.from)}–${ms(row.to)} ms`);
  const labelWidth = Math.max(...labels.map((label) => label.length));
  return (
    <Box flexDirection="column">
      <Text bold>Time to connect</Text>
      {rows.map((row, i) => (
        <Text key={i}>
          {labels[i]!.padStart(labelWidth)} <Text color="cyan">{'█'.repeat(Math.max(row.count > 0 ? 1 : 0, Math.round((row.count / top) * width)))}</Text> {row.count}
        </Text>
      ))}
    </Box>
  );
}

const SPARKS = '▁▂▃▄▅▆▇█';

export interface TrialsSparklineProps {
  readonly samples: readonly number[];
  /** Most recent samples shown. Default 40. */
  readonly width?: number;
}

/** The most recent times to connect as a one-line sparkline, scaled between their min and max. */
export function TrialsSparkline({ samples, width = 40 }: TrialsSparklineProps) {
  const recent = samples.slice(-width);
  if (recent.length === 0) return null;
  const min = Math.min(...recent);
  const max = Math.max(...recent);
  const spark = recent.map((value) => SPARKS[max === min ? 0 : Math.round(((value - min) / (max - min)) * (SPARKS.length - 1))]).join('');
  return (
    <Text>
      recent <Text color="cyan">{spark}</Text> <Text dimColor>{ms(min)}–{ms(max)} ms</Text>
    </Text>
  );
}
