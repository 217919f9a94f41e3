/**
 * The lab's topology and address plan, computed without touching the system, so it can be
 * unit-tested and printed; `build.ts` turns a plan into namespaces. README.md draws it:
 *
 *   public <id>-pub   bridge br0 203.0.113.1 + .2 (servers), ports to-a / to-b
 *   side A            [CGN <id>-ca: wan 203.0.113.10, lan 100.64.0.1/24]   (optional)
 *                     router <id>-ra: wan 203.0.113.10 (100.64.0.2 behind the CGN), lan 198.51.100.1/28
 *                     client <id>-a: 198.51.100.2
 *   side B            router <id>-rb: wan 203.0.113.20, lan 198.51.100.17/28
 *                     client <id>-b: 198.51.100.18
 *
 * 'none' and 'firewall' have no router: the client takes the side's public address on the bridge
 * (or 100.64.0.2 behind a CGN).
 */
import { bridgeLossRuleset, firewallHostRuleset, routerRuleset } from './nat-rules.js';
import { isTranslating, type NatType, type TranslatingNatType } from './nat-types.js';
import type { NormalizedLabSpec } from './spec.js';

export const PUBLIC_PREFIX_LENGTH = 24;
export const PUBLIC_NETWORK = '203.0.113.0/24';
/** RFC 5780 primary and alternate server addresses (TURN and signaling share them on other ports). */
export const SERVER_PRIMARY_ADDRESS = '203.0.113.1';
export const SERVER_ALTERNATE_ADDRESS = '203.0.113.2';
/** RFC 5780 needs two addresses × two ports; serve takes the pair 3478/3479 on .1 and .2. */
export const LAB_STUN_PORT = 3478;
export const LAB_STUN_ALTERNATE_PORT = 3479;
/** Every address and port the lab's STUN server answers from (the routers let answers to their own sockets in). */
const LAB_STUN_SERVER = { addresses: [SERVER_PRIMARY_ADDRESS, SERVER_ALTERNATE_ADDRESS], ports: [LAB_STUN_PORT, LAB_STUN_ALTERNATE_PORT] } as const;
export const CGN_NETWORK = '100.64.0.0/24';

export type SideName = 'a' | 'b';

interface SideAddressing {
  /** The address the side shows on the public bridge. */
  publicAddress: string;
  /** The client ↔ first-router LAN. */
  lan: { network: string; router: string; client: string; prefixLength: number };
}

export const SIDE_ADDRESSING: Readonly<Record<SideName, SideAddressing>> = {
  a: { publicAddress: '203.0.113.10', lan: { network: '198.51.100.0/28', router: '198.51.100.1', client: '198.51.100.2', prefixLength: 28 } },
  b: { publicAddress: '203.0.113.20', lan: { network: '198.51.100.16/28', router: '198.51.100.17', client: '198.51.100.18', prefixLength: 28 } },
};

const CGN_INSIDE = { router: '100.64.0.1', inner: '100.64.0.2', prefixLength: 24 };

export interface LabRouter {
  namespace: string;
  natType: TranslatingNatType;
  wanInterface: 'wan';
  wanAddress: string;
  lanInterface: 'lan';
  lanAddress: string;
}

export interface LabClient {
  namespace: string;
  interface: 'eth0';
  address: string;
  /** Next hop; undefined when the client sits on the public bridge. */
  gateway: string | undefined;
}

export interface LabSide {
  name: SideName;
  natType: NatType;
  client: LabClient;
  /** The client's own NAT; undefined for 'none' and 'firewall'. */
  router: LabRouter | undefined;
  /** The carrier-grade NAT above `router` (side A only, when the spec asks for one). */
  cgn: LabRouter | undefined;
  /** The address this side shows on the public bridge. */
  publicAddress: string;
}

export interface Lab {
  id: string;
  prefix: string;
  spec: NormalizedLabSpec;
  public: {
    namespace: string;
    bridge: 'br0';
    network: string;
    primaryAddress: string;
    alternateAddress: string;
  };
  a: LabSide;
  b: LabSide | undefined;
  /** Every namespace of the lab, public first. */
  namespaces: string[];
  /** The delay forwarders `buildLab` started (spec.delayMs > 0), one per client. */
  delayForwarders?: { namespace: string; side: SideName; pid: number }[];
}

