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
  /** The failure in words specific to this session (which candidates were skipped, how long it waited); null when none. */
  readonly failureDetail: string | null;
  /** Remote candidates the session could not use, with the reason. */
  readonly skippedRemoteCandidates: readonly { readonly candidate: string; readonly reason: string }[];
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
    failureDetail: failureDetailOf(result),
    skippedRemoteCandidates: (result.skippedRemoteCandidates ?? []).map(({ candidate, reason }) => ({ candidate, reason })),
  };
}

/**
 * Words for a session that had nothing to check: which of the peer's candidates could not be used
 * and why, and how long it waited for the peer's own checks (RFC 8445 §7.3.1.3), so a report never
 * says "no remote candidates arrived" when some did.
 */
function failureDetailOf(result: PeerSessionOutcome): string | null {
  if (result.state === 'connected' || result.pairs.length > 0) return null;
  const skipped = result.skippedRemoteCandidates ?? [];
  const waited = result.peerCheckWaitMs !== undefined ? `, and no check from the peer arrived within ${Math.round(result.peerCheckWaitMs)} ms` : '';
  if (skipped.length > 0) {
    const list = skipped.map((s) => `${addressOfLine(s.candidate)} (${s.reason})`).join(', ');
    return `the peer's ${skipped.length} remote candidate(s) could not be used: ${list}${result.remoteCandidates.length > 0 ? '; the others shared no address family with this side' : ''}${waited}`;
  }
  if (result.remoteCandidates.length > 0) return `no local candidate shares an address family with the peer's ${result.remoteCandidates.length} candidate(s)${waited}`;
  return `no remote candidates arrived${waited}`;
}

/** "candidate:1 1 udp 2130706431 x.local 50000 typ host" → "udp x.local 50000 host", for a short list. */
function addressOfLine(line: string): string {
  const parts = line.replace(/^a=/, '').split(/\s+/);
  return parts.length >= 8 ? `${parts[2]} ${parts[4]} ${parts[5]} ${parts[7]}` : line;
}
