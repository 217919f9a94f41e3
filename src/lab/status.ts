/**
 * Reads a lab back from the kernel: links and addresses, routes, the nftables ruleset, conntrack
 * entries and running processes of each namespace. For `nat-probe lab status` and for debugging a
 * failing test.
 */
import { LabCommandError } from './errors.js';
import { execInNamespace } from './exec.js';
import { ipCommand, listNamespaces, namespacePids } from './namespaces.js';
import { validatePrefix } from './spec.js';
import type { Lab } from './topology.js';

export interface ConntrackTuple {
  src: string;
  dst: string;
  sport: number | undefined;
  dport: number | undefined;
}

export interface ConntrackEntry {
  protocol: string;
  /** Seconds left before the entry expires. */
  timeoutSeconds: number;
  /** e.g. ESTABLISHED for TCP; undefined for UDP. */
  state: string | undefined;
  original: ConntrackTuple;
  reply: ConntrackTuple;
  /** Flags such as UNREPLIED, ASSURED. */
  flags: string[];
}

export interface NftSummary {
  tables: string[];
  chains: number;
  rules: number;
  /** Named sets and maps with their element count (the full-cone map shows live mappings). */
  sets: { table: string; name: string; elements: number }[];
}

export interface NamespaceStatus {
  namespace: string;
  exists: boolean;
  /** "eth0 UP 198.51.100.2/28" */
  links: { name: string; state: string; addresses: string[] }[];
  routes: string[];
  nft: NftSummary | undefined;
  /** undefined when `conntrack` is not installed (apt-get install conntrack). */
  conntrack: ConntrackEntry[] | undefined;
  pids: number[];
}

export interface LabStatus {
  namespaces: NamespaceStatus[];
}

interface IpAddrJson {
  ifname: string;
  operstate: string;
  addr_info?: { family: string; local: string; prefixlen: number }[];
}

interface IpRouteJson {
  dst: string;
  gateway?: string;
  dev?: string;
}

function parseTuple(fields: Map<string, string>[], index: number): ConntrackTuple {
  const get = (key: string): string | undefined => fields[index]?.get(key);
  const port = (key: string): number | undefined => {
    const value = get(key);
    return value === undefined ? undefined : Number(value);
  };
  return { src: get('src') ?? '', dst: get('dst') ?? '', sport: port('sport'), dport: port('dport') };
}

/**
 * Parses `conntrack -L` lines such as
 * `udp 17 28 src=198.51.100.2 dst=203.0.113.1 sport=40000 dport=3478 [UNREPLIED] src=… mark=0 use=1`.
 */
export function parseConntrackLine(line: string): ConntrackEntry | undefined {
  const tokens = line.trim().split(/\s+/);
  if (tokens.length < 4) return undefined;
  const protocol = tokens[0]!;
  const timeoutSeconds = Number(tokens[2]);
  if (!Number.isFinite(timeoutSeconds)) return undefined;
  let state: string | undefined;
  const flags: string[] = [];
  const tuples: Map<string, string>[] = [];
  for (const token of tokens.slice(3)) {
    const flag = /^\[(.+)\]$/.exec(token);
    if (flag) {
      flags.push(flag[1]!);
      continue;
    }
    const eq = token.indexOf('=');
    if (eq < 0) {
      state = token;
      continue;
    }
    const key = token.slice(0, eq);
    // Each tuple starts with src=; the first is the original direction, the second the reply.
    if (key === 'src') tuples.push(new Map());
    tuples[tuples.length - 1]?.set(key, token.slice(eq + 1));
  }
  if (tuples.length < 2) return undefined;
  return { protocol, timeoutSeconds, state, original: parseTuple(tuples, 0), reply: parseTuple(tuples, 1), flags };
}

interface NftJson {
  nftables: Record<string, { family?: string; name?: string; table?: string; elem?: unknown[] } | undefined>[];
}

/**
 * One set/map element in nft's own syntax: `40792 : 198.51.100.18 . 40792 (expires 119s)` for the
 * full-cone map (mapped port : internal address . port), `40792 . 203.0.113.1 (expires 119s)` for
 * the restricted set (mapped port . remote address).
 */
export function formatNftElement(element: unknown): string {
  if (typeof element === 'string' || typeof element === 'number') return String(element);
  if (Array.isArray(element)) return element.map(formatNftElement).join(' : ');
  if (typeof element === 'object' && element !== null) {
    const value = element as { concat?: unknown[]; elem?: { val?: unknown; expires?: number } };
    if (Array.isArray(value.concat)) return value.concat.map(formatNftElement).join(' . ');
    if (value.elem !== undefined) return `${formatNftElement(value.elem.val)}${value.elem.expires === undefined ? '' : ` (expires ${value.elem.expires}s)`}`;
  }
  return JSON.stringify(element);
}

