/**
 * Traversal strategies beyond plain ICE: their names, options, the behaviour each peer tells the
 * other, the plan both derive from it, and what a session reports about them. Pure types and
 * defaults; the engines live beside this file (plan.ts, predict.ts, birthday.ts, …).
 */
import { NatProbeError } from '../errors.js';
import type { FilteringBehaviour, MappingBehaviour } from '../nat/types.js';

/**
 * The strategies `--strategy` takes. `ice` is plain ICE (RFC 8445) and always runs; the others run
 * beside it when the plan says they apply. `all` is shorthand for every one of them.
 */
export const STRATEGY_NAMES = ['ice', 'predict', 'birthday', 'relay-ladder', 'portmap'] as const;
export type StrategyName = (typeof STRATEGY_NAMES)[number];
/** The strategies that add something to ICE (what a session is configured with). */
export type ExtraStrategy = Exclude<StrategyName, 'ice'>;
export const EXTRA_STRATEGIES: readonly ExtraStrategy[] = ['predict', 'birthday', 'relay-ladder', 'portmap'];

/** Port prediction for NATs that allocate ports in sequence. */
export interface PredictOptions {
  /** Predicted ports probed after the last mapped port: base+δ … base+window·δ. Default 50. */
  readonly window?: number;
  /** How many times the window is swept. Default 2. */
  readonly repeats?: number;
  /** Probes per second. Default 200 (one per Ta of 5 ms, RFC 8445 §14.2). */
  readonly ratePerSecond?: number;
}

/** Birthday probing: many sockets on the hard side, random ports probed from the easy side. */
export interface BirthdayOptions {
  /** Sockets the hard side opens towards the easy side. Default 256, at most 1024. */
  readonly sockets?: number;
  /** Probes the easy side sends, at most. Default 1024, at most 65535. */
  readonly budget?: number;
  /** Probes per second from the easy side. Default 200, at most 1000. */
  readonly ratePerSecond?: number;
  /**
   * Random ↔ random (both sides' mappings depend on the destination) is refused by default, with
   * the computed probability; true attempts it anyway at the given budget.
   */
  readonly allowRandomPair?: boolean;
}

/** Port mapping on the default gateway (NAT-PMP, RFC 6886, or PCP, RFC 6887) for the session's ICE host socket. */
export interface PortmapOptions {
  /**
   * Why the gateway must not be asked (the same rule as `detect`: every server on loopback, or
   * an embedded self-test; nat/port-mapping.ts portMappingSkipReason). Set by the CLI.
   */
  readonly skip?: string;
  /** The gateway to ask. Default: the IPv4 default route's next hop (gateway/default-gateway.ts). */
  readonly gateway?: string;
  /** Lifetime asked for, renewed at half of what is granted (RFC 6886 §3.3). Default 120 s. */
  readonly lifetimeSeconds?: number;
  /** NAT-PMP port, for tests against a loopback fake. Default 5351. */
  readonly port?: number;
}

export interface TraversalOptions {
  /** The strategies beyond ICE to use where they apply. Empty: plain ICE. */
  readonly strategies: readonly ExtraStrategy[];
  readonly predict?: PredictOptions;
  readonly birthday?: BirthdayOptions;
  readonly portmap?: PortmapOptions;
}

export const TRAVERSAL_DEFAULTS = {
  predictWindow: 50,
  predictRepeats: 2,
  predictRatePerSecond: 200,
  birthdaySockets: 256,
  birthdayBudget: 1024,
  birthdayRatePerSecond: 200,
  /** Hard caps: a user may lower the figures, and raise them only this far. */
  maxBirthdaySockets: 1024,
  maxBirthdayBudget: 65_535,
  maxProbeRatePerSecond: 1000,
  maxPredictWindow: 1024,
  /** The port pool assumed for a random allocator (1024–65535), N in P ≈ 1 − (1 − k/N)^n. */
  randomPortPool: 64_512,
  /** portmap: lifetime asked of the gateway; short, so a mapping whose deletion is lost soon expires. */
  portmapLifetimeSeconds: 120,
  /**
   * portmap: first NAT-PMP retransmission timeout and sends (at 0 and 250 ms, then the wait after
   * the last: given up at 1.25 s; the UPnP search that starts at 250 ms ends by 1.5 s), so a
   * gateway that answers nothing delays the behaviour message by at most 1.5 s (the probe itself
   * takes a good part of that anyway), inside the 2 s the other side waits for it.
   */
  portmapRtoMs: 250,
  portmapAttempts: 2,
} as const;

