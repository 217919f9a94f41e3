/**
 * The `peer --json` document, version `nat-probe.peer/v1`: one peer session — the selected pair,
 * every pair's state, RTT and attempts, the candidates, and time to connect.
 */
import type { PeerSessionView, SessionViewCandidate } from '../peer/session-view.js';
import type { PeerSessionOutcome, SessionRelay, TrialPair } from '../peer/trials-types.js';

export const PEER_SCHEMA = 'nat-probe.peer/v1';

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
  /** From both peers joined to the selected pair; null when not connected. */
  readonly timeToConnectMs: number | null;
  /** Time spent on signaling before checks could start. */
  readonly signalingMs: number;
  readonly selectedPair: { readonly pairType: string; readonly local: string; readonly remote: string; readonly rttMs: number | null } | null;
  readonly pairs: readonly TrialPair[];
  readonly localCandidates: readonly PeerReportCandidate[];
  readonly remoteCandidates: readonly PeerReportCandidate[];
  /** The reason it did not connect (same vocabulary as trials); null when connected. */
  readonly failureReason: string | null;
  /** Each TURN allocation tried: the relayed address, or the error (the run went on without it). Empty without TURN. */
  readonly relays: readonly SessionRelay[];
  /** What the other peer reported through signaling, as it sent it; null when it sent nothing. */
  readonly remoteResult: unknown;
  /** 0 connected, 1 not (README "Exit codes"). */
  readonly exitCode: 0 | 1;
}

const round1 = (ms: number): number => Math.round(ms * 10) / 10;
/** `view` is `describePeerSession(result)` (src/peer/session-view.ts): the engine's own wording of the session. */
export function buildPeerReport(
  result: PeerSessionOutcome & { readonly room: string; readonly remoteResult?: unknown },
  view: PeerSessionView,
  meta: { version: string; startedAt: Date; durationMs: number; mode: 'connect' | 'survey' },
): PeerReport {
  const connected = result.state === 'connected';
  const selected = view.selectedPair;
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
    timeToConnectMs: connected ? round1(result.timeToConnectMs) : null,
    signalingMs: round1(result.signalingMs),
    selectedPair: selected ? { pairType: selected.pairType, local: selected.local, remote: selected.remote, rttMs: selected.rttMs !== undefined ? round1(selected.rttMs) : null } : null,
    pairs: view.pairs.map((pair) => (pair.rttMs !== undefined ? { ...pair, rttMs: round1(pair.rttMs) } : pair)),
    localCandidates: view.localCandidates,
    remoteCandidates: view.remoteCandidates,
    failureReason: view.failureReason,
    relays: (result.relays ?? []).map((relay) => (relay.allocateMs !== undefined ? { ...relay, allocateMs: round1(relay.allocateMs) } : relay)),
    remoteResult: result.remoteResult ?? null,
    exitCode: connected ? 0 : 1,
  };
}