export type NamespaceRole = 'public' | 'router' | 'cgn' | 'client';

/** What to do in one namespace. Commands are `ip` argument lists without the `-n NAMESPACE`. */
export interface NamespacePlan {
  name: string;
  role: NamespaceRole;
  /** `key=value` pairs for sysctl, applied first. */
  sysctls: string[];
  /** Link creation; a veth's peer may be placed into another namespace of the lab. */
  links: string[][];
  /** Everything after all links exist: enslaving, addresses, up, routes. */
  setup: string[][];
  /**
   * Run after every namespace's `setup`, once this namespace's other links are operationally up:
   * the bridge. A bridge brought up before its ports have carrier gets its carrier later from
   * the kernel's rate-limited linkwatch (up to 1 s), and until then drops what it sends.
   */
  finalSetup: string[][];
  /** nft ruleset loaded with `nft -f -`, if any. */
  nftRuleset: string | undefined;
  /**
   * Delayed links (spec.delayMs > 0) whose upper end is in this namespace: created by a delay
   * forwarder started here after the sysctls, in place of the veth pair `links` would create.
   */
  delayLinks: DelayLinkPlan[];
}

/**
 * A client's first hop with delay: a TAP pair held by `delay-forwarder` in the upper namespace
 * (router, CGN, or the public namespace for a client on the bridge). Same interface names as
 * the veth it replaces, so addresses, routes and nft rules do not change.
 */
export interface DelayLinkPlan {
  side: SideName;
  /** Interface name of the upper end, in the namespace that holds the plan ("lan" or "to-a"). */
  upper: string;
  /** Name the lower end is created with (unique in the upper namespace), before it moves. */
  lowerTemporary: string;
  /** The client namespace the lower end moves into, and its name there ("eth0"). */
  lowerNamespace: string;
  lower: string;
  delayMs: number;
  jitterMs: number;
}

export interface LabPlan {
  lab: Lab;
  namespaces: NamespacePlan[];
}

export interface PlanOptions {
  /** Seed for addr-dependent port hashing. Default: a fixed value; `buildLab` passes a random one. */
  hashSeed?: number;
}

export function namespaceName(prefix: string, id: string, suffix: string): string {
  return `${prefix}${id}-${suffix}`;
}

const IPV6_OFF = ['net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1'];
const FORWARDING_ON = ['net.ipv4.ip_forward=1'];

function emptyPlan(name: string, role: NamespaceRole): NamespacePlan {
  return { name, role, sysctls: role === 'router' || role === 'cgn' ? [...IPV6_OFF, ...FORWARDING_ON] : [...IPV6_OFF], links: [], setup: [['link', 'set', 'lo', 'up']], finalSetup: [], nftRuleset: undefined, delayLinks: [] };
}

/**
 * One side, from the client up to the bridge: client ← router? ← cgn? ← bridge port `to-<side>`.
 * Each upper node creates the veth to the node below it, so every link is created exactly once.
 */