/** How this side's NAT allocates external ports, as the behaviour probe measured it. */
export type AllocationKind = 'preserved' | 'sequential' | 'random' | 'unknown';

/**
 * What one peer tells the other about its own NAT (the signaling `traversal` message), measured
 * by a short RFC 5780 probe against the session's STUN server while it gathers.
 */
export interface NatBehaviour {
  readonly mapping: MappingBehaviour;
  readonly filtering: FilteringBehaviour;
  readonly allocation: AllocationKind;
  /** Step between consecutive new mappings, for sequential allocation. */
  readonly delta?: number;
  /** The external port of the newest mapping the probe saw (the base that prediction counts from). */
  readonly lastMappedPort?: number;
  /** This side's public IP as the STUN server saw it. */
  readonly publicAddress?: string;
  /** The strategies this side is willing to run. */
  readonly strategies: readonly ExtraStrategy[];
  /**
   * portmap: the mapping this side's gateway granted for its ICE host socket (its external
   * address as the gateway states it, and the mapped port), or why there is none. Absent when
   * this side did not offer portmap (or is an older nat-probe).
   */
  readonly portmap?: PortmapOffer;
}

/** NAT-PMP (RFC 6886) first; PCP MAP (RFC 6887 §11) when the gateway answers that it speaks only PCP; UPnP IGD AddPortMapping when neither answers. */
export type PortmapProtocol = 'nat-pmp' | 'pcp' | 'upnp';

/** What a side's gateway gave it, as told to the other side. */
export type PortmapOffer =
  | { readonly mapped: true; readonly protocol: PortmapProtocol; readonly address: string; readonly port: number }
  | { readonly mapped: false; readonly reason: string };

/** The technique both peers settle on for the direct path. */
export type PlanTechnique =
  /** Plain ICE is expected to connect (or no strategy was asked for): nothing extra runs. */
  | 'ice'
  /** One side (or both) predicts the other's next ports. */
  | 'predict'
  /** Many sockets on the hard side, random probes from the easy side. */
  | 'birthday'
  /** A side's gateway mapped its ICE socket's port (NAT-PMP): the other side's checks reach it there. */
  | 'portmap'
  /** No direct technique reaches this pair: only a relay can. */
  | 'relay-only'
  /** The other peer sent no behaviour (an older peer), or a probe failed: plain ICE only. */
  | 'unknown';

/** Which side does what in the plan, from this side's point of view. */
export type PlanDuty =
  /** Probes the other side's predicted or random ports from its ICE socket. */
  | 'prober'
  /** Opens mappings towards the other side (birthday: many sockets; predict: its ICE socket). */
  | 'opener'
  /** Both (sequential ↔ sequential prediction). */
  | 'both'
  | 'none';

export interface TraversalPlan {
  readonly technique: PlanTechnique;
  readonly localDuty: PlanDuty;
  readonly remoteDuty: PlanDuty;
  /** One sentence a user can read: which side is hard and why this technique. */
  readonly reason: string;
  /** The chance the technique finds a path, where it can be computed (birthday; random ↔ random). */
  readonly probability?: number;
}

