import { Box, Text } from 'ink';
import type { DetectFamilyReport } from '../report/detect-report.js';
import type { DetectViewState } from './detect-state.js';
import { ProgressBar } from './ProgressBar.js';
import type { PortMappingSummary } from '../nat/port-mapping.js';
import { describeProtocol, portMappingRows } from '../report/portmap-format.js';
import { describeBracket, lifetimeRows } from '../report/lifetime-format.js';

export interface DetectViewProps {
  readonly state: DetectViewState;
}

/** Live view of `nat-probe detect`: progress while probing, then the verdict. */
export function DetectView({ state }: DetectViewProps) {
  return (
    <Box flexDirection="column">
      {state.results.length === 0 ? <Progress state={state} /> : state.results.map((result) => <Verdict key={result.family} result={result} />)}
      {state.portMapping ? <PortMapping summary={state.portMapping} /> : null}
      {state.lifetimeReport ? <Rows title="Mapping lifetime" rows={lifetimeRows(state.lifetimeReport)} /> : null}
    </Box>
  );
}

function Progress({ state }: DetectViewProps) {
  return (
    <Box flexDirection="column">
      <Text>
        <Text bold>nat-probe detect</Text>
        {state.family ? ` · IPv${state.family}` : ''} · {state.phase} · {state.elapsedMs.toFixed(0)} ms
      </Text>
      <ProgressBar done={state.finished} total={Math.max(state.sent, 1)} />
      {state.portmap.map((report) => {
        const { name, text } = describeProtocol(report);
        return (
          <Text key={report.protocol} dimColor={!report.present}>
            {report.present ? '✔' : '✘'} {name}: {text}
          </Text>
        );
      })}
      {state.lifetime ? (
        <Text>
          Mapping lifetime: {state.lifetime.tested}/{state.lifetime.planned} mappings tested · {(state.lifetime.elapsedMs / 1000).toFixed(0)} s of at most{' '}
          {(state.lifetime.maxMs / 1000).toFixed(0)} s
          {Object.entries(state.lifetime.bracket).map(([kind, bracket]) => (bracket ? ` · ${kind}: ${describeBracket(bracket)}` : ''))}
        </Text>
      ) : null}
      {state.servers.map((server) => (
        <Text key={server.label} dimColor={!server.answered}>
          {server.answered ? '✔' : '…'} {server.label}
          {server.rttMs !== undefined ? `  ${server.rttMs.toFixed(1)} ms` : ''}
        </Text>
      ))}
    </Box>
  );
}

function Verdict({ result }: { readonly result: DetectFamilyReport }) {
  const colour = result.verdict.kind === 'udp-blocked' || result.verdict.kind === 'inconclusive' ? 'red' : result.verdict.classicName === 'symmetric' ? 'yellow' : 'green';
  return (
    <Box flexDirection="column" borderStyle="round" paddingX={1} marginBottom={1}>
      <Text>
        <Text bold color={colour}>
          IPv{result.family}: {result.headline}
        </Text>
        <Text dimColor>
          {'  '}
          {result.behaviour} · confidence {result.verdict.confidence} · {result.durationMs} ms
        </Text>
      </Text>
      {result.verdict.publicAddresses.length > 0 ? <Text>Public address: {result.verdict.publicAddresses.join(', ')}</Text> : null}
      <Text>Port allocation: {result.verdict.portAllocation.kind}</Text>
      <Text wrap="wrap">{result.meaning}</Text>
      {result.compatibility ? (
        <>
          <Text color="green" wrap="wrap">Direct: {result.compatibility.direct.join(', ') || 'none'}</Text>
          <Text color="yellow" wrap="wrap">Needs TURN: {result.compatibility.needsRelay.join(', ') || 'none'}</Text>
        </>
      ) : null}
      {result.verdict.reasons.map((reason, i) => (
        <Text key={i} dimColor wrap="wrap">
          · {reason}
        </Text>
      ))}
    </Box>
  );
}

function PortMapping({ summary }: { readonly summary: PortMappingSummary }) {
  const rows = portMappingRows(summary);
  const double = summary.status === 'probed' && summary.doubleNat.verdict === 'double-nat';
  return (
    <Box flexDirection="column" borderStyle="round" paddingX={1}>
      <Text bold color={double ? 'yellow' : undefined}>
        Port mapping
      </Text>
      {rows.map(([label, text]) => (
        <Text key={label} wrap="wrap">
          <Text bold>{label}:</Text> {text}
        </Text>
      ))}
    </Box>
  );
}

function Rows({ title, rows }: { readonly title: string; readonly rows: ReadonlyArray<[string, string]> }) {
  return (
    <Box flexDirection="column" borderStyle="round" paddingX={1}>
      <Text bold>{title}</Text>
      {rows.map(([label, text]) => (
        <Text key={label} wrap="wrap">
          <Text bold>{label}:</Text> {text}
        </Text>
      ))}
    </Box>
  );
}