function planSide(
  side: SideName,
  natType: NatType,
  cgnType: TranslatingNatType | undefined,
  spec: NormalizedLabSpec,
  names: { client: string; router: string; cgn: string },
  pub: NamespacePlan,
  options: PlanOptions,
): { side: LabSide; plans: NamespacePlan[] } {
  const addressing = SIDE_ADDRESSING[side];
  const hashSeed = options.hashSeed ?? 0x6e70;
  const clientPlan = emptyPlan(names.client, 'client');
  const routerPlan = isTranslating(natType) ? emptyPlan(names.router, 'router') : undefined;
  const cgnPlan = cgnType !== undefined ? emptyPlan(names.cgn, 'cgn') : undefined;
  // Mapping lifetime per NAT router: conntrack timeouts are per namespace (LAB-NOTES.md).
  // nf_conntrack_udp_timeout covers a flow that saw one exchange; _stream one with traffic
  // both ways more than 2 s apart (nf_conntrack_proto_udp.c).
  if (spec.udpTimeout !== undefined) {
    for (const plan of [routerPlan, cgnPlan]) {
      plan?.sysctls.push(`net.netfilter.nf_conntrack_udp_timeout=${spec.udpTimeout.oneWay}`, `net.netfilter.nf_conntrack_udp_timeout_stream=${spec.udpTimeout.twoWay}`);
    }
  }

  // Addressing of each hop, bottom-up.
  let router: LabRouter | undefined;
  let cgn: LabRouter | undefined;
  let client: LabClient;
  if (cgnType !== undefined) {
    cgn = { namespace: names.cgn, natType: cgnType, wanInterface: 'wan', wanAddress: addressing.publicAddress, lanInterface: 'lan', lanAddress: CGN_INSIDE.router };
  }
  const routerWan = cgn !== undefined ? CGN_INSIDE.inner : addressing.publicAddress;
  if (routerPlan !== undefined && isTranslating(natType)) {
    router = { namespace: names.router, natType, wanInterface: 'wan', wanAddress: routerWan, lanInterface: 'lan', lanAddress: addressing.lan.router };
    client = { namespace: names.client, interface: 'eth0', address: addressing.lan.client, gateway: addressing.lan.router };
  } else if (cgn !== undefined) {
    client = { namespace: names.client, interface: 'eth0', address: CGN_INSIDE.inner, gateway: CGN_INSIDE.router };
  } else {
    client = { namespace: names.client, interface: 'eth0', address: addressing.publicAddress, gateway: undefined };
  }

  // Links: the node above each hop creates the veth pair.
  const chain: { plan: NamespacePlan; uplink: string }[] = [{ plan: clientPlan, uplink: 'eth0' }];
  if (routerPlan) chain.push({ plan: routerPlan, uplink: 'wan' });
  if (cgnPlan) chain.push({ plan: cgnPlan, uplink: 'wan' });
  // The client's own uplink (chain[0]) is its first hop: with a delay it is a forwarder's TAP pair.
  const link = (upperPlan: NamespacePlan, upperName: string, lower: { plan: NamespacePlan; uplink: string }): void => {
    if (lower.plan === clientPlan && spec.delayMs > 0) {
      upperPlan.delayLinks.push({ side, upper: upperName, lowerTemporary: `dly-${side}`, lowerNamespace: clientPlan.name, lower: lower.uplink, delayMs: spec.delayMs, jitterMs: spec.jitterMs });
    } else {
      upperPlan.links.push(['link', 'add', upperName, 'type', 'veth', 'peer', 'name', lower.uplink, 'netns', lower.plan.name]);
    }
  };
  for (let i = 0; i < chain.length - 1; i++) link(chain[i + 1]!.plan, 'lan', chain[i]!);
  const top = chain[chain.length - 1]!;
  const port = `to-${side}`;
  link(pub, port, top);
  pub.setup.push(['link', 'set', port, 'master', 'br0'], ['link', 'set', port, 'up']);

  // Addresses, up, routes.
  const addr = (plan: NamespacePlan, ifname: string, address: string, prefixLength: number): void => {
    plan.setup.push(['addr', 'add', `${address}/${prefixLength}`, 'dev', ifname], ['link', 'set', ifname, 'up']);
  };
  if (cgn && cgnPlan) {
    addr(cgnPlan, 'wan', cgn.wanAddress, PUBLIC_PREFIX_LENGTH);
    addr(cgnPlan, 'lan', cgn.lanAddress, CGN_INSIDE.prefixLength);
    // Loss belongs to the client's first hop; that is the CGN only when the client has no router of its own.
    const lossPercent = router ? 0 : spec.lossPercent;
    cgnPlan.nftRuleset = routerRuleset({ type: cgn.natType, wanAddress: cgn.wanAddress, hairpin: spec.hairpin, lossPercent, hashSeed: hashSeed + 1, stunServer: LAB_STUN_SERVER });
  }
  if (router && routerPlan) {
    addr(routerPlan, 'wan', router.wanAddress, cgn ? CGN_INSIDE.prefixLength : PUBLIC_PREFIX_LENGTH);
    addr(routerPlan, 'lan', router.lanAddress, addressing.lan.prefixLength);
    if (cgn) routerPlan.setup.push(['route', 'add', 'default', 'via', cgn.lanAddress]);
    routerPlan.nftRuleset = routerRuleset({ type: router.natType, wanAddress: router.wanAddress, hairpin: spec.hairpin, lossPercent: spec.lossPercent, hashSeed, stunServer: LAB_STUN_SERVER });
  }
  const clientPrefix = router ? addressing.lan.prefixLength : cgn ? CGN_INSIDE.prefixLength : PUBLIC_PREFIX_LENGTH;
  addr(clientPlan, 'eth0', client.address, clientPrefix);
  if (client.gateway !== undefined) clientPlan.setup.push(['route', 'add', 'default', 'via', client.gateway]);
  if (natType === 'firewall') clientPlan.nftRuleset = firewallHostRuleset({ interface: 'eth0' });

  const plans = [clientPlan, ...(routerPlan ? [routerPlan] : []), ...(cgnPlan ? [cgnPlan] : [])];
  const publicAddress = addressing.publicAddress;
  return { side: { name: side, natType, client, router, cgn, publicAddress }, plans };
}

