import { Box, Text } from 'ink';
import { formatAttempt, formatPlanHead, formatPortmap } from '../report/traversal-format.js';
import type { PortmapReport } from '../traversal/types.js';
import { ProgressBar } from './ProgressBar.js';
import type { LivePlan, LiveStrategy } from './peer-state.js';

export interface TraversalStatusProps {
  readonly plan: LivePlan | undefined;
  readonly strategies: readonly LiveStrategy[];
  /** portmap: the gateway mapping, once asked. */
  readonly portmap?: PortmapReport | undefined;
}

/**
 * The traversal plan (technique, duties, probability, reason) and each strategy: a progress bar
 * of probes against its budget while it runs, then how it ended. Nothing without `--strategy`.
 */
export function TraversalStatus({ plan, strategies, portmap }: TraversalStatusProps) {
  if (plan === undefined && strategies.length === 0 && portmap === undefined) return null;
  return (
    <Box flexDirection="column">
      {plan ? (
        <>
          <Text>
            <Text bold>Traversal</Text> {formatPlanHead(plan.plan)}
          </Text>
          <Box paddingLeft={2}>
            <Text dimColor>{plan.plan.reason}</Text>
          </Box>
        </>
      ) : null}
      {portmap ? (
        <Box paddingLeft={2}>
          <Text color={portmap.mapped && portmap.advertised ? 'green' : undefined} dimColor={!portmap.mapped}>
            portmap {formatPortmap(portmap)}
          </Text>
        </Box>
      ) : null}
      {strategies.map((s) => (
        <Box key={s.strategy} paddingLeft={2}>
          {s.done === undefined ? (
            <Text>
              {s.strategy} <ProgressBar done={s.probesSent} total={s.budget ?? 0} width={20} /> probes · {s.socketsOpened} sockets
            </Text>
          ) : (
            <Text color={s.done.hit ? 'green' : undefined} dimColor={!s.done.hit}>
              {formatAttempt(s.done)}
            </Text>
          )}
        </Box>
      ))}
    </Box>
  );
}
