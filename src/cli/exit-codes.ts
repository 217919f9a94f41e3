import { isNatProbeError } from '../errors.js';

/** Documented exit codes (README "Exit codes"). */
export const ExitCode = {
  /** The job ran and its answer is good: a verdict was given, peers connected, checks passed. */
  ok: 0,
  /** The probe found a failure or missed a threshold: UDP blocked, inconclusive, not connected. */
  failure: 1,
  /** Usage or environment error: bad flags, unresolvable server, a port in use, missing privileges. */
  usage: 2,
} as const;

/** Error codes that describe a failure of the thing probed rather than of the invocation. */
const FAILURE_CODES = new Set<string>(['stun-timeout']);

export function exitCodeForError(error: unknown): number {
  if (isNatProbeError(error) && FAILURE_CODES.has(error.code)) return ExitCode.failure;
  return ExitCode.usage;
}
