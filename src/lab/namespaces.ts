/**
 * Thin wrappers over `ip netns`, `ip -n NS -batch -`, sysctl and nft inside a namespace.
 * Namespace names are validated before they reach an argument list, so a name can never be
 * read as an option.
 */
import { runCommand } from './run-command.js';

const NAMESPACE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export function assertNamespaceName(name: string): string {
  if (!NAMESPACE_NAME.test(name)) throw new Error(`not a lab namespace name: ${JSON.stringify(name)}`);
  return name;
}

/** iproute2 batch syntax: one command per line. Lab arguments never contain whitespace or quotes. */
function batchText(commands: readonly (readonly string[])[]): string {
  return commands.map((command) => `${command.join(' ')}\n`).join('');
}

/** Creates all namespaces with one `ip -batch` process. */
export async function addNamespaces(names: readonly string[]): Promise<void> {
  if (names.length === 0) return;
  await runCommand('ip', ['-batch', '-'], { input: batchText(names.map((name) => ['netns', 'add', assertNamespaceName(name)])) });
}

export async function addNamespace(name: string): Promise<void> {
  await runCommand('ip', ['netns', 'add', assertNamespaceName(name)]);
}

export async function deleteNamespace(name: string): Promise<void> {
  await runCommand('ip', ['netns', 'del', assertNamespaceName(name)]);
}

/** Runs `ip` commands inside a namespace with a single process (`ip -n NS -batch -`). */
export async function ipBatch(namespace: string, commands: readonly (readonly string[])[]): Promise<void> {
  if (commands.length === 0) return;
  await runCommand('ip', ['-n', assertNamespaceName(namespace), '-batch', '-'], { input: batchText(commands) });
}

/** Runs one `ip` command inside a namespace. */
export async function ipCommand(namespace: string, command: readonly string[]): Promise<string> {
  return (await runCommand('ip', ['-n', assertNamespaceName(namespace), ...command])).stdout;
}

/** Sets `key=value` sysctls inside a namespace (network sysctls are per namespace). */
export async function setSysctls(namespace: string, pairs: readonly string[]): Promise<void> {
  if (pairs.length === 0) return;
  await runCommand('ip', ['netns', 'exec', assertNamespaceName(namespace), 'sysctl', '-q', '-w', ...pairs]);
}

export async function loadNftRuleset(namespace: string, ruleset: string): Promise<void> {
  await runCommand('ip', ['netns', 'exec', assertNamespaceName(namespace), 'nft', '-f', '-'], { input: ruleset });
}

/** Names from `ip netns list` (lines look like "np-1a2b-pub (id: 3)"). */
export async function listNamespaces(): Promise<string[]> {
  const { stdout } = await runCommand('ip', ['netns', 'list']);
  return parseNetnsList(stdout);
}

export function parseNetnsList(output: string): string[] {
  return output
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[0] ?? '')
    .filter((name) => name !== '');
}

/** PIDs of every process whose network namespace is `namespace`. */
export async function namespacePids(namespace: string): Promise<number[]> {
  const { stdout } = await runCommand('ip', ['netns', 'pids', assertNamespaceName(namespace)]);
  return stdout
    .split(/\s+/)
    .filter((token) => /^\d+$/.test(token))
    .map(Number);
}

interface IpLinkJson {
  ifname: string;
  operstate: string;
  qdisc?: string;
  flags?: string[];
}

/**
 * When a link counts as ready:
 * - 'can-send': carrier on (LOWER_UP) and a real qdisc attached. A device without carrier keeps
 *   the `noop` qdisc, which drops everything sent through it, until the kernel activates it.
 * - 'oper-up': RFC 2863 operational state UP. A bridge enables a port only once the port is
 *   oper-up, but a bridge's own operstate may lag its carrier by up to a second (linkwatch
 *   rate-limits non-urgent devices), harmlessly, so bridges are checked with 'can-send'. A TAP
 *   device with carrier (operstate UNKNOWN) counts as oper-up, as it does for the kernel.
 * - 'running': both, i.e. what getifaddrs() reports as IFF_RUNNING. Client namespaces need it:
 *   libuv (os.networkInterfaces()) leaves out every interface that is not IFF_RUNNING, so a peer
 *   started while its eth0 has carrier and a qdisc but an operstate still LOWERLAYERDOWN (since
 *   Linux 6.11 a veth's operstate follows its peer's, which linkwatch may update up to 1 s later
 *   under load) sees only loopback, gathers 127.0.0.1, and its checks fail with EINVAL
 *   ('send-error'): the intermittent lab failures of issue 13.
 */
