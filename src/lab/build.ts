/**
 * buildLab: spec → running namespaces. Bring-up runs in four phases, each parallel across
 * namespaces: (1) create all namespaces (one `ip -batch`), (2) per namespace: sysctls, link
 * creation (one `ip -n NS -batch`), nft ruleset, (3) per namespace: addresses, up, routes.
 * Phase 2 only needs every namespace to exist; phase 3 needs every veth to exist. Then (4) the
 * bridge comes up once its ports are up (see NamespacePlan.finalSetup), and finally every link
 * must have carrier and an active qdisc, so the first datagram a client sends is not lost, and in
 * a client namespace be running with the client's address on it, so a peer started there sees it
 * (see LinkReadiness 'running'). Delayed hops (spec.delayMs) are started in phase 2.
 */
import { randomInt } from 'node:crypto';
import { startDelayLink } from './delay-link.js';
import { destroyLab } from './destroy.js';
import { LabCommandError } from './errors.js';
import { addNamespace, addNamespaces, ipBatch, ipCommand, listNamespaces, loadNftRuleset, setSysctls, waitForAddresses, waitForLinks, type LinkReadiness } from './namespaces.js';
import { assertLabPrerequisites } from './preflight.js';
import { newLabId, normalizeLabSpec, type LabSpec } from './spec.js';
import { planLab, type Lab, type LabPlan, type NamespacePlan } from './topology.js';

export interface BuildOptions {
  /**
   * 'parallel' (default) batches commands per namespace and runs namespaces concurrently.
   * 'sequential' runs every command as its own process, one at a time: the benchmark baseline.
   */
  strategy?: 'parallel' | 'sequential';
  /** Check root and tools first (cached after the first success). Default true. */
  preflight?: boolean;
  /** Lab id used in namespace names. Default: random. */
  id?: string;
  /** Seed for addr-dependent port hashing. Default: random per lab. */
  hashSeed?: number;
  /**
   * Called once every namespace exists, while links, addresses and rules are still being set up:
   * lets a caller start slow processes (servers) in parallel with the rest of the bring-up.
   */
  onNamespacesCreated?: (lab: Lab) => void;
  /**
   * Start the delay forwarders (spec.delayMs > 0) in their own session, unreferenced, so they
   * outlive this process (`lab up`). Default false. Either way they run inside the lab's
   * namespaces and `destroyLab` stops them.
   */
  detachedHelpers?: boolean;
}

let prerequisitesChecked = false;

/** Starts the namespace's delay forwarders (after its sysctls, so their devices inherit them). */
async function delayLinks(plan: LabPlan, ns: NamespacePlan, detached: boolean): Promise<void> {
  for (const link of ns.delayLinks) {
    const started = await startDelayLink(ns.name, link, { detached });
    (plan.lab.delayForwarders ??= []).push({ namespace: ns.name, side: link.side, pid: started.pid });
  }
}

async function bringUpParallel(plan: LabPlan, created: () => void, detached: boolean): Promise<void> {
  await addNamespaces(plan.namespaces.map((ns) => ns.name));
  created();
  await Promise.all(
    plan.namespaces.map(async (ns) => {
      await setSysctls(ns.name, ns.sysctls);
      await Promise.all([ipBatch(ns.name, ns.links), ns.nftRuleset === undefined ? undefined : loadNftRuleset(ns.name, ns.nftRuleset), delayLinks(plan, ns, detached)]);
    }),
  );
  await Promise.all(plan.namespaces.map((ns) => ipBatch(ns.name, ns.setup)));
  await Promise.all(
    plan.namespaces
      .filter((ns) => ns.finalSetup.length > 0)
      .map(async (ns) => {
        await assertLinksReady(ns.name, 'oper-up', finalLinks(ns));
        await ipBatch(ns.name, ns.finalSetup);
      }),
  );
  await Promise.all(plan.namespaces.map((ns) => assertNamespaceReady(plan, ns)));
}

