/**
 * One peer session as reporters show it: pairs flattened to printable rows, candidates and the
 * selected pair as `address:port` text, and the failure reason in the trials' vocabulary. The
 * engine derives these, so report/ and ui/ render result types only (DESIGN.md layers) and `peer`
 * and `trials` can never word a failure differently.
 */
import { formatTransportAddress } from '../ice/candidate.js';
import { flattenPair, sessionFailureReason } from './trials-outcome.js';
import type { PeerSessionOutcome, SessionCandidate, TrialPair } from './trials-types.js';

export interface SessionViewCandidate {
  readonly type: SessionCandidate['type'];
  readonly address: string;
}

export interface PeerSessionView {
  readonly selectedPair: { readonly pairType: string; readonly local: string; readonly remote: string; readonly rttMs?: number } | null;
  readonly pairs: readonly TrialPair[];
  readonly localCandidates: readonly SessionViewCandidate[];
  readonly remoteCandidates: readonly SessionViewCandidate[];
  /** Why it did not connect; null when connected. */
  readonly failureReason: string | null;
}

const candidate = (c: SessionCandidate): SessionViewCandidate => ({ type: c.type, address: formatTransportAddress(c) });

export function describePeerSession(result: PeerSessionOutcome): PeerSessionView {
  const selected = result.selectedPair;
  return {
    selectedPair: selected
      ? {
          pairType: `${selected.local.type}/${selected.remote.type}`,
          local: formatTransportAddress(selected.local),
          remote: formatTransportAddress(selected.remote),
          ...(selected.rttMs !== undefined ? { rttMs: selected.rttMs } : {}),
        }
      : null,
    pairs: result.pairs.map(flattenPair),
    localCandidates: result.localCandidates.map(candidate),
    remoteCandidates: result.remoteCandidates.map(candidate),
    failureReason: sessionFailureReason({ ok: true, result }) ?? null,
  };
}
