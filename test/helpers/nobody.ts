/**
 * Running the built CLI as user nobody (uid/gid 65534, no groups): a real unprivileged process,
 * for the "needs root" cases. A checkout nobody cannot read (a clone under /root, a `mktemp -d`
 * folder: mode 0700) makes node itself fail with exit 1 before nat-probe runs, which says
 * nothing about nat-probe, so suites ask `nobodyCanRunCli()` first and skip with the reason.
 */
import { spawn, spawnSync } from 'node:child_process';
import { BIN, type CliRun } from './cli.js';
import { withinMs } from './events.js';

const AS_NOBODY = ['--reuid=65534', '--regid=65534', '--clear-groups'];

/**
 * Can nobody load and run this checkout's CLI? Runs `nat-probe --version` as nobody: that needs
 * every directory up to the checkout to be searchable and bin/, dist/ and node_modules readable,
 * which an access() check on BIN alone does not cover. Cached.
 */
let cached: boolean | undefined;
export function nobodyCanRunCli(): boolean {
  cached ??= spawnSync('setpriv', [...AS_NOBODY, process.execPath, BIN, '--version'], { stdio: 'ignore', timeout: 20_000 }).status === 0;
  return cached;
}

/** Why the no-root cases skip, for the suite's stderr. */
export const NOBODY_SKIP_REASON = `user nobody cannot read or run ${BIN} (a checkout under a mode-0700 directory)`;

export async function runAsNobody(args: readonly string[], boundMs = 20_000): Promise<CliRun> {
  const started = performance.now();
  const child = spawn('setpriv', [...AS_NOBODY, process.execPath, BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await withinMs(new Promise<number | null>((resolve) => child.on('close', resolve)), boundMs, 'the unprivileged CLI to exit');
  return { code, stdout, stderr, durationMs: performance.now() - started };
}
