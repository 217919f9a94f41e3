import { Box, Text } from 'ink';
import type { LiveCandidate } from './peer-state.js';

export interface PeerCandidatesProps {
  readonly candidates: readonly LiveCandidate[];
  /** Rows shown per side before "+N more". Default 4. */
  readonly maxPerSide?: number;
}

const TYPE_COLOUR = { host: 'green', srflx: 'cyan', prflx: 'magenta', relay: 'yellow' } as const;

/** Local and remote candidates side by side, highest priority first. */
export function PeerCandidates({ candidates, maxPerSide = 4 }: PeerCandidatesProps) {
  return (
    <Box flexDirection="row" gap={4}>
      {(['local', 'remote'] as const).map((side) => {
        const list = candidates.filter((c) => c.side === side).sort((a, b) => b.priority - a.priority);
        return (
          <Box key={side} flexDirection="column">
            <Text bold>
              {side === 'local' ? 'Local' : 'Remote'} candidates ({list.length})
            </Text>
            {list.length === 0 ? <Text dimColor>…</Text> : null}
            {list.slice(0, maxPerSide).map((c) => (
              <Text key={`${c.type} ${c.address}`}>
                <Text color={TYPE_COLOUR[c.type]}>{c.type.padEnd(5)}</Text> {c.address}
              </Text>
            ))}
            {list.length > maxPerSide ? <Text dimColor>+{list.length - maxPerSide} more</Text> : null}
          </Box>
        );
      })}
    </Box>
  );
}
