/**
 * Everything `nat-probe lab status` shows about a running lab, read back from the kernel: the
 * topology (from the state file), each namespace's links, routes, nft and conntrack (labStatus),
 * the NAT mappings each router holds, and whether the recorded server PIDs are alive.
 *
 * A NAT mapping (RFC 4787 §4.1) is read from conntrack: an entry whose reply tuple is not the
 * mirror of its original tuple was translated. For outbound flows (SNAT/masquerade) the reply's
 * destination is the mapped address; for inbound flows the full-cone/restricted DNAT made, the
 * original destination is the mapped address and the reply's source the internal endpoint. The
 * full-cone map and the restricted set are listed too: they are the endpoint-independent
 * mapping/filtering state the kernel's conntrack alone would not keep.
 */
import { execInNamespace } from './exec.js';
import { pidAlive } from './recorded-pids.js';
import type { LabState } from './state.js';
import { labStatus, nftSetEntries, type ConntrackEntry, type NamespaceStatus } from './status.js';
import type { LabRouter, SideName } from './topology.js';

export interface NatMapping {
  protocol: string;
  /** The client's endpoint as its socket sees it. */
  internal: string;
  /** The endpoint the NAT shows outside (the server-reflexive address). */
  external: string;
  /** The remote endpoint of this flow. */
  remote: string;
  direction: 'outbound' | 'inbound';
  timeoutSeconds: number;
}

export interface RouterOverview {
  side: SideName;
  role: 'router' | 'cgn';
  namespace: string;
  natType: string;
  wanAddress: string;
  lanAddress: string;
  mappings: NatMapping[];
  /** Dynamic nft sets/maps: full-cone/restricted mapping state, hairpin. */
  dynamic: { name: string; kind: 'set' | 'map'; entries: string[] }[];
  /** undefined when conntrack is not installed. */
  conntrack: ConntrackEntry[] | undefined;
}

export interface LabOverview {
  state: LabState;
  namespaces: NamespaceStatus[];
  routers: RouterOverview[];
  servers: { pid: number; alive: boolean; inLab: boolean }[];
}

function endpoint(address: string, port: number | undefined): string {
  return port === undefined ? address : `${address}:${port}`;
}

/** The translations in one router's conntrack table. */
export function mappingsFromConntrack(entries: readonly ConntrackEntry[]): NatMapping[] {
  const mappings: NatMapping[] = [];
  for (const entry of entries) {
    const { original, reply } = entry;
    const snat = reply.dst !== original.src || reply.dport !== original.sport;
    const dnat = reply.src !== original.dst || reply.sport !== original.dport;
    if (snat) {
      mappings.push({
        protocol: entry.protocol,
        internal: endpoint(original.src, original.sport),
        external: endpoint(reply.dst, reply.dport),
        remote: endpoint(original.dst, original.dport),
        direction: 'outbound',
        timeoutSeconds: entry.timeoutSeconds,
      });
    } else if (dnat) {
      mappings.push({
        protocol: entry.protocol,
        internal: endpoint(reply.src, reply.sport),
        external: endpoint(original.dst, original.dport),
        remote: endpoint(original.src, original.sport),
        direction: 'inbound',
        timeoutSeconds: entry.timeoutSeconds,
      });
    }
  }
  return mappings.sort((a, b) => a.internal.localeCompare(b.internal) || a.remote.localeCompare(b.remote));
}

function routersOf(state: LabState): { side: SideName; role: 'router' | 'cgn'; router: LabRouter }[] {
  const result: { side: SideName; role: 'router' | 'cgn'; router: LabRouter }[] = [];
  for (const side of [state.lab.a, state.lab.b]) {
    if (side === undefined) continue;
    if (side.router) result.push({ side: side.name, role: 'router', router: side.router });
    if (side.cgn) result.push({ side: side.name, role: 'cgn', router: side.cgn });
  }
  return result;
}

export async function labOverview(state: LabState): Promise<LabOverview> {
  const routers = routersOf(state);
  const [status, dynamic] = await Promise.all([
    labStatus(state.lab),
    Promise.all(
      routers.map(async ({ router }) => {
        try {
          return nftSetEntries((await execInNamespace(router.namespace, 'nft', ['-j', 'list', 'ruleset'])).stdout);
        } catch {
          return []; // the namespace is gone; labStatus reports that
        }
      }),
    ),
  ]);
  const byName = new Map(status.namespaces.map((ns) => [ns.namespace, ns]));
  const inLab = new Set(status.namespaces.flatMap((ns) => ns.pids));
  return {
    state,
    namespaces: status.namespaces,
    routers: routers.map(({ side, role, router }, index) => {
      const conntrack = byName.get(router.namespace)?.conntrack;
      return {
        side,
        role,
        namespace: router.namespace,
        natType: router.natType,
        wanAddress: router.wanAddress,
        lanAddress: router.lanAddress,
        mappings: conntrack === undefined ? [] : mappingsFromConntrack(conntrack),
        dynamic: dynamic[index]!.map(({ name, kind, entries }) => ({ name, kind, entries })),
        conntrack,
      };
    }),
    servers: state.servers.pids.map((pid) => ({ pid, alive: pidAlive(pid), inLab: inLab.has(pid) })),
  };
}
