/** Where a command writes, and how it decides between Ink, plain lines and JSON. */
export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
}

export const processIo: CliIo = { stdout: process.stdout, stderr: process.stderr, env: process.env };

export type OutputMode = 'json' | 'ink' | 'plain';

/**
 * --json wins. Ink renders only on a terminal and not in CI (CI=true or any CI variable set);
 * everything else gets plain text built from the same events.
 */
export function outputMode(io: CliIo, json: boolean): OutputMode {
  if (json) return 'json';
  const ci = io.env.CI !== undefined && io.env.CI !== '' && io.env.CI !== 'false';
  return io.stdout.isTTY === true && !ci && io.env.TERM !== 'dumb' ? 'ink' : 'plain';
}

export function colourEnabled(io: CliIo): boolean {
  return io.env.NO_COLOR === undefined || io.env.NO_COLOR === '';
}

export function writeLine(stream: NodeJS.WritableStream, text: string): void {
  stream.write(text.endsWith('\n') ? text : `${text}\n`);
}