/** What one strategy did in a session. */
export interface StrategyAttempt {
  readonly strategy: ExtraStrategy;
  readonly duty: PlanDuty;
  /** ms since the session started. */
  readonly startedAtMs: number;
  readonly endedAtMs: number;
  /** Datagrams sent to ports the other side did not signal (predicted or random). */
  readonly probesSent: number;
  /** Extra sockets this side opened for the strategy (all closed when the session ends). */
  readonly socketsOpened: number;
  /** True when an authenticated check arrived through a path this strategy opened. */
  readonly hit: boolean;
  /** Why it stopped: 'hit', 'budget', 'ice-connected', 'session-ended', 'refused', … */
  readonly stopReason: string;
}

/** Which path won, by how it was found. */
export type WinningPath = 'ice' | 'predict' | 'birthday' | 'portmap' | 'relay-udp' | 'relay-tcp' | 'relay-tls' | 'none';

/** One rung of the relay ladder. */
export interface RelayRungResult {
  readonly rung: 'direct' | 'relay-udp' | 'relay-tcp' | 'relay-tls';
  /** ms since the session started when the rung began, and when it had its answer. */
  readonly startedAtMs: number;
  readonly endedAtMs?: number;
  readonly ok: boolean;
  readonly detail?: string;
}

/** What this side's portmap strategy did with its gateway in one session. */
export interface PortmapReport {
  readonly protocol: PortmapProtocol;
  /** The gateway asked; absent when it was not asked (`skipped`). */
  readonly gateway?: string;
  /** Why the gateway was not asked (loopback servers, --embedded, no default route, …). */
  readonly skipped?: string;
  /** The ICE host socket's port that was mapped. */
  readonly internalPort?: number;
  readonly mapped: boolean;
  /** The external address the gateway states (RFC 6886 §3.2) and the port it mapped (§3.3). */
  readonly externalAddress?: string;
  readonly externalPort?: number;
  /** Granted lifetime, seconds (the last grant, after renewals). */
  readonly lifetimeSeconds?: number;
  /** Time from the first request to the mapping (or to giving up), ms. */
  readonly durationMs?: number;
  /** Renewals at half the granted lifetime. */
  readonly renewals: number;
  /** True when this side advertised the mapping as a candidate (the plan was portmap). */
  readonly advertised: boolean;
  /** True once the gateway confirmed the deletion (RFC 6886 §3.4); false while held or when it failed. */
  readonly deleted: boolean;
  /** Why the mapping is not usable (refused, silent gateway, inner NAT of a double NAT, …). */
  readonly error?: string;
}

/** The `traversal` part of a peer session's result (nat-probe.peer/v2). */
export interface TraversalReport {
  readonly requested: readonly ExtraStrategy[];
  readonly localBehaviour?: NatBehaviour;
  readonly remoteBehaviour?: NatBehaviour;
  readonly plan: TraversalPlan;
  readonly attempts: readonly StrategyAttempt[];
  readonly ladder: readonly RelayRungResult[];
  readonly winner: WinningPath;
  /** Present when portmap was requested. */
  readonly portmap?: PortmapReport;
}

/** Parses a `--strategy` list: names separated by commas; `all` expands; `ice` adds nothing. */
export function parseStrategyList(text: string): ExtraStrategy[] {
  const out = new Set<ExtraStrategy>();
  for (const raw of text.split(',')) {
    const name = raw.trim();
    if (name === '') continue;
    if (name === 'all') {
      for (const s of EXTRA_STRATEGIES) out.add(s);
    } else if (name === 'ice') {
      // plain ICE always runs
    } else if ((EXTRA_STRATEGIES as readonly string[]).includes(name)) {
      out.add(name as ExtraStrategy);
    } else {
      throw new StrategyNameError(name);
    }
  }
  return EXTRA_STRATEGIES.filter((s) => out.has(s));
}

export class StrategyNameError extends NatProbeError {
  constructor(name: string) {
    super('unknown-strategy', `Unknown strategy "${name}": use ice, predict, birthday, relay-ladder, portmap or all, separated by commas.`);
  }
}
