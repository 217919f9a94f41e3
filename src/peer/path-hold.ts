/**
 * `peer --hold`: after the verdict, the session keeps its selected pair for a while with only ICE
 * consent freshness on it (RFC 7675 §5.1, a check every 4–6 s) and then says whether that traffic
 * is frequent enough to keep this network's NAT mapping alive. A mapping lives while outbound
 * packets refresh it (RFC 4787 REQ-6); its lifetime in silence is what `detect --lifetime`
 * measures, and the user passes it here (`--mapping-lifetime`). Pure: the session collects the
 * numbers, this module judges them.
 */
import type { ConsentStats } from '../ice/consent.js';
import { ICE_CONSENT_MAX_GAP_MS, keepaliveAdvice } from '../nat/lifetime-plan.js';

/** Why the hold ended: its time ran out, the other peer left, consent expired, or signaling failed. */
export type HoldEnd = 'time' | 'peer-left' | 'consent-lost' | 'signaling-lost';

export interface PathHoldReport {
  /** How long the hold was asked to last, and how long it did. */
  readonly askedMs: number;
  readonly heldMs: number;
  readonly endedBy: HoldEnd;
  readonly checksSent: number;
  readonly checksAnswered: number;
  /** Longest silence this side left on the path between consent checks; absent when none was sent. */
  readonly largestGapMs?: number;
  readonly consentLost: boolean;
  /** The mapping lifetime the user gave (`--mapping-lifetime`, from `detect --lifetime`). */
  readonly mappingLifetimeMs?: number;
  /** The longest safe silence for that lifetime (80 % of it, as `detect --lifetime` advises). */
  readonly safeIntervalMs?: number;
  /**
   * Whether consent traffic alone keeps that mapping alive: both the gaps seen and the longest gap
   * RFC 7675 allows (6 s) fit inside the safe interval. Absent without a lifetime to judge by.
   */
  readonly keepsMappingAlive?: boolean;
  /** The verdict in words. */
  readonly text: string;
}

export interface PathHoldInput {
  readonly askedMs: number;
  readonly heldMs: number;
  readonly endedBy: HoldEnd;
  /** Undefined when consent never started (e.g. the agent was built with consent off). */
  readonly stats: ConsentStats | undefined;
  readonly mappingLifetimeMs?: number;
}

const seconds = (ms: number): string => `${(Math.round(ms / 100) / 10).toFixed(1)} s`;

export function judgePathHold(input: PathHoldInput): PathHoldReport {
  const stats = input.stats;
  const checksSent = stats?.checksSent ?? 0;
  const checksAnswered = stats?.checksAnswered ?? 0;
  const consentLost = stats?.lost === true || input.endedBy === 'consent-lost';
  const largestGapMs = stats?.largestGapMs;
  const lifetime = input.mappingLifetimeMs;
  const advice = lifetime !== undefined ? keepaliveAdvice(lifetime) : undefined;
  // Judged on the worse of what was seen and what RFC 7675 allows: one hold sees a few gaps, and
  // the next one may be the 6 s one.
  const worstGapMs = Math.max(largestGapMs ?? 0, ICE_CONSENT_MAX_GAP_MS);
  const keepsMappingAlive = advice !== undefined ? worstGapMs <= advice.maxIntervalMs : undefined;

  const parts: string[] = [];
  const traffic =
    checksSent === 0
      ? `No consent check went out in ${seconds(input.heldMs)} (the first comes 4–6 s after the nomination).`
      : `${checksSent} consent check${checksSent === 1 ? '' : 's'} in ${seconds(input.heldMs)}, ${checksAnswered === checksSent ? 'all' : `${checksAnswered} of ${checksSent}`} answered, at most ${seconds(largestGapMs ?? 0)} apart.`;
  parts.push(traffic);
  if (consentLost) parts.push('Consent was lost: no answer for 30 s (RFC 7675), so the path stopped working during the hold.');
  else if (input.endedBy === 'peer-left') parts.push(`The other peer left after ${seconds(input.heldMs)}; give it --hold too to measure the whole time.`);
  else if (input.endedBy === 'signaling-lost') parts.push(`Signaling failed after ${seconds(input.heldMs)}, so the hold ended early.`);
  if (advice !== undefined && lifetime !== undefined) {
    parts.push(
      keepsMappingAlive === true
        ? `A mapping lifetime of ${seconds(lifetime)} needs traffic at least every ${seconds(advice.maxIntervalMs)}: consent checks (at most 6 s apart) keep it alive.`
        : `A mapping lifetime of ${seconds(lifetime)} needs traffic at least every ${seconds(advice.maxIntervalMs)}: consent checks (up to 6 s apart) are too sparse, so a silent call loses its path; send keepalives every ${seconds(advice.maxIntervalMs)}.`,
    );
  } else {
    parts.push(`Consent traffic alone keeps mappings that live longer than ${seconds(worstGapMs / 0.8)} open; measure this network's with \`nat-probe detect --lifetime\` and pass --mapping-lifetime.`);
  }
  return {
    askedMs: input.askedMs,
    heldMs: input.heldMs,
    endedBy: input.endedBy,
    checksSent,
    checksAnswered,
    ...(largestGapMs !== undefined ? { largestGapMs } : {}),
    consentLost,
    ...(lifetime !== undefined ? { mappingLifetimeMs: lifetime } : {}),
    ...(advice !== undefined ? { safeIntervalMs: advice.maxIntervalMs } : {}),
    ...(keepsMappingAlive !== undefined ? { keepsMappingAlive } : {}),
    text: parts.join(' '),
  };
}
