import { Box, Text } from 'ink';
import type { PairState } from '../events.js';
import type { LivePair } from './peer-state.js';

export interface PeerPairTableProps {
  readonly pairs: readonly LivePair[];
  readonly selectedPairId?: string;
  /** Rows shown before "+N more". Default 8. */
  readonly maxRows?: number;
}

const STATE_COLOUR: Readonly<Record<PairState, string | undefined>> = {
  frozen: 'gray',
  waiting: undefined,
  'in-progress': 'cyan',
  succeeded: 'green',
  failed: 'red',
};

const pad = (text: string, width: number): string => (text.length >= width ? `${text.slice(0, width - 1)}…` : text.padEnd(width));

/** Candidate pairs with their state, RTT and attempts (RFC 8445 §6.1.2.6 states). */
export function PeerPairTable({ pairs, selectedPairId, maxRows = 8 }: PeerPairTableProps) {
  return (
    <Box flexDirection="column">
      <Text bold>
        {pad('Pair', 12)} {pad('Local', 22)} {pad('Remote', 22)} {pad('State', 12)} {pad('RTT', 9)} Tries
      </Text>
      {pairs.length === 0 ? <Text dimColor>no pairs yet</Text> : null}
      {pairs.slice(0, maxRows).map((pair) => {
        const selected = pair.pairId === selectedPairId || pair.nominated === true;
        return (
          <Text key={pair.pairId}>
            {pad(`${pair.localType}/${pair.remoteType}`, 12)} {pad(pair.local, 22)} {pad(pair.remote, 22)}{' '}
            <Text color={STATE_COLOUR[pair.state]} bold={selected}>
              {pad(`${pair.state}${selected ? ' ★' : ''}`, 12)}
            </Text>{' '}
            {pad(pair.rttMs !== undefined ? `${pair.rttMs.toFixed(1)} ms` : '—', 9)} {pair.attempts}
            {pair.failureReason !== undefined ? <Text dimColor> {pair.failureReason}</Text> : null}
          </Text>
        );
      })}
      {pairs.length > maxRows ? <Text dimColor>+{pairs.length - maxRows} more pairs</Text> : null}
    </Box>
  );
}
