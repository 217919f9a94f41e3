import { CommanderError, InvalidArgumentError } from 'commander';
import { isNatProbeError } from '../errors.js';
import { ExitCode, exitCodeForError } from './exit-codes.js';
import { processIo, writeLine, type CliIo } from './io.js';
import { buildProgram, commandsFor } from './program.js';

/**
 * Runs the CLI and resolves to the exit code. Errors become one clear line on stderr and a
 * documented exit code; a stack trace is printed only with NAT_PROBE_DEBUG=1.
 */
export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  let pending: Promise<number> | undefined;
  try {
    const program = await buildProgram(
      io,
      (code) => {
        pending = code;
      },
      commandsFor(argv),
    );
    await program.parseAsync([...argv], { from: 'user' });
    return pending ? await pending : ExitCode.ok;
  } catch (error) {
    return reportError(error, io);
  }
}

function reportError(error: unknown, io: CliIo): number {
  // A check in a command's action (flags that go together, …) throws InvalidArgumentError
  // itself; commander printed only the errors it raised while parsing, so this one is said here.
  if (error instanceof InvalidArgumentError) {
    writeLine(io.stderr, `error: ${error.message}\n(run with --help for usage)`);
    return ExitCode.usage;
  }
  if (error instanceof CommanderError) {
    // Help and version exit 0; every other commander error is a usage error, already printed.
    return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
  }
  if (isNatProbeError(error)) {
    writeLine(io.stderr, `nat-probe: ${error.message} [${error.code}]`);
  } else {
    writeLine(io.stderr, `nat-probe: unexpected error: ${error instanceof Error ? error.message : String(error)}. Please report this with NAT_PROBE_DEBUG=1 output.`);
  }
  if (io.env.NAT_PROBE_DEBUG === '1' && error instanceof Error) writeLine(io.stderr, error.stack ?? '');
  return exitCodeForError(error);
}

/** The process entry (bin/nat-probe.js): the only place nat-probe calls process.exit. */
export async function runAsProcess(argv: readonly string[]): Promise<void> {
  const code = await main(argv);
  // Let stdout drain before exiting, so piped JSON is never cut short.
  process.stdout.write('', () => process.exit(code));
}