/**
 * The public namespace stands for the Internet, where a server has a default route and a packet
 * to an address nobody announces (a peer's LAN host candidate, 198.51.100.x) vanishes upstream.
 * Without a default route, sendto() there fails at once with ENETUNREACH, and coturn 4.6 then
 * closes the whole allocation, so one relay↔host pair would kill relay↔relay too. A veth pair with
 * a permanent neighbour entry makes such sends succeed locally and disappear silently. (This
 * kernel has no `dummy` link type.) Nothing leaves the namespace: the peer end is in it too.
 */
const SINK_INTERFACE = 'sink0';
const SINK_NEXT_HOP = '10.255.255.1';
const SINK_NEXT_HOP_MAC = '02:00:00:00:00:99';

/** The complete plan for a validated spec. `id` makes the namespace names unique. */
export function planLab(spec: NormalizedLabSpec, id: string, options: PlanOptions = {}): LabPlan {
  const name = (suffix: string): string => namespaceName(spec.prefix, id, suffix);
  const pub = emptyPlan(name('pub'), 'public');
  pub.links.push(['link', 'add', 'br0', 'type', 'bridge']);
  pub.setup.push(
    ['addr', 'add', `${SERVER_PRIMARY_ADDRESS}/${PUBLIC_PREFIX_LENGTH}`, 'dev', 'br0'],
    ['addr', 'add', `${SERVER_ALTERNATE_ADDRESS}/${PUBLIC_PREFIX_LENGTH}`, 'dev', 'br0'],
  );
  pub.finalSetup.push(['link', 'set', 'br0', 'up']);
  // Both ends stay in the public namespace (named explicitly, like every other veth here).
  pub.links.push(['link', 'add', SINK_INTERFACE, 'type', 'veth', 'peer', 'name', `${SINK_INTERFACE}p`, 'netns', pub.name]);
  pub.setup.push(
    ['link', 'set', SINK_INTERFACE, 'up'],
    ['link', 'set', `${SINK_INTERFACE}p`, 'up'],
    ['neigh', 'add', SINK_NEXT_HOP, 'lladdr', SINK_NEXT_HOP_MAC, 'dev', SINK_INTERFACE, 'nud', 'permanent'],
    ['route', 'add', 'default', 'via', SINK_NEXT_HOP, 'dev', SINK_INTERFACE, 'onlink'],
  );

  const a = planSide('a', spec.a, spec.cgn, spec, { client: name('a'), router: name('ra'), cgn: name('ca') }, pub, options);
  const b = spec.b === undefined ? undefined : planSide('b', spec.b, undefined, spec, { client: name('b'), router: name('rb'), cgn: name('cb') }, pub, options);

  // Clients directly on the bridge have no router to drop in; their bridge port does it.
  const bridgedSides = [a.side, ...(b ? [b.side] : [])].filter((side) => side.router === undefined && side.cgn === undefined);
  if (spec.lossPercent > 0 && bridgedSides.length > 0) {
    pub.nftRuleset = bridgeLossRuleset({ ports: bridgedSides.map((side) => `to-${side.name}`), lossPercent: spec.lossPercent });
  }

  const namespaces = [pub, ...a.plans, ...(b ? b.plans : [])];
  const lab: Lab = {
    id,
    prefix: spec.prefix,
    spec,
    public: { namespace: pub.name, bridge: 'br0', network: PUBLIC_NETWORK, primaryAddress: SERVER_PRIMARY_ADDRESS, alternateAddress: SERVER_ALTERNATE_ADDRESS },
    a: a.side,
    b: b?.side,
    namespaces: namespaces.map((plan) => plan.name),
  };
  return { lab, namespaces };
}
