/**
 * Plain lines from the event stream, for non-TTY and CI runs: the same events the dashboard
 * folds, so the two cannot disagree. One event, at most one line.
 */
import type { PeerEvent, PeerPhaseEvent, TrialEvent } from '../events.js';
import { formatMs } from './format.js';
import { formatAttempt, formatPlanHead, formatPortmap } from './traversal-format.js';

/** A line for a trial event: "trial 3/20  connected  host/host  4.2 ms". Undefined for trial-started. */
export function formatTrialEventLine(event: TrialEvent): string | undefined {
  if (event.type !== 'trial-done') return undefined;
  const width = String(event.planned).length;
  const head = `trial ${String(event.trial).padStart(width)}/${event.planned}`;
  if (event.connected) {
    const via = event.winner !== undefined ? `  via ${event.winner}` : '';
    return `${head}  connected  ${event.pairType ?? '?'}  ${event.timeToConnectMs !== undefined ? formatMs(event.timeToConnectMs) : ''}${via}`.trimEnd();
  }
  return `${head}  FAILED     ${event.failureReason ?? 'unknown'}`;
}

const PHASE_WORDS: Readonly<Record<PeerPhaseEvent['phase'], (event: PeerPhaseEvent) => string>> = {
  signaling: () => 'connecting to the server',
  joined: (event) => `joined room ${event.room}${event.role ? ` as ${event.role}` : ''}`,
  'peer-joined': () => 'the other peer is in the room',
  checking: () => 'parameters and candidates exchanged; checks start',
  'result-sent': () => 'result sent',
  'remote-result': () => "the other peer's result arrived",
  holding: () => 'holding the selected pair with consent checks only (--hold)',
  closed: () => 'closed',
};

/** A line for a peer event (the `peer` command's plain output). */
export function formatPeerEventLine(event: PeerEvent): string | undefined {
  switch (event.type) {
    case 'ice-candidate':
      return `candidate ${event.side.padEnd(6)} ${event.candidateType.padEnd(5)} ${event.address}`;
    case 'ice-pair': {
      // In-progress and waiting transitions are frequent and say little; print decisive ones.
      if (event.state !== 'succeeded' && event.state !== 'failed') return undefined;
      const rtt = event.rttMs !== undefined ? ` rtt ${formatMs(event.rttMs)}` : '';
      const why = event.failureReason !== undefined ? ` (${event.failureReason})` : '';
      return `pair      ${event.localType}/${event.remoteType} ${event.local} → ${event.remote}  ${event.state}${event.nominated ? ', nominated' : ''}${rtt}, ${event.attempts} attempt(s)${why}`;
    }
    case 'ice-state':
      return `ice       ${event.state}`;
    case 'ice-selected-pair':
      return `selected  ${event.localType}/${event.remoteType} ${event.local} → ${event.remote}${event.nominated ? ' (nominated)' : ''} after ${formatMs(event.timeToConnectMs)}`;
    case 'ice-role':
      return `role      ${event.from} → ${event.to} (${event.reason})`;
    case 'peer-candidate-skipped':
      return `candidate remote SKIPPED (${event.reason}) ${event.candidate}`;
    case 'peer-phase':
      return `signaling ${PHASE_WORDS[event.phase](event)}`;
    case 'peer-relay':
      return event.state === 'allocated'
        ? `turn      ${event.server} relayed ${event.relayed ?? '?'}${event.allocateMs !== undefined ? ` in ${formatMs(event.allocateMs)}` : ''}`
        : `turn      ${event.server} FAILED ${event.errorCode ?? ''}: ${event.message ?? ''} Going on with direct candidates.`;
    case 'peer-warning':
      return `WARNING   ${event.message}`;
    case 'traversal-plan':
      return `traversal plan ${formatPlanHead(event.plan)}: ${event.plan.reason}`;
    case 'traversal-progress':
      return `traversal ${event.strategy} ${event.probesSent}/${event.budget} probes, ${event.socketsOpened} sockets`;
    case 'traversal-done':
      return `traversal ${formatAttempt(event.attempt)}`;
    case 'traversal-portmap':
      return `traversal portmap ${formatPortmap(event.report)}`;
    case 'peer-hold':
      return `hold      ${event.text}`;
    case 'ice-check-sent':
    case 'peer-done':
      return undefined; // too many to print, or said with more detail by the final report
  }
}
