/**
 * The `peer --json` document, version `nat-probe.peer/v2`: one peer session — the selected pair,
 * every pair's state, RTT and attempts, the candidates, time to connect, and (v2) what the
 * traversal strategies did when `--strategy` asked for any.
 *
 * v1 → v2: `traversal` (present only with strategies) and `selectedPair.foundBy`; every v1 field
 * is unchanged, so a v1 reader that ignores unknown fields keeps working.
 */
import type { PeerSessionView, SessionViewCandidate } from '../peer/session-view.js';
import type { PeerSessionOutcome, SessionRelay, TrialPair } from '../peer/trials-types.js';
import type { TraversalReport, WinningPath } from '../traversal/types.js';
import type { PathHoldReport } from '../peer/path-hold.js';

export const PEER_SCHEMA = 'nat-probe.peer/v2';

/**
 * The session's TraversalReport (src/traversal/types.ts) with times rounded to 0.1 ms: what was
 * requested, both behaviours, the plan, each strategy attempt, the relay ladder and the winner.
 */
export type PeerReportTraversal = TraversalReport;

export type PeerReportCandidate = SessionViewCandidate;

export interface PeerReport {
  readonly schema: typeof PEER_SCHEMA;
  readonly tool: { readonly name: 'nat-probe'; readonly version: string };
  readonly startedAt: string;
  readonly durationMs: number;
  readonly room: string;
  readonly mode: 'connect' | 'survey';
  readonly peerId: string;
  readonly role: string;
  readonly connected: boolean;
  /** From both peers joined to the selected pair (connectTime.sincePeerJoinedMs); null when not connected. */
  readonly timeToConnectMs: number | null;
  /** What that time was spent on: signaling (the other's parameters), gathering still under way (TURN included when the checks waited for it), the checks. */
  readonly connectTime?: { readonly parametersMs: number; readonly gatheringMs: number; readonly checksMs: number; readonly waitedForRelays: boolean };
  /** Time spent on signaling before checks could start. */
  readonly signalingMs: number;
  readonly selectedPair: {
    readonly pairType: string;
    readonly local: string;
    readonly remote: string;
    readonly rttMs: number | null;
    /** v2, with strategies: the path that found this pair (`predict`/`birthday` for their prflx paths). */
    readonly foundBy?: WinningPath;
  } | null;
  readonly pairs: readonly TrialPair[];
  readonly localCandidates: readonly PeerReportCandidate[];
  readonly remoteCandidates: readonly PeerReportCandidate[];
  /** The reason it did not connect (same vocabulary as trials); null when connected. */
  readonly failureReason: string | null;
  /** v2 (additive): the failure in this session's own words, e.g. which remote candidates were skipped; null when none. */
  readonly failureDetail: string | null;
  /** v2 (additive): remote candidates that could not be used, with the reason ('mdns-hostname', 'transport', …). */
  readonly skippedRemoteCandidates: readonly { readonly candidate: string; readonly reason: string }[];
  /** Each TURN allocation tried: the relayed address, or the error (the run went on without it). Empty without TURN. */
  readonly relays: readonly SessionRelay[];
  /** What the other peer reported through signaling, as it sent it; null when it sent nothing. */
  readonly remoteResult: unknown;
  /** v2: present only when `--strategy` asked for a strategy beyond ICE. */
  readonly traversal?: PeerReportTraversal;
  /** Plain warnings about this peer's environment (`loopback-only`: no interface but loopback); absent when none. */
  readonly warnings?: readonly { readonly code: string; readonly message: string }[];
  /**
   * v2 (additive), with `--hold`: what consent freshness did while the selected pair was held and
   * whether its traffic keeps a mapping of the given lifetime alive (src/peer/path-hold.ts).
   */
  readonly hold?: PathHoldReport;
  /** 0 connected (and, with --hold, consent kept), 1 not (README "Exit codes"). */
  readonly exitCode: 0 | 1;
}

