/**
 * Why a peer session stopped without a result. Each error has a stable `code`; the signaling
 * client's own errors (`signaling-unreachable`, `room-full`, `room-token-mismatch`, …) pass
 * through unchanged, so a report counts one code per cause whichever layer found it.
 */
import { NatProbeError } from '../errors.js';

/** The session's phases, in order; a timeout names the one it was in. */
export type PeerSessionPhase = 'signaling' | 'waiting-for-peer' | 'exchanging-parameters' | 'gathering' | 'checking' | 'exchanging-results';

/** Alone in the room until the time bound. */
export class PeerNeverCameError extends NatProbeError {
  constructor(room: string, waitedMs: number) {
    super(
      'peer-never-came',
      `No other peer joined room "${room}" within ${Math.round(waitedMs)} ms. Start the other side with the same --room (and --signal URL), or raise the timeout.`,
    );
  }
}

/** The other peer left before the checks could start. */
export class PeerLeftError extends NatProbeError {
  constructor(room: string, reason: string) {
    super('peer-left', `The other peer left room "${room}" (${reason}) before the connectivity checks started. Run both sides again.`);
  }
}

/** The session's time bound ran out in a phase other than waiting for the peer or checking. */
export class PeerSessionTimeoutError extends NatProbeError {
  readonly phase: PeerSessionPhase;

  constructor(phase: PeerSessionPhase, timeoutMs: number) {
    super(
      'peer-session-timeout',
      `The peer session timed out after ${Math.round(timeoutMs)} ms while ${PHASE_WORDS[phase]}. Check that both sides reach the signaling server, or raise the timeout.`,
    );
    this.phase = phase;
  }
}

/** The other peer sent ICE parameters nat-probe cannot use (a schema-valid message with a bad value). */
export class PeerProtocolError extends NatProbeError {
  constructor(detail: string, options: { cause?: unknown } = {}) {
    super('peer-protocol-error', `The other peer sent something unusable: ${detail}. Check that both sides run the same nat-probe version.`, options);
  }
}

const PHASE_WORDS: Record<PeerSessionPhase, string> = {
  signaling: 'joining the signaling server',
  'waiting-for-peer': 'waiting for the other peer',
  'exchanging-parameters': "waiting for the other peer's ICE parameters",
  gathering: 'gathering candidates',
  checking: 'running connectivity checks',
  'exchanging-results': "waiting for the other peer's result",
};
