/**
 * Runs one system command (ip, nft, sysctl, conntrack) with an argument array — never a shell
 * string — and optional stdin. Failures become LabCommandError carrying stderr.
 */
import { spawn } from 'node:child_process';
import { LabCommandError } from './errors.js';

export interface RunOptions {
  /** Written to the command's stdin, which is then closed. */
  input?: string;
  /** Kill the command after this long. Default 15 000 ms. */
  timeoutMs?: number;
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

export function runCommand(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const argv = [command, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], timeout: timeoutMs, killSignal: 'SIGKILL' });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', (error) => reject(new LabCommandError(argv, error.message, { cause: error })));
    const started = Date.now();
    child.on('close', (code, signal) => {
      const out = Buffer.concat(stdout).toString('utf8');
      const err = Buffer.concat(stderr).toString('utf8');
      if (code === 0) resolve({ stdout: out, stderr: err });
      else if (signal === 'SIGKILL' && Date.now() - started >= timeoutMs) reject(new LabCommandError(argv, `timed out after ${timeoutMs} ms ${err}`));
      else reject(new LabCommandError(argv, err === '' ? `exited with ${signal ?? `status ${code}`}` : err));
    });
    // A command that exits before reading stdin closes the pipe; that is reported through 'close'.
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}