const round1 = (ms: number): number => Math.round(ms * 10) / 10;
/** `view` is `describePeerSession(result)` (src/peer/session-view.ts): the engine's own wording of the session. */
export function buildPeerReport(
  result: PeerSessionOutcome & { readonly room: string; readonly remoteResult?: unknown; readonly hold?: PathHoldReport },
  view: PeerSessionView,
  meta: { version: string; startedAt: Date; durationMs: number; mode: 'connect' | 'survey' },
): PeerReport {
  const connected = result.state === 'connected';
  const selected = view.selectedPair;
  const traversal = result.traversal;
  const foundBy = traversal !== undefined && traversal.winner !== 'none' ? { foundBy: traversal.winner } : {};
  return {
    schema: PEER_SCHEMA,
    tool: { name: 'nat-probe', version: meta.version },
    startedAt: meta.startedAt.toISOString(),
    durationMs: round1(meta.durationMs),
    room: result.room,
    mode: meta.mode,
    peerId: result.peerId,
    role: result.role,
    connected,
    timeToConnectMs: connected ? round1(result.connectTime?.sincePeerJoinedMs ?? result.timeToConnectMs) : null,
    ...(connected && result.connectTime !== undefined
      ? { connectTime: { parametersMs: round1(result.connectTime.parametersMs), gatheringMs: round1(result.connectTime.gatheringMs), checksMs: round1(result.connectTime.checksMs), waitedForRelays: result.connectTime.waitedForRelays } }
      : {}),
    signalingMs: round1(result.signalingMs),
    selectedPair: selected ? { pairType: selected.pairType, local: selected.local, remote: selected.remote, rttMs: selected.rttMs !== undefined ? round1(selected.rttMs) : null, ...foundBy } : null,
    pairs: view.pairs.map((pair) => (pair.rttMs !== undefined ? { ...pair, rttMs: round1(pair.rttMs) } : pair)),
    localCandidates: view.localCandidates,
    remoteCandidates: view.remoteCandidates,
    failureReason: view.failureReason,
    failureDetail: view.failureDetail,
    skippedRemoteCandidates: view.skippedRemoteCandidates,
    relays: (result.relays ?? []).map((relay) => (relay.allocateMs !== undefined ? { ...relay, allocateMs: round1(relay.allocateMs) } : relay)),
    remoteResult: result.remoteResult ?? null,
    ...(traversal !== undefined ? { traversal: roundTraversal(traversal) } : {}),
    ...(result.warnings !== undefined && result.warnings.length > 0 ? { warnings: result.warnings } : {}),
    ...(result.hold !== undefined ? { hold: { ...result.hold, heldMs: round1(result.hold.heldMs), ...(result.hold.largestGapMs !== undefined ? { largestGapMs: round1(result.hold.largestGapMs) } : {}) } } : {}),
    // A path that lost consent while held did not last: the run failed what it was asked to show.
    exitCode: connected && result.hold?.consentLost !== true ? 0 : 1,
  };
}

function roundTraversal(traversal: TraversalReport): PeerReportTraversal {
  return {
    requested: traversal.requested,
    ...(traversal.localBehaviour !== undefined ? { localBehaviour: traversal.localBehaviour } : {}),
    ...(traversal.remoteBehaviour !== undefined ? { remoteBehaviour: traversal.remoteBehaviour } : {}),
    plan: traversal.plan,
    attempts: traversal.attempts.map((attempt) => ({ ...attempt, startedAtMs: round1(attempt.startedAtMs), endedAtMs: round1(attempt.endedAtMs) })),
    ladder: traversal.ladder.map((rung) => ({ ...rung, startedAtMs: round1(rung.startedAtMs), ...(rung.endedAtMs !== undefined ? { endedAtMs: round1(rung.endedAtMs) } : {}) })),
    winner: traversal.winner,
    ...(traversal.portmap !== undefined ? { portmap: { ...traversal.portmap, ...(traversal.portmap.durationMs !== undefined ? { durationMs: round1(traversal.portmap.durationMs) } : {}) } } : {}),
  };
}
