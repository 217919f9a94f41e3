import { Box, Text } from 'ink';
import { wilsonInterval } from '../stats.js';
import type { TrialsReport } from '../report/trials-report.js';
import { PeerCandidates } from './PeerCandidates.js';
import { PeerPairTable } from './PeerPairTable.js';
import { ProgressBar } from './ProgressBar.js';
import { TrialsHistogram, TrialsSparkline } from './TrialsHistogram.js';
import { TraversalStatus } from './TraversalStatus.js';
import type { PeerViewState } from './peer-state.js';
import type { TrialsViewState } from './trials-state.js';

export interface TrialsViewProps {
  readonly state: TrialsViewState;
}

const pct = (ratio: number): string => `${(ratio * 100).toFixed(ratio === 0 || ratio === 1 ? 0 : 1)}%`;

/**
 * The trials dashboard: progress and success rate (with its 95% interval), the time-to-connect
 * histogram, the watched trial's candidates and pairs live (the last one stays on screen), and
 * the summary when the run ends.
 */
export function TrialsView({ state }: TrialsViewProps) {
  const rate = state.finished === 0 ? 0 : state.succeeded / state.finished;
  const ci = wilsonInterval(state.succeeded, state.finished);
  const failed = state.finished - state.succeeded;
  const rateColour = state.finished === 0 ? undefined : failed === 0 ? 'green' : rate >= 0.95 ? 'yellow' : 'red';
  return (
    <Box flexDirection="column">
      <Text>
        <Text bold>nat-probe trials</Text> · {state.finished}/{state.planned} done · {state.inFlight.length} in flight · {(state.elapsedMs / 1000).toFixed(1)} s
      </Text>
      <Text color={rateColour}>
        <ProgressBar done={state.finished} total={Math.max(state.planned, 1)} width={30} />
      </Text>
      <Text>
        Success <Text bold color={rateColour}>{pct(rate)}</Text> ({state.succeeded}/{state.finished}) · 95% CI {pct(ci.low)}–{pct(ci.high)}
        {failed > 0 ? <Text color="red"> · {failed} failed</Text> : null}
      </Text>
      <Text dimColor>
        {Object.entries(state.pairTypes)
          .map(([type, count]) => `${type} ${count}`)
          .join(' · ') || 'no pair selected yet'}
        {Object.keys(state.winners).length > 0
          ? `   won by: ${Object.entries(state.winners)
              .map(([path, count]) => `${path} ${count}`)
              .join(', ')}`
          : ''}
        {Object.keys(state.failureReasons).length > 0
          ? `   failures: ${Object.entries(state.failureReasons)
              .map(([reason, count]) => `${reason} ${count}`)
              .join(', ')}`
          : ''}
      </Text>
      <Box marginTop={1} flexDirection="column">
        <TrialsHistogram samples={state.timesToConnectMs} />
        <TrialsSparkline samples={state.timesToConnectMs} />
      </Box>
      {state.watched ? (
        <Box marginTop={1} flexDirection="column" borderStyle="single" paddingX={1}>
          <Text>
            <Text bold>Trial {state.watched.trial}</Text>
            {state.watchedFinished ? <Text dimColor> · done</Text> : null}
          </Text>
          <WatchedPeer label="peer 1" watched={state.watched} />
          {state.watchedOther !== undefined && state.watchedOther.phase !== 'starting' ? <WatchedPeer label="peer 2" watched={state.watchedOther} /> : null}
        </Box>
      ) : null}
      {state.report ? <Summary report={state.report} /> : null}
    </Box>
  );
}

/** One side of the watched trial: its state and role, candidates, strategies and pairs. */
function WatchedPeer({ label, watched }: { readonly label: string; readonly watched: PeerViewState }) {
  return (
    <Box flexDirection="column" marginTop={1}>
      <Text>
        <Text bold>{label}</Text> · <WatchedStatus watched={watched} />
        {watched.role ? ` · ${watched.role}` : ''}
      </Text>
      <PeerCandidates candidates={watched.candidates} maxPerSide={3} />
      <TraversalStatus plan={watched.plan} strategies={watched.strategies} portmap={watched.portmap} />
      <PeerPairTable pairs={watched.pairs} selectedPairId={watched.selectedPairId} maxRows={6} />
    </Box>
  );
}

/** Live: the ICE state. Once the session is over: its verdict (the agent is 'closed' by then). */
function WatchedStatus({ watched }: { readonly watched: PeerViewState }) {
  const done = watched.done;
  if (done === undefined) return <Text>ICE {watched.iceState}</Text>;
  return done.connected ? (
    <Text color="green">connected{done.timeToConnectMs !== undefined ? ` in ${done.timeToConnectMs.toFixed(1)} ms` : ''}</Text>
  ) : (
    <Text color="red">not connected: {done.failureReason ?? 'unknown'}</Text>
  );
}

function Summary({ report }: { readonly report: TrialsReport }) {
  const { summary } = report;
  const latency = summary.timeToConnectMs;
  return (
    <Box marginTop={1} flexDirection="column" borderStyle="round" paddingX={1}>
      <Text bold color={report.exitCode === 0 ? 'green' : 'red'}>
        Summary: {pct(summary.successRate)} connected ({summary.succeeded}/{summary.runs}), 95% CI {pct(summary.successRateCi95.low)}–{pct(summary.successRateCi95.high)} ·{' '}
        {report.threshold.met ? 'threshold met' : `below --min-success ${pct(report.threshold.minSuccess)}`}
      </Text>
      {report.aborted ? (
        <Text color="yellow">
          Interrupted after {summary.runs} of {report.config.runs} trials: exit status 1
        </Text>
      ) : null}
      <Text>{latency ? `Time to connect p50 ${latency.p50} ms · p95 ${latency.p95} ms · p99 ${latency.p99} ms` : 'No trial connected'}</Text>
      <Text>
        By pair type: {summary.byPairType.map((row) => `${row.pairType} ${row.trials}`).join(', ') || '—'} · {summary.trialsPerSecond} trials/s
      </Text>
      {summary.traversal ? (
        <Text>
          Won by: {Object.entries(summary.traversal.wins)
            .map(([path, trials]) => `${path} ${trials}`)
            .join(' · ')}{' '}
          · {summary.traversal.probesSent} probes, {summary.traversal.socketsOpened} sockets
        </Text>
      ) : null}
      {summary.failureReasons.map((row) => (
        <Text key={row.reason} color="red">
          {row.reason} × {row.count}
        </Text>
      ))}
    </Box>
  );
}
