import { Box, Text } from 'ink';
import { PeerCandidates } from './PeerCandidates.js';
import { PeerPairTable } from './PeerPairTable.js';
import { TraversalStatus } from './TraversalStatus.js';
import { formatWinner, foundByStrategy } from '../report/traversal-format.js';
import type { PeerViewState } from './peer-state.js';

export interface PeerViewProps {
  readonly state: PeerViewState;
  /** Title line, e.g. "nat-probe peer · room lab-1". */
  readonly title?: string;
}

/** Live view of `nat-probe peer`: ICE state, candidates, the traversal plan and strategies, the pair table, then the verdict. */
export function PeerView({ state, title = 'nat-probe peer' }: PeerViewProps) {
  const report = state.report;
  return (
    <Box flexDirection="column">
      <Text>
        <Text bold>{title}</Text> · ICE {state.iceState} · {state.elapsedMs.toFixed(0)} ms
      </Text>
      {state.phase === 'holding' && state.hold === undefined ? <Text>Holding the selected pair with consent checks only (--hold)…</Text> : null}
      {state.warnings.map((warning) => (
        <Text key={warning} color="yellow">
          WARNING {warning}
        </Text>
      ))}
      <PeerCandidates candidates={state.candidates} />
      {state.skipped.map((skipped) => (
        <Text key={skipped.candidate} color="yellow">
          remote candidate skipped ({skipped.reason}): {skipped.candidate}
        </Text>
      ))}
      <TraversalStatus plan={state.plan} strategies={state.strategies} portmap={state.portmap} />
      {state.relays.map((relay) =>
        relay.state === 'allocated' ? (
          <Text key={relay.server} dimColor>
            TURN {relay.server}: relayed {relay.relayed} in {relay.allocateMs?.toFixed(1)} ms
          </Text>
        ) : (
          <Text key={relay.server} color="yellow">
            TURN {relay.server} failed ({relay.errorCode}): {relay.message} Going on with direct candidates.
          </Text>
        ),
      )}
      <Box marginTop={1}>
        <PeerPairTable pairs={state.pairs} selectedPairId={state.selectedPairId} maxRows={report ? 20 : 8} />
      </Box>
      {report ? (
        <Box borderStyle="round" paddingX={1} marginTop={1} flexDirection="column">
          {report.connected ? (
            <Text bold color="green">
              Connected in {report.timeToConnectMs?.toFixed(1)} ms over {report.selectedPair?.pairType} {report.selectedPair?.local} → {report.selectedPair?.remote}
            </Text>
          ) : (
            <Text bold color="red">
              Not connected: {report.failureReason}
            </Text>
          )}
          {report.traversal ? (
            <Text>
              Path won by {formatWinner(report.traversal.winner)}
              {foundByStrategy(report.selectedPair?.foundBy) ? ' (a prflx path)' : ''}
            </Text>
          ) : null}
          {state.hold !== undefined ? <Text>Hold: {state.hold}</Text> : null}
          <Text dimColor>
            room {report.room} · {report.role} · signaling {report.signalingMs.toFixed(1)} ms · {report.mode} mode
          </Text>
        </Box>
      ) : null}
    </Box>
  );
}
