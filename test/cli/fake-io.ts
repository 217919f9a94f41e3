import { PassThrough } from 'node:stream';
import type { CliIo } from '../../src/cli/io.js';

/** An in-memory CliIo: what a command printed, as strings. Not a TTY unless asked. */
export function fakeIo(options: { tty?: boolean; env?: NodeJS.ProcessEnv } = {}): CliIo & { out(): string; err(): string } {
  const stdout = Object.assign(new PassThrough(), { isTTY: options.tty ?? false, columns: 100 });
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  return { stdout, stderr, env: options.env ?? { CI: 'true' }, out: () => out, err: () => err };
}
