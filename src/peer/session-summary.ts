/**
 * The result one peer sends the other in a signaling `result` message (PROTOCOL.md), so each side
 * can report both views of the same pairing. It is plain JSON (no BigInt), with addresses as
 * "ip:port" strings and candidates in RFC 8839 syntax, and it stays inside the protocol's bound
 * on a result (4 096 values): pairs beyond MAX_SUMMARY_PAIRS are left out and counted.
 */
import { z } from 'zod';
import { formatTransportAddress } from '../ice/candidate.js';
import { formatCandidate } from '../ice/sdp-candidate.js';
import type { IceResult } from '../ice/agent-result.js';
import type { WinningPath } from '../traversal/types.js';

/** 150 pairs × ~10 values stays far below the protocol's 4 096-value bound. */
export const MAX_SUMMARY_PAIRS = 150;

const CandidateType = z.enum(['host', 'srflx', 'prflx', 'relay']);

const SummaryPair = z.object({
  id: z.string(),
  local: z.string(),
  remote: z.string(),
  localType: CandidateType,
  remoteType: CandidateType,
  /** Lower-case RFC 8445 §6.1.2.6 state. */
  state: z.string(),
  attempts: z.number(),
  rttMs: z.number().optional(),
  failureReason: z.string().optional(),
  errorCode: z.number().optional(),
});

/** Parsed loosely (unknown fields pass), so a newer peer may add fields. */
export const PeerSummary = z.object({
  v: z.literal(1),
  state: z.enum(['connected', 'failed']),
  outcome: z.string(),
  mode: z.enum(['connect', 'survey']),
  role: z.enum(['controlling', 'controlled']),
  timeToConnectMs: z.number(),
  selectedPair: z
    .object({
      id: z.string(),
      local: z.string(),
      remote: z.string(),
      localType: CandidateType,
      remoteType: CandidateType,
      rttMs: z.number(),
      nominated: z.boolean(),
    })
    .optional(),
  pairs: z.array(SummaryPair),
  /** Pairs left out to respect the size bound. */
  omittedPairs: z.number(),
  /** The sender's local candidates as RFC 8839 `candidate:` attributes (peer-reflexive ones included). */
  localCandidates: z.array(z.string()),
  /** Which path won by the sender's own evidence (src/traversal), when it ran strategies. */
  traversalWinner: z.enum(['ice', 'predict', 'birthday', 'portmap', 'relay-udp', 'relay-tcp', 'relay-tls', 'none']).optional(),
});
export type PeerSummary = z.infer<typeof PeerSummary>;

export function summarizeForPeer(result: IceResult, traversalWinner?: WinningPath): PeerSummary {
  const selected = result.selectedPair;
  return {
    v: 1,
    state: result.state,
    outcome: result.outcome,
    mode: result.mode,
    role: result.role,
    timeToConnectMs: result.timeToConnectMs,
    ...(selected !== undefined
      ? {
          selectedPair: {
            id: selected.id,
            local: formatTransportAddress(selected.local),
            remote: formatTransportAddress(selected.remote),
            localType: selected.local.type,
            remoteType: selected.remote.type,
            rttMs: selected.rttMs,
            nominated: selected.nominated,
          },
        }
      : {}),
    pairs: result.pairs.slice(0, MAX_SUMMARY_PAIRS).map((pair) => ({
      id: pair.id,
      local: formatTransportAddress(pair.local),
      remote: formatTransportAddress(pair.remote),
      localType: pair.local.type,
      remoteType: pair.remote.type,
      state: pair.state.toLowerCase(),
      attempts: pair.attempts,
      ...(pair.rttMs !== undefined ? { rttMs: pair.rttMs } : {}),
      ...(pair.failureReason !== undefined ? { failureReason: pair.failureReason } : {}),
      ...(pair.errorCode !== undefined ? { errorCode: pair.errorCode } : {}),
    })),
    omittedPairs: Math.max(0, result.pairs.length - MAX_SUMMARY_PAIRS),
    localCandidates: result.localCandidates.slice(0, MAX_SUMMARY_PAIRS).map((candidate) => formatCandidate(candidate)),
    ...(traversalWinner !== undefined ? { traversalWinner } : {}),
  };
}

/** The other peer's summary, or undefined when it does not parse (a report then says "no remote result"). */
export function parsePeerSummary(value: unknown): PeerSummary | undefined {
  const parsed = PeerSummary.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}