async function bringUpSequential(plan: LabPlan, created: () => void, detached: boolean): Promise<void> {
  for (const ns of plan.namespaces) await addNamespace(ns.name);
  created();
  const each = async (step: (ns: NamespacePlan) => Promise<void>): Promise<void> => {
    for (const ns of plan.namespaces) await step(ns);
  };
  await each(async (ns) => {
    for (const pair of ns.sysctls) await setSysctls(ns.name, [pair]);
    for (const command of ns.links) await ipCommand(ns.name, command);
    if (ns.nftRuleset !== undefined) await loadNftRuleset(ns.name, ns.nftRuleset);
    await delayLinks(plan, ns, detached);
  });
  await each(async (ns) => {
    for (const command of ns.setup) await ipCommand(ns.name, command);
  });
  await each(async (ns) => {
    if (ns.finalSetup.length === 0) return;
    await assertLinksReady(ns.name, 'oper-up', finalLinks(ns));
    for (const command of ns.finalSetup) await ipCommand(ns.name, command);
  });
  await each((ns) => assertNamespaceReady(plan, ns));
}

/**
 * Every link can send; in a client namespace, moreover, its address is on a running interface,
 * which is what a peer started there sees (os.networkInterfaces() skips interfaces that are not
 * IFF_RUNNING; see LinkReadiness). Nothing is started in a client namespace before this.
 */
async function assertNamespaceReady(plan: LabPlan, ns: NamespacePlan): Promise<void> {
  if (ns.role !== 'client') return assertLinksReady(ns.name, 'can-send');
  await assertLinksReady(ns.name, 'running');
  const side = [plan.lab.a, plan.lab.b].find((candidate) => candidate?.client.namespace === ns.name);
  if (side === undefined) return;
  const missing = await waitForAddresses(ns.name, [side.client.address]);
  if (missing.length > 0) throw new LabCommandError(['ip', '-n', ns.name, 'addr', 'show'], `address ${missing.join(', ')} not on a running interface after bring-up`);
}

/** Links brought up by finalSetup (`link set NAME up`), which cannot be up before it runs. */
function finalLinks(ns: NamespacePlan): string[] {
  return ns.finalSetup.filter((command) => command[0] === 'link' && command[1] === 'set').map((command) => command[2]!);
}

async function assertLinksReady(namespace: string, readiness: LinkReadiness, except: readonly string[] = []): Promise<void> {
  const waiting = await waitForLinks(namespace, { readiness, except });
  if (waiting.length > 0) throw new LabCommandError(['ip', '-n', namespace, 'link', 'show'], `links not ${readiness} after bring-up: ${waiting.join(', ')}`);
}

/**
 * Builds a lab. On any failure, whatever was created is removed before the error is rethrown.
 * Throws LabSpecError for a bad spec, LabPreflightError when the machine cannot run labs, and
 * LabCommandError when a system command fails.
 */
export async function buildLab(spec: LabSpec, options: BuildOptions = {}): Promise<Lab> {
  const normalized = normalizeLabSpec(spec);
  if ((options.preflight ?? true) && !prerequisitesChecked) {
    await assertLabPrerequisites();
    prerequisitesChecked = true;
  }
  if ((options.preflight ?? true) && normalized.delayMs > 0) await assertLabPrerequisites({ tools: ['python3'] });
  const plan = planLab(normalized, options.id ?? newLabId(), { hashSeed: options.hashSeed ?? randomInt(1, 0x7fffffff) });
  // Never adopt (and on failure delete) a namespace that belongs to another lab.
  const existing = new Set(await listNamespaces());
  const taken = plan.lab.namespaces.filter((name) => existing.has(name));
  if (taken.length > 0) {
    throw new LabCommandError(['ip', 'netns', 'add', taken[0]!], `namespace ${taken.join(', ')} already exists; use another lab id`);
  }
  try {
    const created = (): void => options.onNamespacesCreated?.(plan.lab);
    const detached = options.detachedHelpers ?? false;
    if ((options.strategy ?? 'parallel') === 'parallel') await bringUpParallel(plan, created, detached);
    else await bringUpSequential(plan, created, detached);
  } catch (error) {
    await destroyLab(plan.lab).catch(() => undefined);
    throw error;
  }
  return plan.lab;
}

/** Builds a lab, runs `body` with it, and always destroys it afterwards. */
export async function withLab<T>(spec: LabSpec, body: (lab: Lab) => Promise<T>, options: BuildOptions = {}): Promise<T> {
  const lab = await buildLab(spec, options);
  try {
    return await body(lab);
  } finally {
    await destroyLab(lab);
  }
}
