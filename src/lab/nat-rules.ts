/**
 * nftables rulesets for the lab, as text for `nft -f -`. Pure functions: no I/O.
 *
 * Each NAT behaviour is built exactly as LAB-NOTES.md records it was verified on these kernels:
 *   port-restricted  EIM/APDF  plain `masquerade` (Linux keeps the source port when it is free)
 *   symmetric        APDM/APDF `masquerade random`
 *   symmetric-seq.   APDM/APDF `snat to WAN : numgen inc …` (each new mapping takes the next port)
 *   addr-dependent   ADM/APDF  `snat to WAN : jhash saddr . sport . daddr …` (port depends on remote IP)
 *   full-cone        EIM/EIF   masquerade + a dynamic map "mapped port → internal addr . port" that
 *                              a prerouting DNAT consults for any inbound UDP
 *   restricted       EIM/ADF   as full-cone, but inbound DNAT only from remote addresses the
 *                              mapping has sent to (a dynamic set "mapped port . remote addr")
 * and every router drops *new* inbound packets addressed to itself (the LAB-NOTES pitfall: without
 * it, a stray ICMP-answered packet leaves a conntrack entry that makes masquerade pick a random
 * port, and an EIM NAT behaves symmetric during hole punching).
 */
import type { TranslatingNatType } from './nat-types.js';

/** The table every lab ruleset lives in (one per namespace, so teardown with the namespace removes it). */
export const LAB_TABLE = 'natprobe';

/**
 * addr-dependent: `snat to WAN : jhash saddr . sport . daddr mod N offset M` (LAB-NOTES uses
 * mod 20000 offset 40000). nftables 1.0.6 puts the hash into the port field in host byte order, so
 * on the wire the ports are byte-swapped and spread over the whole range; only their dependence on
 * the remote address matters. A single-port SNAT cannot fall back when two internal endpoints hash
 * to the same port toward the same remote: conntrack then drops the packet (insert_failed). With n
 * mappings toward one remote that happens with probability ≈ n²/(2N), so N is as large as possible.
 */
export const HASHED_PORT_OFFSET = 1024;
export const HASHED_PORT_COUNT = 64000;

/**
 * symmetric-sequential: new mappings take ports 40000, 40001, … 41023, then wrap. The counter goes
 * through a constant map (numgen → inet_service) because a bare `numgen` result would be
 * byte-swapped the same way (40000, 40001 → 16540, 16796 on the wire), which is not consecutive.
 */
export const SEQUENTIAL_PORT_OFFSET = 40000;
export const SEQUENTIAL_PORT_COUNT = 1024;

function sequentialPortMap(): string {
  const elements: string[] = [];
  for (let i = 0; i < SEQUENTIAL_PORT_COUNT; i++) elements.push(`${i} : ${SEQUENTIAL_PORT_OFFSET + i}`);
  return `{ ${elements.join(', ')} }`;
}

export interface RouterRulesOptions {
  type: TranslatingNatType;
  /** The router's own address on its WAN side (the public bridge, or 100.64.0.0/24 behind a CGN). */
  wanAddress: string;
  /** Default "wan". */
  wanInterface?: string;
  /** Default "lan". */
  lanInterface?: string;
  /** Loop LAN → own WAN address back to the LAN (RFC 4787 §6). Default false. */
  hairpin?: boolean;
  /** Percentage of forwarded packets dropped in each direction. Default 0. */
  lossPercent?: number;
  /** jhash seed for addr-dependent port selection. Default 0x6e70 ("np"). */
  hashSeed?: number;
  /** Lifetime of full-cone/restricted/hairpin map entries without outbound traffic, seconds. Default 120 (RFC 4787 REQ-5 minimum). */
  mappingTimeoutSeconds?: number;
  /**
   * The lab's RFC 5780 STUN server (both addresses, both ports): its answers to a socket *on the
   * router itself* pass the input drop (see `routerRuleset`). miniupnpd's STUN test
   * (`ext_perform_stun`) needs them. Default: none, every new inbound flow to the router is dropped.
   */
  stunServer?: { addresses: readonly string[]; ports: readonly number[] };
}

function quote(name: string): string {
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(name)) throw new Error(`not an interface name: ${JSON.stringify(name)}`);
  return `"${name}"`;
}

