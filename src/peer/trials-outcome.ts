/**
 * From the two settled peer sessions of one pairing to a TrialOutcome: pure, so every rule
 * about "connected" and "why it failed" is tested without sockets.
 */
import { isNatProbeError } from '../errors.js';
import { formatTransportAddress } from '../ice/candidate.js';
import { countBy } from '../stats.js';
import type { PeerSessionOutcome, SessionPair, TrialOutcome, TrialPair, TrialPeer, TrialTraversal } from './trials-types.js';

/** A session that resolved with a result, or rejected with an error. */
export type SettledSession = { readonly ok: true; readonly result: PeerSessionOutcome } | { readonly ok: false; readonly error: unknown };

/** Failure reasons that describe the end of the run, not what the path did; counted only when nothing else is known. */
const END_OF_RUN_REASONS = new Set(['cancelled', 'overall-timeout']);

export function trialOutcome(input: {
  trial: number;
  room: string;
  durationMs: number;
  sessions: readonly [SettledSession, SettledSession];
}): TrialOutcome {
  const [first, second] = input.sessions;
  const peers: [TrialPeer, TrialPeer] = [peerOf(first), peerOf(second)];
  const connected = peers[0].state === 'connected' && peers[1].state === 'connected';
  const observer = first.ok ? first.result : second.ok ? second.result : undefined;
  const pairs = observer ? observer.pairs.map(flattenPair) : [];
  const traversal = trialTraversal(first.ok ? first.result : undefined, second.ok ? second.result : undefined, connected);
  const base = { trial: input.trial, room: input.room, durationMs: input.durationMs, pairs, peers, ...(traversal !== undefined ? { traversal } : {}) } as const;
  if (connected && first.ok && second.ok) {
    const selected = first.result.selectedPair ?? second.result.selectedPair;
    // From both peers joined when the sessions say (ConnectTime), so waits before the checks count.
    const slower = sinceJoined(first.result) >= sinceJoined(second.result) ? first.result : second.result;
    return {
      ...base,
      connected: true,
      timeToConnectMs: sinceJoined(slower),
      ...(slower.connectTime !== undefined ? { connectTime: slower.connectTime } : {}),
      pairType: selected ? `${selected.local.type}/${selected.remote.type}` : undefined,
      selectedPair: selected
        ? { local: formatTransportAddress(selected.local), remote: formatTransportAddress(selected.remote), ...(selected.rttMs !== undefined ? { rttMs: selected.rttMs } : {}) }
        : undefined,
    };
  }
  return { ...base, connected: false, failureReason: trialFailureReason(input.sessions) };
}

/**
 * One trial's traversal from its sessions' reports (TrialTraversal); undefined when neither
 * session ran strategies. A session that threw has no report, and counts 0 probes and sockets.
 */
export function trialTraversal(first: PeerSessionOutcome | undefined, second: PeerSessionOutcome | undefined, connected: boolean): TrialTraversal | undefined {
  const a = first?.traversal;
  const b = second?.traversal;
  if (a === undefined && b === undefined) return undefined;
  const plan = (a ?? b)!.plan;
  const attempts = [...(a?.attempts ?? []), ...(b?.attempts ?? [])];
  return {
    winner: connected ? (a?.winner ?? b?.winner ?? 'ice') : 'none',
    plan: { technique: plan.technique, reason: plan.reason, ...(plan.probability !== undefined ? { probability: plan.probability } : {}) },
    probesSent: attempts.reduce((sum, attempt) => sum + attempt.probesSent, 0),
    socketsOpened: attempts.reduce((sum, attempt) => sum + attempt.socketsOpened, 0),
    ...(a?.portmap !== undefined || b?.portmap !== undefined ? { portmap: [a?.portmap, b?.portmap].filter((p) => p !== undefined) } : {}),
  };
}

