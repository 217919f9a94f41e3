import { NatProbeError } from '../errors.js';

/** runTrials was given settings it cannot run with. */
export class TrialsOptionsError extends NatProbeError {
  constructor(message: string) {
    super('trials-bad-options', message);
  }
}

/**
 * A peer session outlived the trial's safety bound. Sessions end on their own timeout; this
 * bound only keeps a run from hanging when one does not.
 */
export class TrialTimeoutError extends NatProbeError {
  constructor(trial: number, boundMs: number) {
    super('trial-timeout', `Trial ${trial} did not finish within ${boundMs} ms although its sessions have their own timeout; run again with NAT_PROBE_DEBUG=1 and report it.`);
  }
}
