/**
 * Running programs inside lab namespaces. Every process started here is tracked by namespace so
 * `destroyLab` can stop exactly the processes the lab started, and nothing else.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { assertNamespaceName } from './namespaces.js';
import { runCommand, type RunOptions, type RunResult } from './run-command.js';

const tracked = new Map<string, Set<ChildProcess>>();

function track(namespace: string, child: ChildProcess): void {
  let set = tracked.get(namespace);
  if (set === undefined) {
    set = new Set();
    tracked.set(namespace, set);
  }
  set.add(child);
  const forget = (): void => {
    set.delete(child);
    if (set.size === 0 && tracked.get(namespace) === set) tracked.delete(namespace);
  };
  // 'close' also follows a failed spawn; no 'error' listener here, so spawn errors still reach the caller.
  child.once('exit', forget);
  child.once('close', forget);
}

/**
 * Starts `command args…` inside `namespace` (through `ip netns exec`, which execs the command, so
 * the returned ChildProcess's pid is the command itself). The process is tracked until it exits.
 * Options are node's spawn options; never pass `shell`.
 */
export function spawnInNamespace(namespace: string, command: string, args: readonly string[] = [], options: SpawnOptions = {}): ChildProcess {
  if (options.shell !== undefined && options.shell !== false) throw new Error('spawnInNamespace never runs a shell; pass an argument array');
  const child = spawn('ip', ['netns', 'exec', assertNamespaceName(namespace), command, ...args], { ...options, shell: false });
  track(namespace, child);
  return child;
}

/** Runs a short command inside `namespace` and returns its output; rejects with LabCommandError on failure. */
export function execInNamespace(namespace: string, command: string, args: readonly string[] = [], options: RunOptions = {}): Promise<RunResult> {
  return runCommand('ip', ['netns', 'exec', assertNamespaceName(namespace), command, ...args], options);
}

/** Processes started with spawnInNamespace that are still running in `namespace`. */
export function trackedProcesses(namespace: string): ChildProcess[] {
  return [...(tracked.get(namespace) ?? [])].filter((child) => child.exitCode === null && child.signalCode === null);
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (exited(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off('exit', onExit);
      resolve(false);
    }, timeoutMs);
    const onExit = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    child.once('exit', onExit);
  });
}

/**
 * Stops the tracked processes of `namespace`: SIGTERM, then SIGKILL for any still running after
 * `graceMs` (default 1000 ms). Resolves once all have exited (or after the SIGKILL grace).
 */
export async function stopTrackedProcesses(namespace: string, options: { graceMs?: number } = {}): Promise<void> {
  const graceMs = options.graceMs ?? 1000;
  const children = trackedProcesses(namespace);
  await Promise.all(
    children.map(async (child) => {
      child.kill('SIGTERM');
      if (await waitForExit(child, graceMs)) return;
      child.kill('SIGKILL');
      await waitForExit(child, graceMs);
    }),
  );
}
