/**
 * The `trials --json` document, version `nat-probe.trials/v2`: settings, the summary CI gates on
 * (success rate with its 95% interval, time to connect, pair types, failure reasons), the
 * threshold verdict, and every trial. Durations are rounded to 0.1 ms.
 *
 * v1 → v2, only with `--strategy`: `config.traversal` (the strategies and their settings),
 * `summary.traversal` (wins per path, plans, probes and sockets) and each trial's `traversal`
 * (winner, plan, probes, sockets). Every v1 field is unchanged.
 */
import type { TrialsResult } from '../peer/trials.js';
import type { TrialsSummary } from '../peer/trials-summary.js';
import type { TrialOutcome, TrialPeer, ConnectTime } from '../peer/trials-types.js';

/** Version of the `trials --json` document. Bump on any incompatible change; README documents it. */
export const TRIALS_SCHEMA = 'nat-probe.trials/v2';

export interface TrialsReportSummary extends Omit<TrialsSummary, 'successRateCi95' | 'timeToConnectMs'> {
  readonly successRateCi95: { readonly low: number; readonly high: number; readonly method: 'wilson'; readonly confidence: 0.95 };
  /** null when no trial connected. */
  readonly timeToConnectMs: { count: number; min: number; p50: number; p95: number; p99: number; max: number; mean: number } | null;
  /** Finished trials per second of wall time. */
  readonly trialsPerSecond: number;
}

export interface TrialsReport {
  readonly schema: typeof TRIALS_SCHEMA;
  readonly tool: { readonly name: 'nat-probe'; readonly version: string };
  readonly startedAt: string;
  readonly durationMs: number;
  readonly config: TrialsResult['config'];
  readonly summary: TrialsReportSummary;
  /** The success-rate threshold (--min-success, default 1: every trial must connect) and whether it was met. */
  readonly threshold: { readonly minSuccess: number; readonly met: boolean };
  /** True when the run was interrupted before every trial started. */
  readonly aborted: boolean;
  readonly trials: readonly TrialOutcome[];
  /** 0 the threshold was met over a complete run; 1 it was missed, or the run was interrupted (README "Exit codes"). */
  readonly exitCode: 0 | 1;
}

const round1 = (ms: number): number => Math.round(ms * 10) / 10;
const round4 = (ratio: number): number => Math.round(ratio * 10_000) / 10_000;

/** Default --min-success: every trial must connect, as `peer` exits 1 when its one pairing fails. */
export const DEFAULT_MIN_SUCCESS = 1;

export function trialsExitCode(summary: Pick<TrialsSummary, 'runs' | 'successRate'>, minSuccess: number): 0 | 1 {
  // No finished trial proves nothing: that is a failure, not a pass.
  return summary.runs > 0 && summary.successRate >= minSuccess ? 0 : 1;
}

export function buildTrialsReport(result: TrialsResult, meta: { version: string; minSuccess?: number }): TrialsReport {
  const { summary } = result;
  const minSuccess = meta.minSuccess ?? DEFAULT_MIN_SUCCESS;
  const met = trialsExitCode(summary, minSuccess) === 0;
  // An interrupted run (Ctrl-C, or a CI job's SIGTERM on timeout) must not pass a gate.
  const exitCode = met && !result.aborted ? 0 : 1;
  const latency = summary.timeToConnectMs;
  return {
    schema: TRIALS_SCHEMA,
    tool: { name: 'nat-probe', version: meta.version },
    startedAt: result.startedAt.toISOString(),
    durationMs: round1(result.durationMs),
    config: result.config,
    summary: {
      ...summary,
      successRate: round4(summary.successRate),
      successRateCi95: { low: round4(summary.successRateCi95.low), high: round4(summary.successRateCi95.high), method: 'wilson', confidence: 0.95 },
      timeToConnectMs: latency
        ? {
            count: latency.count,
            min: round1(latency.min),
            p50: round1(latency.p50),
            p95: round1(latency.p95),
            p99: round1(latency.p99),
            max: round1(latency.max),
            mean: round1(latency.mean),
          }
        : null,
      byPairType: summary.byPairType.map((row) => ({ ...row, share: round4(row.share) })),
      trialsPerSecond: result.durationMs > 0 ? Math.round((summary.runs / result.durationMs) * 1000 * 10) / 10 : 0,
    },
    threshold: { minSuccess, met },
    aborted: result.aborted,
    trials: result.outcomes.map(roundOutcome),
    exitCode,
  };
}

function roundOutcome(outcome: TrialOutcome): TrialOutcome {
  return {
    ...outcome,
    durationMs: round1(outcome.durationMs),
    ...(outcome.timeToConnectMs !== undefined ? { timeToConnectMs: round1(outcome.timeToConnectMs) } : {}),
    ...(outcome.connectTime !== undefined ? { connectTime: roundConnectTime(outcome.connectTime) } : {}),
    ...(outcome.selectedPair?.rttMs !== undefined ? { selectedPair: { ...outcome.selectedPair, rttMs: round1(outcome.selectedPair.rttMs) } } : {}),
    pairs: outcome.pairs.map((pair) => (pair.rttMs !== undefined ? { ...pair, rttMs: round1(pair.rttMs) } : pair)),
    peers: outcome.peers.map((peer) => ({
      ...peer,
      ...(peer.timeToConnectMs !== undefined ? { timeToConnectMs: round1(peer.timeToConnectMs) } : {}),
      ...(peer.connectTime !== undefined ? { connectTime: roundConnectTime(peer.connectTime) } : {}),
    })) as [TrialPeer, TrialPeer],
  };
}

function roundConnectTime(time: ConnectTime): ConnectTime {
  return { sincePeerJoinedMs: round1(time.sincePeerJoinedMs), parametersMs: round1(time.parametersMs), gatheringMs: round1(time.gatheringMs), checksMs: round1(time.checksMs), waitedForRelays: time.waitedForRelays };
}
