/**
 * The machine-readable documents of `nat-probe lab up | status | down --json`. Secrets never
 * appear here: the TURN secret is referenced by its file (mode 0600), not copied.
 */
import type { LabOverview, NatMapping } from '../lab/overview.js';
import type { StopPidsResult } from '../lab/recorded-pids.js';
import type { LabState } from '../lab/state.js';
import type { ConntrackEntry } from '../lab/status.js';
import type { Lab, LabSide } from '../lab/topology.js';

export const LAB_UP_SCHEMA = 'nat-probe.lab-up/v1';
export const LAB_STATUS_SCHEMA = 'nat-probe.lab-status/v1';
export const LAB_DOWN_SCHEMA = 'nat-probe.lab-down/v1';

export interface TopologyJson {
  id: string;
  prefix: string;
  spec: Lab['spec'];
  namespaces: string[];
  public: { namespace: string; addresses: string[] };
  sides: {
    name: string;
    natType: string;
    publicAddress: string;
    client: { namespace: string; address: string; gateway: string | null };
    router: { namespace: string; natType: string; wan: string; lan: string } | null;
    cgn: { namespace: string; natType: string; wan: string; lan: string } | null;
  }[];
}

function sideJson(side: LabSide): TopologyJson['sides'][number] {
  const hop = (router: LabSide['router']) => (router === undefined ? null : { namespace: router.namespace, natType: router.natType, wan: router.wanAddress, lan: router.lanAddress });
  return {
    name: side.name,
    natType: side.natType,
    publicAddress: side.publicAddress,
    client: { namespace: side.client.namespace, address: side.client.address, gateway: side.client.gateway ?? null },
    router: hop(side.router),
    cgn: hop(side.cgn),
  };
}

export function topologyJson(lab: Lab): TopologyJson {
  return {
    id: lab.id,
    prefix: lab.prefix,
    spec: lab.spec,
    namespaces: lab.namespaces,
    public: { namespace: lab.public.namespace, addresses: [lab.public.primaryAddress, lab.public.alternateAddress] },
    sides: [lab.a, ...(lab.b ? [lab.b] : [])].map(sideJson),
  };
}

export interface ServersJson {
  stun: string;
  signal: string;
  turn: { url: string; realm: string; secretFile: string } | null;
  pids: number[];
  logFiles: string[];
}

function serversJson(state: LabState): ServersJson {
  return { stun: state.servers.stun, signal: state.servers.signal, turn: state.servers.turn ?? null, pids: state.servers.pids, logFiles: state.servers.logFiles };
}

export interface LabUpJson {
  schema: typeof LAB_UP_SCHEMA;
  lab: TopologyJson;
  servers: ServersJson;
  stateFile: string;
  durationMs: number;
}

export function labUpJson(state: LabState, stateFile: string, durationMs: number): LabUpJson {
  return { schema: LAB_UP_SCHEMA, lab: topologyJson(state.lab), servers: serversJson(state), stateFile, durationMs: Math.round(durationMs * 10) / 10 };
}

export interface LabStatusJson {
  schema: typeof LAB_STATUS_SCHEMA;
  createdAt: string;
  lab: TopologyJson;
  servers: ServersJson & { processes: { pid: number; alive: boolean; inLab: boolean }[] };
  routers: {
    side: string;
    role: string;
    namespace: string;
    natType: string;
    wan: string;
    lan: string;
    mappings: NatMapping[];
    dynamic: { name: string; kind: string; entries: string[] }[];
    /** null when conntrack is not installed. */
    conntrack: ConntrackEntry[] | null;
  }[];
  namespaces: { namespace: string; exists: boolean; links: { name: string; state: string; addresses: string[] }[]; routes: string[]; pids: number[]; conntrackEntries: number | null }[];
}

export function labStatusJson(overview: LabOverview): LabStatusJson {
  return {
    schema: LAB_STATUS_SCHEMA,
    createdAt: overview.state.createdAt,
    lab: topologyJson(overview.state.lab),
    servers: { ...serversJson(overview.state), processes: overview.servers },
    routers: overview.routers.map((router) => ({
      side: router.side,
      role: router.role,
      namespace: router.namespace,
      natType: router.natType,
      wan: router.wanAddress,
      lan: router.lanAddress,
      mappings: router.mappings,
      dynamic: router.dynamic,
      conntrack: router.conntrack ?? null,
    })),
    namespaces: overview.namespaces.map((ns) => ({
      namespace: ns.namespace,
      exists: ns.exists,
      links: ns.links,
      routes: ns.routes,
      pids: ns.pids,
      conntrackEntries: ns.conntrack?.length ?? null,
    })),
  };
}

export interface LabDownJson {
  schema: typeof LAB_DOWN_SCHEMA;
  prefix: string;
  processes: StopPidsResult;
  namespaces: string[];
  files: string[];
}

export function labDownJson(prefix: string, processes: StopPidsResult, namespaces: string[], files: string[]): LabDownJson {
  return { schema: LAB_DOWN_SCHEMA, prefix, processes, namespaces, files };
}