export type LinkReadiness = 'can-send' | 'oper-up' | 'running';

function linkReady(link: IpLinkJson, readiness: LinkReadiness): boolean {
  // A TAP device (the delay link) reports operstate UNKNOWN: it has no operstate of its own, and
  // the kernel's netif_oper_up() (what a bridge checks before enabling a port) counts UNKNOWN as up.
  if (readiness === 'oper-up') return link.operstate === 'UP' || (link.operstate === 'UNKNOWN' && (link.flags ?? []).includes('LOWER_UP') && link.ifname !== 'lo');
  const canSend = (link.flags ?? []).includes('LOWER_UP') && link.qdisc !== undefined && link.qdisc !== 'noop';
  if (readiness === 'running') return canSend && linkReady(link, 'oper-up');
  return canSend;
}

interface IpAddrJson extends IpLinkJson {
  addr_info?: { family: string; local: string }[];
}

/**
 * The IPv4 addresses a program in `namespace` sees through os.networkInterfaces(): those on
 * non-loopback interfaces that are up and running (see LinkReadiness 'running').
 */
export async function runningAddresses(namespace: string): Promise<string[]> {
  const links = JSON.parse(await ipCommand(namespace, ['-j', 'addr', 'show'])) as IpAddrJson[];
  return links
    .filter((link) => link.ifname !== 'lo' && (link.flags ?? []).includes('UP') && linkReady(link, 'running'))
    .flatMap((link) => (link.addr_info ?? []).filter((info) => info.family === 'inet').map((info) => info.local));
}

/**
 * Waits (polling every `intervalMs`, at most `timeoutMs`) until every address in `wanted` is on a
 * running interface of `namespace`; returns those still missing (empty on success).
 */
export async function waitForAddresses(namespace: string, wanted: readonly string[], options: { intervalMs?: number; timeoutMs?: number } = {}): Promise<string[]> {
  const intervalMs = options.intervalMs ?? 5;
  const deadline = Date.now() + (options.timeoutMs ?? 3000);
  for (;;) {
    const present = new Set(await runningAddresses(namespace));
    const missing = wanted.filter((address) => !present.has(address));
    if (missing.length === 0 || Date.now() >= deadline) return missing;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Links of a namespace (excluding lo and `except`) that are not yet ready. */
export async function linksNotReady(namespace: string, readiness: LinkReadiness, except: readonly string[] = []): Promise<string[]> {
  const links = JSON.parse(await ipCommand(namespace, ['-j', 'link', 'show'])) as IpLinkJson[];
  return links.filter((link) => link.ifname !== 'lo' && !except.includes(link.ifname) && !linkReady(link, readiness)).map((link) => link.ifname);
}

/**
 * Waits until every link in `namespace` is ready. The kernel turns a veth's carrier on
 * asynchronously (linkwatch) after both ends are up; a client sending before that would lose its
 * first datagrams. Polls every `intervalMs` (default 5), at most `timeoutMs` (default 3000);
 * returns the links still not ready (empty on success).
 */
export async function waitForLinks(
  namespace: string,
  options: { readiness?: LinkReadiness; intervalMs?: number; timeoutMs?: number; except?: readonly string[] } = {},
): Promise<string[]> {
  const intervalMs = options.intervalMs ?? 5;
  const deadline = Date.now() + (options.timeoutMs ?? 3000);
  for (;;) {
    const waiting = await linksNotReady(namespace, options.readiness ?? 'can-send', options.except);
    if (waiting.length === 0 || Date.now() >= deadline) return waiting;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
