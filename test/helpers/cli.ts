/**
 * Runs the real, built CLI (bin/nat-probe.js → dist/) as a separate process, optionally inside a
 * lab namespace. `npm test` builds dist/ first (the pretest script).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { withinMs } from './events.js';

export const BIN = fileURLToPath(new URL('../../bin/nat-probe.js', import.meta.url));
const DIST_MAIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

export function assertBuilt(): void {
  if (!existsSync(DIST_MAIN)) throw new Error('dist/ is missing: run `npm run build` (npm test does it through pretest).');
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  durationMs: number;
}

function command(args: readonly string[], namespace?: string): [string, string[]] {
  return namespace ? ['ip', ['netns', 'exec', namespace, process.execPath, BIN, ...args]] : [process.execPath, [BIN, ...args]];
}

/** Spawns the CLI; the caller owns the process (and must stop it by its PID). */
export function spawnCli(args: readonly string[], options: { namespace?: string; env?: NodeJS.ProcessEnv } = {}): ChildProcess {
  assertBuilt();
  const [file, argv] = command(args, options.namespace);
  return spawn(file, argv, { env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Runs the CLI to completion, bounded: a hang becomes a test failure, and the process is killed. */
export async function runCli(args: readonly string[], options: { namespace?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliRun> {
  const started = performance.now();
  const child = spawnCli(args, options);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  try {
    const code = await withinMs(exited, options.timeoutMs ?? 20_000, `nat-probe ${args.join(' ')}`);
    return { code, stdout, stderr, durationMs: performance.now() - started };
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${(error as Error).message}\nstdout: ${stdout}\nstderr: ${stderr}`);
  }
}

/** Resolves with the first stdout line of a long-running CLI process (e.g. `serve --json`). */
export function firstLine(child: ChildProcess, boundMs = 10_000): Promise<string> {
  const lines = createInterface({ input: child.stdout! });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const line = new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`exited with ${code} before printing: ${stderr}`)));
  });
  return withinMs(line, boundMs, 'the first line of output').finally(() => lines.close());
}

/**
 * The stdout of a child that prints NDJSON (`--json`): every line kept in order, and a bounded
 * wait for the first line, already printed or still to come, that matches. Finding a line does
 * not consume it. A child that closes its output before a match fails the wait with its stderr.
 */
export class JsonLines {
  readonly lines: Record<string, any>[] = [];
  private stderrText = '';
  private closed = false;
  private readonly checks = new Set<() => void>();

  constructor(child: ChildProcess) {
    child.stderr?.on('data', (chunk: Buffer) => (this.stderrText += chunk.toString()));
    createInterface({ input: child.stdout! }).on('line', (text) => {
      this.lines.push(JSON.parse(text) as Record<string, any>);
      this.recheck();
    });
    child.once('close', () => {
      this.closed = true;
      this.recheck();
    });
  }

  get stderr(): string {
    return this.stderrText;
  }

  first(match: (line: Record<string, any>) => boolean, boundMs: number, what: string): Promise<Record<string, any>> {
    let check = (): void => undefined;
    const found = new Promise<Record<string, any>>((resolve, reject) => {
      check = () => {
        const line = this.lines.find(match);
        if (line !== undefined) resolve(line);
        else if (this.closed) reject(new Error(`the process ended before printing ${what}: ${this.stderrText.trim()}`));
      };
    });
    this.checks.add(check);
    check();
    return withinMs(found, boundMs, what).finally(() => this.checks.delete(check));
  }

  private recheck(): void {
    for (const check of [...this.checks]) check();
  }
}

/** Stops a process we started, by its PID, and waits for it to go. */
export async function stopProcess(child: ChildProcess, boundMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  try {
    await withinMs(gone, boundMs, `process ${child.pid} to exit`);
  } catch {
    child.kill('SIGKILL');
    await gone;
  }
}
