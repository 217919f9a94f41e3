import { NatProbeError } from '../errors.js';

/**
 * Errors of the namespace lab. Codes are stable; the CLI maps the environment ones
 * (`lab-needs-root`, `lab-missing-tool`, `lab-no-netns`) and `lab-bad-spec` to exit code 2.
 */
export type LabErrorCode =
  | 'lab-needs-root'
  | 'lab-missing-tool'
  | 'lab-no-netns'
  | 'lab-bad-spec'
  | 'lab-command-failed'
  | 'lab-server-failed'
  | 'lab-not-running'
  | 'lab-already-running';

export class LabError extends NatProbeError {
  declare readonly code: LabErrorCode;

  constructor(code: LabErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, options);
  }
}

/** The machine cannot run the lab: not root, `ip`/`nft` missing, or no network-namespace support. */
export class LabPreflightError extends LabError {
  constructor(code: 'lab-needs-root' | 'lab-missing-tool' | 'lab-no-netns', message: string, options: { cause?: unknown } = {}) {
    super(code, message, options);
  }
}

/** The lab spec is invalid (unknown NAT type, loss out of range, unsafe prefix…). */
export class LabSpecError extends LabError {
  /** The spec field that was rejected, e.g. "a" or "lossPercent". */
  readonly field: string;

  constructor(field: string, message: string) {
    super('lab-bad-spec', message);
    this.field = field;
  }
}

/** An `ip`/`nft`/`sysctl` command failed while building, inspecting or tearing down a lab. */
export class LabCommandError extends LabError {
  readonly command: readonly string[];
  readonly stderr: string;

  constructor(command: readonly string[], stderr: string, options: { cause?: unknown } = {}) {
    const shown = command.join(' ');
    const detail = stderr.trim() === '' ? '' : `: ${stderr.trim()}`;
    super(
      'lab-command-failed',
      `Lab command failed (${shown})${detail}. Check that no stale lab is left (\`ip netns list\`), then retry.`,
      options,
    );
    this.command = command;
    this.stderr = stderr;
  }
}

/** A lab server (`nat-probe serve`, coturn) did not start or did not answer within its bound. */
export class LabServerError extends LabError {
  /** Which server: "serve" or "turnserver". */
  readonly server: string;

  constructor(server: string, message: string, options: { cause?: unknown } = {}) {
    super('lab-server-failed', message, options);
    this.server = server;
  }
}

/** `lab exec`/`lab status` found no lab with the prefix, or `lab up` found one already running. */
export class LabStateError extends LabError {
  constructor(code: 'lab-not-running' | 'lab-already-running', message: string) {
    super(code, message);
  }
}
