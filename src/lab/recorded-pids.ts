/**
 * Stopping server processes a *previous* `lab up` started, known only by the PIDs in its state
 * file. A PID may have been reused since, so a PID is signalled only while it is still inside one
 * of the lab's own namespaces (`ip netns pids`); anything else is left alone.
 */
import { readFileSync } from 'node:fs';
import { listNamespaces, namespacePids } from './namespaces.js';

/**
 * Is `pid` a live process? A zombie (state Z in /proc/PID/stat) has exited and only awaits its
 * parent's wait(); it no longer holds sockets or a namespace, so it counts as gone.
 */
export function pidAlive(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  // "PID (comm) S …": comm may contain spaces and parentheses, so read after the last ")".
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}

export interface StopPidsResult {
  /** Signalled and now gone. */
  stopped: number[];
  /** Already gone before anything was sent. */
  alreadyGone: number[];
  /** Alive but not in any of the namespaces: not ours any more (PID reuse), left alone. */
  foreign: number[];
  /** Still alive after SIGKILL and the grace (should not happen; reported, not hidden). */
  survivors: number[];
}

/** Polls until none of `pids` is alive, at most `boundMs`; returns those still alive. */
async function waitGone(pids: readonly number[], boundMs: number, intervalMs = 10): Promise<number[]> {
  const deadline = Date.now() + boundMs;
  for (;;) {
    // No pidfd in Node: a dead non-child process can only be observed by looking, so look often, briefly.
    const alive = pids.filter(pidAlive);
    if (alive.length === 0 || Date.now() >= deadline) return alive;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // exited meanwhile
  }
}

/** SIGTERM (graceful: serve prints its counters, coturn closes allocations), SIGKILL after `graceMs`. */
export async function stopRecordedPids(pids: readonly number[], namespaces: readonly string[], options: { graceMs?: number } = {}): Promise<StopPidsResult> {
  const graceMs = options.graceMs ?? 2000;
  const present = new Set(await listNamespaces());
  const inLab = new Set<number>();
  for (const namespace of namespaces.filter((name) => present.has(name))) {
    for (const pid of await namespacePids(namespace).catch(() => [])) inLab.add(pid);
  }
  const result: StopPidsResult = { stopped: [], alreadyGone: [], foreign: [], survivors: [] };
  const targets: number[] = [];
  for (const pid of pids) {
    if (!pidAlive(pid)) result.alreadyGone.push(pid);
    else if (!inLab.has(pid)) result.foreign.push(pid);
    else targets.push(pid);
  }
  for (const pid of targets) signal(pid, 'SIGTERM');
  let alive = await waitGone(targets, graceMs);
  if (alive.length > 0) {
    for (const pid of alive) signal(pid, 'SIGKILL');
    alive = await waitGone(alive, graceMs);
  }
  result.survivors = alive;
  result.stopped = targets.filter((pid) => !alive.includes(pid));
  return result;
}
