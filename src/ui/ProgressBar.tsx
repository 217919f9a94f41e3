import { Text } from 'ink';

export interface ProgressBarProps {
  readonly done: number;
  readonly total: number;
  readonly width?: number;
}

/** A plain block progress bar; colour comes from the caller's <Text>. */
export function ProgressBar({ done, total, width = 24 }: ProgressBarProps) {
  const ratio = total <= 0 ? 0 : Math.min(1, done / total);
  const filled = Math.round(ratio * width);
  return (
    <Text>
      {'█'.repeat(filled)}
      {'░'.repeat(width - filled)} {done}/{total}
    </Text>
  );
}