/** nft's `numgen random mod 100` yields 0–99, so 100 % is written as a plain drop. */
function lossMatch(lossPercent: number): string {
  return lossPercent >= 100 ? 'drop' : `numgen random mod 100 < ${lossPercent} drop`;
}

function lossRule(lossPercent: number): string[] {
  return lossPercent > 0 ? [lossMatch(lossPercent)] : [];
}

/** Does this router keep the "mapped port → internal endpoint" map? (EIF/ADF inbound, or hairpin.) */
function needsMappingMap(type: TranslatingNatType, hairpin: boolean): boolean {
  return hairpin || type === 'full-cone' || type === 'restricted';
}

/**
 * Source NAT for traffic the router forwards, never for its own: `ip saddr != WAN` leaves the
 * router's own datagrams (miniupnpd's STUN test, which must see its port unchanged to find itself
 * "behind unrestricted full-cone NAT 1:1") with their source port, as a home router's own
 * services have them. Forwarded traffic always comes from a LAN address (the client, or the inner
 * routers' 100.64 segment on a CGN), never from the WAN address, so it is translated exactly as
 * before for every type.
 */
function sourceNatRules(options: Required<Pick<RouterRulesOptions, 'type' | 'wanAddress' | 'hashSeed'>>, wan: string): string[] {
  const { type, wanAddress, hashSeed } = options;
  const forwarded = `oifname ${wan} ip saddr != ${wanAddress}`;
  switch (type) {
    case 'port-restricted':
    case 'full-cone':
    case 'restricted':
      return [`${forwarded} masquerade`];
    case 'symmetric':
      return [`${forwarded} masquerade random`];
    case 'addr-dependent':
      // The port depends on (internal endpoint, remote address) only: ADM (RFC 4787 §4.1).
      return [
        `${forwarded} meta l4proto udp snat ip to ${wanAddress} : jhash ip saddr . udp sport . ip daddr mod ${HASHED_PORT_COUNT} seed 0x${hashSeed.toString(16)} offset ${HASHED_PORT_OFFSET}`,
        `${forwarded} masquerade`,
      ];
    case 'symmetric-sequential':
      // The NAT chain sees only the first packet of each conntrack, so the counter advances once per new mapping.
      return [
        `${forwarded} meta l4proto udp snat ip to ${wanAddress} : numgen inc mod ${SEQUENTIAL_PORT_COUNT} map ${sequentialPortMap()}`,
        `${forwarded} masquerade random`,
      ];
  }
}

/**
 * The one exception to the input drop: RFC 5780 answers from the lab's STUN server to a socket
 * that is open on the router itself (nft `socket`: the rule matches only when the kernel finds a
 * local socket for the packet; `transparent 0` is true of every ordinary socket). miniupnpd's STUN
 * test asks with CHANGE-REQUEST, so answers come from the alternate address and port as new
 * conntrack flows, which the drop would otherwise eat ("restrictive NAT, port forwarding
 * disabled"). Harmless without miniupnpd, so it is in every router: a packet for which no socket
 * exists (a client's RFC 5780 filtering answer that the NAT must not let in, which arrives
 * addressed to the router) still meets the drop, so it leaves no conntrack entry behind (the
 * LAB-NOTES pitfall) and client behaviour is the same as without the rule.
 */
function stunAnswerAccept(stun: NonNullable<RouterRulesOptions['stunServer']>, wan: string): string[] {
  if (stun.addresses.length === 0 || stun.ports.length === 0) return [];
  return [`iifname ${wan} ip saddr { ${stun.addresses.join(', ')} } udp sport { ${stun.ports.join(', ')} } socket transparent 0 accept`];
}

