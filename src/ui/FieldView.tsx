import { Box, Text } from 'ink';
import type { FieldViewState, FieldViewVisit } from './field-state.js';

export interface FieldViewProps {
  readonly state: FieldViewState;
}

const RESULT_COLOUR: Readonly<Record<string, string>> = { direct: 'green', relay: 'yellow', 'needs-relay': 'yellow', blocked: 'red', 'no-webrtc': 'red', unfinished: 'red' };
const PAIR_COLOUR: Readonly<Record<string, string>> = { succeeded: 'green', failed: 'red' };

function VisitBox({ visit }: { readonly visit: FieldViewVisit }) {
  const g = visit.gather;
  const i = visit.ice;
  return (
    <Box borderStyle="round" paddingX={1} flexDirection="column">
      <Text>
        <Text bold>{visit.id}</Text> {visit.browser} on {visit.os} <Text dimColor>· nat-probe ICE-{visit.natProbeRole} · {visit.phase}</Text>
      </Text>
      <Text>
        candidates: nat-probe {visit.localCandidates}, browser {visit.remoteCandidates}
      </Text>
      {g ? (
        <Text wrap="wrap">
          browser gathered {g.hostCandidates} host, {g.srflxCandidates} srflx, {g.relayCandidates} relay · mapping <Text bold>{g.mapping}</Text>
        </Text>
      ) : null}
      {g?.mdnsHidden ? <Text color="yellow">mDNS hides host addresses (.local names)</Text> : null}
      {g?.hostHidden ? <Text color="yellow">the browser withholds its host addresses</Text> : null}
      {i ? (
        <Text>
          browser ICE {i.connected ? <Text color="green">connected</Text> : <Text color="red">{i.finalState}</Text>}
          {i.selectedPairType ? ` via ${i.selectedPairType}${i.selectedRttMs !== null ? ` rtt ${i.selectedRttMs} ms` : ''}` : ''}
        </Text>
      ) : null}
      {visit.pairs.map((pair) => (
        <Text key={pair.id} wrap="truncate">
          <Text color={PAIR_COLOUR[pair.state]}>{pair.state.padEnd(11)}</Text> {pair.pairType.padEnd(11)} {pair.local} → {pair.remote}
          {pair.rttMs !== undefined ? ` ${pair.rttMs.toFixed(1)} ms` : ''}
          {pair.failureReason ? ` (${pair.failureReason})` : ''}
        </Text>
      ))}
      {visit.ended ? (
        <Text wrap="wrap">
          <Text bold color={RESULT_COLOUR[visit.ended.result.code]}>
            {visit.ended.result.sentence}
          </Text>
          <Text dimColor>
            {' '}
            ({visit.ended.reason}
            {visit.ended.detail ? `: ${visit.ended.detail}` : ''})
          </Text>
        </Text>
      ) : null}
    </Box>
  );
}

/** Live view of `nat-probe field`: the link to send, then each visit as it happens. */
export function FieldView({ state }: FieldViewProps) {
  return (
    <Box flexDirection="column">
      <Text bold>nat-probe field</Text>
      {state.link ? (
        <Text>
          Send this link to the customer: <Text color="cyan">{state.link.url}</Text> <Text dimColor>(expires {state.link.expiresAt})</Text>
        </Text>
      ) : (
        <Text dimColor>starting…</Text>
      )}
      {state.visits.length === 0 ? <Text dimColor>waiting for the customer to open the link…</Text> : null}
      {state.visits.map((visit) => (
        <VisitBox key={visit.id} visit={visit} />
      ))}
      {state.refused > 0 ? <Text dimColor>{state.refused} request(s) refused (unknown link, rate limit, bad findings)</Text> : null}
    </Box>
  );
}
