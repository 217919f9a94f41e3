/**
 * Teardown. Order matters: stop the processes the lab started (tracked by exec.ts), then any
 * process still inside a lab namespace (e.g. a child of a tracked one, or a run that crashed),
 * then delete the namespaces, which removes their veths, routes and nftables tables with them.
 * Only namespaces carrying the lab's prefix are ever touched.
 */
import { LabCommandError } from './errors.js';
import { stopTrackedProcesses } from './exec.js';
import { deleteNamespace, listNamespaces, namespacePids } from './namespaces.js';
import { DEFAULT_LAB_PREFIX, validatePrefix } from './spec.js';
import type { Lab } from './topology.js';

export interface DestroyOptions {
  /** How long a tracked process gets between SIGTERM and SIGKILL. Default 1000 ms. */
  graceMs?: number;
}

async function killRemaining(namespace: string): Promise<void> {
  let pids: number[];
  try {
    pids = await namespacePids(namespace);
  } catch {
    return; // The namespace is already gone.
  }
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Exited meanwhile.
    }
  }
}

async function destroyNamespaces(namespaces: readonly string[], options: DestroyOptions): Promise<void> {
  await Promise.all(namespaces.map((namespace) => stopTrackedProcesses(namespace, { graceMs: options.graceMs ?? 1000 })));
  await Promise.all(namespaces.map(killRemaining));
  const present = new Set(await listNamespaces());
  const failures: LabCommandError[] = [];
  await Promise.all(
    namespaces
      .filter((namespace) => present.has(namespace))
      .map(async (namespace) => {
        try {
          await deleteNamespace(namespace);
        } catch (error) {
          if (error instanceof LabCommandError) failures.push(error);
          else throw error;
        }
      }),
  );
  if (failures.length > 0) throw failures[0]!;
}

/** Removes one lab completely. Safe to call twice, and on a lab whose build failed half-way. */
export async function destroyLab(lab: Pick<Lab, 'namespaces' | 'prefix'>, options: DestroyOptions = {}): Promise<void> {
  const prefix = validatePrefix(lab.prefix);
  await destroyNamespaces(
    lab.namespaces.filter((namespace) => namespace.startsWith(prefix)),
    options,
  );
}

/**
 * Removes every namespace whose name starts with `prefix` (default "np-"), e.g. after a crash.
 * Returns the names removed. Beware: with the default prefix this also removes labs that other
 * nat-probe runs on this machine are using; tests pass their own prefix.
 */
export async function destroyAllLabs(prefix: string = DEFAULT_LAB_PREFIX, options: DestroyOptions = {}): Promise<string[]> {
  validatePrefix(prefix);
  const namespaces = (await listNamespaces()).filter((name) => name.startsWith(prefix));
  await destroyNamespaces(namespaces, options);
  return namespaces;
}
