/**
 * The one base error of nat-probe. Every failure the engine reports carries a stable,
 * machine-readable `code` (documented, never renamed) and, where there is one, the `cause`.
 * Messages say what happened and what to do next; the CLI prints them without a stack trace.
 */
export class NatProbeError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
  }
}

/** True for any error raised by nat-probe itself (as opposed to a programming error). */
export function isNatProbeError(error: unknown): error is NatProbeError {
  return error instanceof NatProbeError;
}