/** Every named set and map of an `nft -j list ruleset` document with its elements, formatted. */
export function nftSetEntries(json: string): { table: string; name: string; kind: 'set' | 'map'; entries: string[] }[] {
  const parsed = JSON.parse(json) as NftJson;
  const result: { table: string; name: string; kind: 'set' | 'map'; entries: string[] }[] = [];
  for (const item of parsed.nftables) {
    const set = item.set ?? item.map;
    if (set) result.push({ table: set.table ?? '', name: set.name ?? '', kind: item.map ? 'map' : 'set', entries: (set.elem ?? []).map(formatNftElement) });
  }
  return result;
}

export function summarizeNftJson(json: string): NftSummary {
  const parsed = JSON.parse(json) as NftJson;
  const summary: NftSummary = { tables: [], chains: 0, rules: 0, sets: [] };
  for (const item of parsed.nftables) {
    if (item.table) summary.tables.push(`${item.table.family} ${item.table.name}`);
    if (item.chain) summary.chains++;
    if (item.rule) summary.rules++;
    const set = item.set ?? item.map;
    if (set) summary.sets.push({ table: set.table ?? '', name: set.name ?? '', elements: set.elem?.length ?? 0 });
  }
  return summary;
}

async function conntrackEntries(namespace: string): Promise<ConntrackEntry[] | undefined> {
  try {
    const { stdout } = await execInNamespace(namespace, 'conntrack', ['-L']);
    return stdout
      .split('\n')
      .map(parseConntrackLine)
      .filter((entry): entry is ConntrackEntry => entry !== undefined);
  } catch (error) {
    if (error instanceof LabCommandError && /exec of "conntrack" failed/.test(error.stderr)) return undefined;
    throw error;
  }
}

async function namespaceStatus(namespace: string): Promise<NamespaceStatus> {
  const [addrJson, routeJson, nftJson, conntrack, pids] = await Promise.all([
    ipCommand(namespace, ['-j', 'addr', 'show']),
    ipCommand(namespace, ['-j', 'route', 'show']),
    execInNamespace(namespace, 'nft', ['-j', 'list', 'ruleset']),
    conntrackEntries(namespace),
    namespacePids(namespace),
  ]);
  const links = (JSON.parse(addrJson) as IpAddrJson[]).map((link) => ({
    name: link.ifname,
    state: link.operstate,
    addresses: (link.addr_info ?? []).map((info) => `${info.local}/${info.prefixlen}`),
  }));
  const routes = (JSON.parse(routeJson) as IpRouteJson[]).map(
    (route) => `${route.dst}${route.gateway ? ` via ${route.gateway}` : ''}${route.dev ? ` dev ${route.dev}` : ''}`,
  );
  return { namespace, exists: true, links, routes, nft: summarizeNftJson(nftJson.stdout), conntrack, pids };
}

/** Status of every namespace of `lab` (or of the given namespace names, e.g. from listLabs). */
export async function labStatus(lab: Pick<Lab, 'namespaces'>): Promise<LabStatus> {
  const present = new Set(await listNamespaces());
  const namespaces = await Promise.all(
    lab.namespaces.map((namespace): Promise<NamespaceStatus> | NamespaceStatus =>
      present.has(namespace)
        ? namespaceStatus(namespace)
        : { namespace, exists: false, links: [], routes: [], nft: undefined, conntrack: undefined, pids: [] },
    ),
  );
  return { namespaces };
}

/** Full `nft list ruleset` text of one namespace. */
export async function nftRuleset(namespace: string): Promise<string> {
  return (await execInNamespace(namespace, 'nft', ['list', 'ruleset'])).stdout;
}

/**
 * Labs present on this machine with `prefix`, grouped by lab id (names are PREFIX + ID + "-" + role).
 * For `lab status` / `lab down` in a process that did not build the lab.
 */
export async function listLabs(prefix: string): Promise<{ id: string; prefix: string; namespaces: string[] }[]> {
  validatePrefix(prefix);
  const byId = new Map<string, string[]>();
  for (const name of await listNamespaces()) {
    if (!name.startsWith(prefix)) continue;
    const rest = name.slice(prefix.length);
    const dash = rest.lastIndexOf('-');
    if (dash <= 0) continue;
    const id = rest.slice(0, dash);
    byId.set(id, [...(byId.get(id) ?? []), name]);
  }
  return [...byId.entries()].map(([id, namespaces]) => ({ id, prefix, namespaces: namespaces.sort() }));
}
