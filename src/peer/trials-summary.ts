/**
 * The numbers a trials run is judged by, computed from its outcomes: success rate with a 95%
 * Wilson interval, time to connect p50/p95/p99, which pair types carried the connections, which
 * pair types worked when checked, and why trials failed. Pure.
 */
import type { CandidateType } from '../ice/candidate.js';
import { countBy, summarizeLatencies, wilsonInterval, type LatencySummary, type ProportionInterval } from '../stats.js';
import type { PlanTechnique, WinningPath } from '../traversal/types.js';
import type { TrialOutcome } from './trials-types.js';

export const CANDIDATE_TYPES: readonly CandidateType[] = ['host', 'srflx', 'prflx', 'relay'];

export interface TrialsSummary {
  /** Trials finished (connected or not). */
  readonly runs: number;
  readonly succeeded: number;
  readonly failed: number;
  /** succeeded / runs; 0 with no runs. */
  readonly successRate: number;
  /** 95% Wilson score interval of the success rate. */
  readonly successRateCi95: ProportionInterval;
  /** Time to connect over connected trials; undefined when none connected. */
  readonly timeToConnectMs: LatencySummary | undefined;
  /** Connected trials by the selected pair's "local/remote" candidate types, commonest first. */
  readonly byPairType: ReadonlyArray<{ readonly pairType: string; readonly trials: number; readonly share: number }>;
  /**
   * Connected trials whose selected pair used each candidate type on either side: the
   * "success by pair type (host/srflx/prflx/relay)" line.
   */
  readonly byCandidateType: Readonly<Record<CandidateType, number>>;
  /** Every checked pair (first peer's view) by "local/remote" type: how many were checked and how many succeeded. Most telling in survey mode. */
  readonly pairChecks: ReadonlyArray<{ readonly pairType: string; readonly checked: number; readonly succeeded: number; readonly failed: number }>;
  /**
   * Medians of what the connected trials' time to connect was spent on (the slower peer's
   * ConnectTime): signaling (the other's parameters), gathering left to wait for (TURN included
   * when checks wait for it), the checks. Absent when no trial reported it.
   */
  readonly spentOnMs?: { readonly parameters: number; readonly gathering: number; readonly checks: number; readonly trialsWaitingForRelays: number };
  /** Failed trials by reason, commonest first. */
  readonly failureReasons: ReadonlyArray<{ readonly reason: string; readonly count: number }>;
  /** Present when any trial ran traversal strategies (`--strategy`). */
  readonly traversal?: TrialsTraversalSummary;
}

/** A path a connected trial can be won by. */
export type WonPath = Exclude<WinningPath, 'none'>;
export const WON_PATHS: readonly WonPath[] = ['ice', 'predict', 'birthday', 'portmap', 'relay-udp', 'relay-tcp', 'relay-tls'];

/** What the strategies did over a run: which path won the connected trials, the plans, and what it cost. */
export interface TrialsTraversalSummary {
  /** Trials that reported traversal. */
  readonly trials: number;
  /** Connected trials by the path that won them; every path is listed, 0 when it won none. */
  readonly wins: Readonly<Record<WonPath, number>>;
  /** Trials by the plan's technique (the first peer's plan), commonest first. */
  readonly byTechnique: ReadonlyArray<{ readonly technique: PlanTechnique; readonly trials: number }>;
  /** Datagrams sent to unsignalled (predicted or random) ports, both peers of every trial together. */
  readonly probesSent: number;
  /** Extra sockets opened for the strategies, both peers of every trial together. */
  readonly socketsOpened: number;
}

export function summarizeTrials(outcomes: readonly TrialOutcome[]): TrialsSummary {
  const runs = outcomes.length;
  const connected = outcomes.filter((o) => o.connected);
  const succeeded = connected.length;
  const byCandidateType: Record<CandidateType, number> = { host: 0, srflx: 0, prflx: 0, relay: 0 };
  for (const outcome of connected) {
    if (outcome.pairType === undefined) continue;
    const used = new Set(outcome.pairType.split('/'));
    for (const type of CANDIDATE_TYPES) if (used.has(type)) byCandidateType[type] += 1;
  }
  return {
    runs,
    succeeded,
    failed: runs - succeeded,
    successRate: runs === 0 ? 0 : succeeded / runs,
    successRateCi95: wilsonInterval(succeeded, runs),
    timeToConnectMs: summarizeLatencies(connected.flatMap((o) => (o.timeToConnectMs !== undefined ? [o.timeToConnectMs] : []))),
    byPairType: countBy(connected, (o) => o.pairType).map(({ key, count }) => ({ pairType: key, trials: count, share: succeeded === 0 ? 0 : count / succeeded })),
    byCandidateType,
    pairChecks: pairChecks(outcomes),
    failureReasons: countBy(outcomes, (o) => (o.connected ? undefined : (o.failureReason ?? 'unknown'))).map(({ key, count }) => ({ reason: key, count })),
    ...spentOnPart(connected),
    ...traversalPart(outcomes),
  };
}

function traversalPart(outcomes: readonly TrialOutcome[]): { traversal?: TrialsTraversalSummary } {
  const withTraversal = outcomes.filter((o) => o.traversal !== undefined);
  if (withTraversal.length === 0) return {};
  const wins = Object.fromEntries(WON_PATHS.map((path) => [path, 0])) as Record<WonPath, number>;
  for (const o of withTraversal) {
    const winner = o.traversal!.winner;
    if (o.connected && winner !== 'none') wins[winner] += 1;
  }
  return {
    traversal: {
      trials: withTraversal.length,
      wins,
      byTechnique: countBy(withTraversal, (o) => o.traversal!.plan.technique).map(({ key, count }) => ({ technique: key as PlanTechnique, trials: count })),
      probesSent: withTraversal.reduce((sum, o) => sum + o.traversal!.probesSent, 0),
      socketsOpened: withTraversal.reduce((sum, o) => sum + o.traversal!.socketsOpened, 0),
    },
  };
}

function pairChecks(outcomes: readonly TrialOutcome[]): TrialsSummary['pairChecks'] {
  const rows = new Map<string, { checked: number; succeeded: number; failed: number }>();
  for (const outcome of outcomes) {
    for (const pair of outcome.pairs) {
      // A pair never sent (frozen/waiting when the run stopped) tells nothing about the path.
      if (pair.attempts === 0) continue;
      const key = `${pair.localType}/${pair.remoteType}`;
      const row = rows.get(key) ?? { checked: 0, succeeded: 0, failed: 0 };
      row.checked += 1;
      if (pair.state === 'succeeded') row.succeeded += 1;
      else if (pair.state === 'failed') row.failed += 1;
      rows.set(key, row);
    }
  }
  return [...rows].map(([pairType, row]) => ({ pairType, ...row })).sort((a, b) => b.checked - a.checked || a.pairType.localeCompare(b.pairType));
}

function medianOf(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** TrialsSummary.spentOnMs from the connected trials that carry a ConnectTime. */
function spentOnPart(connected: readonly TrialOutcome[]): Pick<TrialsSummary, 'spentOnMs'> {
  const times = connected.flatMap((o) => (o.connectTime !== undefined ? [o.connectTime] : []));
  if (times.length === 0) return {};
  return {
    spentOnMs: {
      parameters: medianOf(times.map((t) => t.parametersMs)),
      gathering: medianOf(times.map((t) => t.gatheringMs)),
      checks: medianOf(times.map((t) => t.checksMs)),
      trialsWaitingForRelays: times.filter((t) => t.waitedForRelays).length,
    },
  };
}