/**
 * Why a pairing did not connect, as one stable short string that reports count:
 * - a session error's code (e.g. `signaling-unreachable`, `room-full`), when a session threw;
 * - `no-candidate-pairs`: nothing to check (no remote candidates arrived, or none matched);
 * - `not-nominated`: some pair succeeded but no pair was selected before the time bound;
 * - otherwise the commonest pair failure reason of the failing peer (`timeout`, `unreachable`,
 *   `integrity`, `role-conflict`, …; src/ice/checklist.ts PairFailureReason), falling back to
 *   `overall-timeout` when every pair was merely cut short.
 * The first peer decides when both failed.
 */
export function trialFailureReason(sessions: readonly [SettledSession, SettledSession]): string {
  for (const session of sessions) {
    if (!session.ok) return errorReason(session.error);
  }
  const failing = sessions.find((s) => s.ok && s.result.state !== 'connected');
  return (failing && sessionFailureReason(failing)) ?? 'not-nominated';
}

/** Why one session did not connect, by the rules of trialFailureReason; undefined when it connected. */
export function sessionFailureReason(session: SettledSession): string | undefined {
  if (!session.ok) return errorReason(session.error);
  if (session.result.state === 'connected') return undefined;
  const { pairs } = session.result;
  if (pairs.length === 0) {
    // With no pair at all, a failed TURN allocation is the telling cause (e.g. --relay-only with wrong credentials).
    const relayError = session.result.relays?.find((relay) => relay.error !== undefined)?.error;
    return relayError?.code ?? 'no-candidate-pairs';
  }
  if (pairs.some((pair) => normaliseState(pair.state) === 'succeeded')) return 'not-nominated';
  const telling = countBy(pairs, (pair) => (pair.failureReason !== undefined && !END_OF_RUN_REASONS.has(pair.failureReason) ? pair.failureReason : undefined));
  return telling[0]?.key ?? abandonedReason(session.result) ?? 'overall-timeout';
}

/**
 * A run the traversal ended early (TraversalRun.afterAllTried): its pairs were only cut short, so
 * the telling cause is the plan, not a timeout.
 */
function abandonedReason(result: PeerSessionOutcome): string | undefined {
  const traversal = result.traversal;
  if (result.outcome !== 'failed' || traversal === undefined) return undefined;
  if (traversal.plan.technique === 'relay-only') return 'relay-only';
  if (traversal.attempts.length > 0 && traversal.attempts.every((attempt) => !attempt.hit)) return 'strategies-exhausted';
  return undefined;
}

function errorReason(error: unknown): string {
  if (isNatProbeError(error)) return error.code;
  return 'session-error';
}

/** A connected session's time to connect from both peers joined; the checks' own time for results without ConnectTime. */
function sinceJoined(result: PeerSessionOutcome): number {
  return result.connectTime?.sincePeerJoinedMs ?? result.timeToConnectMs;
}

function peerOf(session: SettledSession): TrialPeer {
  if (!session.ok) {
    return { state: 'error', error: isNatProbeError(session.error) ? session.error.code : session.error instanceof Error ? session.error.message : String(session.error) };
  }
  const { result } = session;
  return {
    role: result.role,
    peerId: result.peerId,
    state: result.state,
    timeToConnectMs: result.state === 'connected' ? sinceJoined(result) : undefined,
    ...(result.state === 'connected' && result.connectTime !== undefined ? { connectTime: result.connectTime } : {}),
  };
}

/** 'succeeded' (the one spelling now) and 'Succeeded' (results recorded before the checklist went lower-case) read the same. */
export function normaliseState(state: string): string {
  return state.toLowerCase();
}

export function flattenPair(pair: SessionPair): TrialPair {
  return {
    id: pair.id,
    local: formatTransportAddress(pair.local),
    remote: formatTransportAddress(pair.remote),
    localType: pair.local.type,
    remoteType: pair.remote.type,
    state: normaliseState(pair.state),
    attempts: pair.attempts,
    ...(pair.rttMs !== undefined ? { rttMs: pair.rttMs } : {}),
    ...(pair.failureReason !== undefined ? { failureReason: pair.failureReason } : {}),
    ...(pair.failureDetail !== undefined ? { failureDetail: pair.failureDetail } : {}),
  };
}