/** The full ruleset of one NAT router namespace. */
export function routerRuleset(options: RouterRulesOptions): string {
  const wan = quote(options.wanInterface ?? 'wan');
  const lan = quote(options.lanInterface ?? 'lan');
  const hairpin = options.hairpin ?? false;
  const lossPercent = options.lossPercent ?? 0;
  const hashSeed = options.hashSeed ?? 0x6e70;
  const timeout = options.mappingTimeoutSeconds ?? 120;
  const { type, wanAddress } = options;
  const withMap = needsMappingMap(type, hairpin);
  const lines: string[] = [`table ip ${LAB_TABLE} {`];

  if (withMap) {
    lines.push(`  map mappings { type inet_service : ipv4_addr . inet_service; flags dynamic,timeout; timeout ${timeout}s; }`);
  }
  if (type === 'restricted') {
    lines.push(`  set contacted { type inet_service . ipv4_addr; flags dynamic,timeout; timeout ${timeout}s; }`);
  }

  // The pitfall rule: nothing from outside may open a conntrack entry on the router itself.
  lines.push(
    '  chain input { type filter hook input priority filter; policy accept;',
    ...(options.stunServer ? stunAnswerAccept(options.stunServer, wan) : []).map((rule) => `    ${rule}`),
    `    iifname ${wan} ct state new drop`,
    '  }',
  );

  lines.push(
    '  chain forward { type filter hook forward priority filter; policy accept;',
    ...lossRule(lossPercent).map((rule) => `    ${rule}`),
    // A NAT forwards new inbound flows only when its own prerouting DNAT chose to (EIF/ADF), never by routing.
    `    iifname ${wan} ct state new ct status & dnat == 0 drop`,
    '  }',
  );

  const prerouting: string[] = [];
  if (type === 'full-cone') prerouting.push(`iifname ${wan} dnat ip addr . port to udp dport map @mappings`);
  if (type === 'restricted') prerouting.push(`iifname ${wan} udp dport . ip saddr @contacted dnat ip addr . port to udp dport map @mappings`);
  if (hairpin) prerouting.push(`iifname ${lan} ip daddr ${wanAddress} dnat ip addr . port to udp dport map @mappings`);
  if (prerouting.length > 0) {
    lines.push('  chain prerouting { type nat hook prerouting priority dstnat; policy accept;', ...prerouting.map((rule) => `    ${rule}`), '  }');
  }

  lines.push(
    '  chain postrouting { type nat hook postrouting priority srcnat; policy accept;',
    // Hairpinned packets leave with the WAN address as source, as an outside peer would see them.
    ...(hairpin ? [`    iifname ${lan} oifname ${lan} ct status dnat snat ip to ${wanAddress}`] : []),
    ...sourceNatRules({ type, wanAddress, hashSeed }, wan).map((rule) => `    ${rule}`),
    '  }',
  );

  if (withMap) {
    // After source NAT (srcnat + 10) the conntrack reply tuple holds the mapped port. Only packets in
    // the original direction learn: a reply to an inbound-DNATed flow would otherwise record the
    // remote's port as a mapping.
    const learn = [`oifname ${wan} meta l4proto udp ct direction original update @mappings { ct reply proto-dst : ct original ip saddr . ct original proto-src }`];
    if (type === 'restricted') learn.push(`oifname ${wan} meta l4proto udp ct direction original update @contacted { ct reply proto-dst . ip daddr }`);
    lines.push('  chain learn { type filter hook postrouting priority srcnat + 10; policy accept;', ...learn.map((rule) => `    ${rule}`), '  }');
  }

  lines.push('}');
  return `${lines.join('\n')}\n`;
}

/** 'firewall': a public host whose own input hook drops new inbound flows (no NAT, APDF). */
export function firewallHostRuleset(options: { interface?: string } = {}): string {
  const wan = quote(options.interface ?? 'eth0');
  return [
    `table ip ${LAB_TABLE} {`,
    '  chain input { type filter hook input priority filter; policy accept;',
    `    iifname ${wan} ct state new drop`,
    '  }',
    '}',
    '',
  ].join('\n');
}

/**
 * Loss for clients that sit directly on the public bridge (no router to drop in): the bridge port
 * drops IPv4 frames in both directions. Dropping in the client's own output hook instead would
 * make send() fail with EPERM, which real loss never does.
 */
export function bridgeLossRuleset(options: { ports: readonly string[]; lossPercent: number }): string {
  const ports = options.ports.map(quote).join(', ');
  const drop = lossMatch(options.lossPercent);
  return [
    `table bridge ${LAB_TABLE} {`,
    '  chain prerouting { type filter hook prerouting priority filter; policy accept;',
    `    iifname { ${ports} } meta protocol ip ${drop}`,
    '  }',
    '  chain postrouting { type filter hook postrouting priority filter; policy accept;',
    `    oifname { ${ports} } meta protocol ip ${drop}`,
    '  }',
    '}',
    '',
  ].join('\n');
}
