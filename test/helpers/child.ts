/**
 * Supervision of a child process that tests or benches start: knows when it exited, stops it
 * by its own PID (SIGTERM, then SIGKILL after a bounded grace), and kills it if this process
 * ends first, so a failed run never leaves a server behind.
 */
import type { ChildProcess } from 'node:child_process';

export interface SupervisedChild {
  readonly exited: Promise<void>;
  hasExited(): boolean;
  /** Stops the child and waits for it to go. Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

export function supervise(child: ChildProcess): SupervisedChild {
  let hasExited = false;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => (hasExited = true));
  const killOnExit = (): void => {
    if (!hasExited) child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  return {
    exited,
    hasExited: () => hasExited,
    async stop(graceMs = 3000) {
      process.off('exit', killOnExit);
      if (hasExited) return;
      child.kill('SIGTERM');
      const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), graceMs).unref());
      if ((await Promise.race([exited.then(() => 'exited' as const), timer])) === 'timeout') {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}
