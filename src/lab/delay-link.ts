/**
 * Delay at a client's first hop (`spec.delayMs`): this kernel has no netem and nftables here has
 * no queue statement (LAB-NOTES.md), so a user-space forwarder (`delay-forwarder-source.ts`, run
 * with python3) holds a TAP pair in the upper namespace and copies frames across after the delay.
 * Its lower device is then moved into the client namespace under the veth's name (`eth0`), so
 * the rest of the bring-up (addresses, routes, nft rules, bridge ports) is unchanged.
 *
 * The forwarder runs inside a lab namespace, so `destroyLab`/`lab down` stop it with everything
 * else there (and its devices, not persistent, vanish with it); with `detached` (for `lab up`) it
 * outlives the process that built the lab.
 */
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { DELAY_FORWARDER_SOURCE } from './delay-forwarder-source.js';
import { LabCommandError } from './errors.js';
import { spawnInNamespace } from './exec.js';
import { ipCommand } from './namespaces.js';
import type { DelayLinkPlan } from './topology.js';

/** The interpreter that runs the forwarder (Debian package python3, in .ci/run). */
export const DELAY_FORWARDER_RUNTIME = 'python3';
/** Bound on the forwarder's start-up (python start on a loaded 2-core machine is ~50–300 ms). */
const READY_WITHIN_MS = 10_000;
const STDERR_TAIL_CHARS = 600;

export interface StartedDelayLink {
  namespace: string;
  plan: DelayLinkPlan;
  pid: number;
  child: ChildProcess;
}

/** The forwarder's argument list (after `python3 -c SOURCE`). Exported for the plan tests. */
export function delayForwarderArgs(link: DelayLinkPlan): string[] {
  return ['--upper', link.upper, '--lower', link.lowerTemporary, '--delay-ms', String(link.delayMs), '--jitter-ms', String(link.jitterMs)];
}

/**
 * Starts the forwarder for `link` in `namespace`, waits (bounded) for its `ready` line, then moves
 * the lower device into the client namespace under its final name. Rejects with LabCommandError
 * (and kills the forwarder) when any step fails.
 */
export async function startDelayLink(namespace: string, link: DelayLinkPlan, options: { detached?: boolean } = {}): Promise<StartedDelayLink> {
  const detached = options.detached ?? false;
  const args = ['-u', '-c', DELAY_FORWARDER_SOURCE, ...delayForwarderArgs(link)];
  const command = ['ip', 'netns', 'exec', namespace, DELAY_FORWARDER_RUNTIME, '-c', '<delay-forwarder>', ...delayForwarderArgs(link)];
  const child = spawnInNamespace(namespace, DELAY_FORWARDER_RUNTIME, args, { stdio: ['ignore', 'pipe', 'pipe'], detached });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-STDERR_TAIL_CHARS);
  });
  const fail = (message: string): LabCommandError => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    return new LabCommandError(command, `${message}${stderr.trim() === '' ? '' : `: ${stderr.trim()}`}`);
  };
  const lines = createInterface({ input: child.stdout! });
  let timer: NodeJS.Timeout | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      timer = setTimeout(() => reject(fail(`delay forwarder not ready within ${READY_WITHIN_MS} ms`)), READY_WITHIN_MS);
      lines.once('line', (line) => (line.startsWith('ready ') ? resolve() : reject(fail(`delay forwarder said ${JSON.stringify(line)}`))));
      child.once('error', (error) => reject(fail(`cannot start ${DELAY_FORWARDER_RUNTIME} (${error.message}); install it with: apt-get install python3`)));
      child.once('exit', (code, signal) => reject(fail(`delay forwarder exited (${code ?? signal}) before it was ready`)));
    });
  } finally {
    clearTimeout(timer);
    lines.close();
  }
  // Nothing more is read from it; a detached forwarder must not hold this process open.
  child.stdout!.destroy();
  child.stderr!.removeAllListeners('data');
  child.stderr!.destroy();
  if (detached) child.unref();
  try {
    // One RTM_NEWLINK moves and renames: the lower end appears in the client namespace as "eth0".
    await ipCommand(namespace, ['link', 'set', link.lowerTemporary, 'netns', link.lowerNamespace, 'name', link.lower]);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return { namespace, plan: link, pid: child.pid!, child };
}
