/**
 * The decision table: from both peers' NAT behaviour, which technique (if any) can open a direct
 * path that plain ICE cannot, and which side does what. Pure, and symmetric by construction:
 * each peer calls it with (itself, the other) and both arrive at the same technique with mirrored
 * duties, so no extra round trip is needed to agree.
 *
 * Vocabulary (RFC 4787 §4.1): a side is *easy* when its mapping is endpoint-independent (EIM: the
 * same external port towards every destination, so the other side can aim at it), and *hard*
 * otherwise (the external port depends on the destination and is unknown to the other side).
 *
 *   plain ICE expected to connect (hole-punching theory)         → ice
 *   a side's gateway mapped its ICE port, on the outer NAT       → portmap  (the mapped side advertises it)
 *   easy ↔ hard, hard allocates ports in sequence                → predict  (easy probes the window)
 *   easy ↔ hard, hard allocates randomly (or by hash)            → birthday (hard opens k sockets, easy probes)
 *   hard ↔ hard, both sequential                                 → predict  (both sweep the diagonal)
 *   hard ↔ hard otherwise                                        → relay-only (with the probability)
 */
import { directConnectionExpected } from '../nat/compatibility.js';
import {
  TRAVERSAL_DEFAULTS,
  type PortmapOffer,
  type ExtraStrategy,
  type NatBehaviour,
  type PlanDuty,
  type PlanTechnique,
  type TraversalPlan,
} from './types.js';

/** The budget each side brings to the plan (what its own options allow), sent with its behaviour. */
export interface PlanBudget {
  readonly birthdaySockets: number;
  readonly birthdayBudget: number;
  readonly allowRandomPair: boolean;
  /** The rate this side probes at, so the other side knows how long to keep its mappings open. */
  readonly probeRatePerSecond?: number;
}

export interface PlanSide {
  readonly behaviour: NatBehaviour;
  readonly budget: PlanBudget;
}

/**
 * P(at least one of n random probes hits one of k open mappings in a pool of N ports) =
 * 1 − (1 − k/N)^n: the birthday-probing estimate (each probe independent, uniform over the pool).
 */
export function birthdayProbability(sockets: number, probes: number, pool: number = TRAVERSAL_DEFAULTS.randomPortPool): number {
  if (sockets <= 0 || probes <= 0) return 0;
  if (sockets >= pool) return 1;
  return 1 - Math.pow(1 - sockets / pool, probes);
}

/**
 * Both sides random: a probe lands only if its own new mapping and its target both match the other
 * side's, so P ≈ 1 − exp(−a·b / N²) for a sockets against b probes.
 */
export function randomPairProbability(sockets: number, probes: number, pool: number = TRAVERSAL_DEFAULTS.randomPortPool): number {
  if (sockets <= 0 || probes <= 0) return 0;
  return 1 - Math.exp(-(sockets * probes) / (pool * pool));
}

const isEasy = (b: NatBehaviour): boolean => b.mapping === 'endpoint-independent';
const isSequential = (b: NatBehaviour): boolean => b.allocation === 'sequential' && b.delta !== undefined && b.delta !== 0;

function describe(b: NatBehaviour): string {
  const mapping =
    b.mapping === 'endpoint-independent'
      ? 'endpoint-independent mapping'
      : b.mapping === 'address-dependent'
        ? 'address-dependent mapping'
        : b.mapping === 'unknown'
          ? 'unknown mapping'
          : 'destination-dependent mapping';
  const allocation = b.allocation === 'sequential' ? `, sequential ports (δ ${b.delta})` : b.allocation === 'random' ? ', random ports' : '';
  return `${mapping}${allocation}`;
}

function plan(technique: PlanTechnique, localDuty: PlanDuty, remoteDuty: PlanDuty, reason: string, probability?: number): TraversalPlan {
  return { technique, localDuty, remoteDuty, reason, ...(probability !== undefined ? { probability } : {}) };
}

/**
 * Whether a side's gateway mapping opens that side: granted, and stating the address the STUN
 * server sees, i.e. the gateway is the outer NAT. A mapped port accepts from every remote
 * (RFC 6886 §3.3: the mapping is endpoint-independent and unfiltered), so the other side's checks
 * get in whatever its own NAT does, and the answers go back through the other side's own mapping.
 * Behind a second NAT the mapping exists only on the inner one, which the other peer cannot reach.
 */
export function portmapUsable(b: NatBehaviour): { usable: true; at: string } | { usable: false; why: string } {
  const offer: PortmapOffer | undefined = b.portmap;
  if (offer === undefined) return { usable: false, why: 'no mapping was asked for' };
  if (!offer.mapped) return { usable: false, why: offer.reason };
  if (b.publicAddress === undefined) return { usable: false, why: `the gateway mapped ${offer.address}:${offer.port}, but the STUN server's view of this side is unknown, so it cannot be told whether the gateway is the outer NAT` };
  if (offer.address !== b.publicAddress) {
    return {
      usable: false,
      why: `double NAT: the gateway states ${offer.address} while the STUN server sees ${b.publicAddress}; a mapping on the inner NAT does not help`,
    };
  }
  return { usable: true, at: `${offer.address}:${offer.port}` };
}

/** Both sides must offer a strategy for it to run. */
function agreed(local: NatBehaviour, remote: NatBehaviour, strategy: ExtraStrategy): boolean {
  return local.strategies.includes(strategy) && remote.strategies.includes(strategy);
}

/** The plan from `local`'s point of view; `remote` undefined means the other peer sent no behaviour. */
export function decideTraversal(local: PlanSide | undefined, remote: PlanSide | undefined): TraversalPlan {
  if (local === undefined) return plan('unknown', 'none', 'none', 'this side measured no NAT behaviour (no STUN server, or the probe failed): plain ICE only');
  if (remote === undefined) return plan('unknown', 'none', 'none', 'the other peer sent no NAT behaviour (an older nat-probe, or no strategies asked for): plain ICE only');
  const l = local.behaviour;
  const r = remote.behaviour;
  if (l.mapping === 'unknown' || r.mapping === 'unknown') {
    return plan('unknown', 'none', 'none', `a mapping behaviour is unknown (this side: ${describe(l)}; other: ${describe(r)}): plain ICE only`);
  }
  if (directConnectionExpected(l, r)) {
    return plan('ice', 'none', 'none', `plain ICE connects: this side has ${describe(l)}, the other ${describe(r)}`);
  }
  // A usable mapping on either side opens that side to every sender: cheaper and surer than any
  // probing, so it comes first. Without one, its reasons are kept for the plan that follows.
  let portmapNote = '';
  if (agreed(l, r, 'portmap')) {
    const lm = portmapUsable(l);
    const rm = portmapUsable(r);
    if (lm.usable || rm.usable) {
      const where = lm.usable && rm.usable ? `both gateways mapped the ICE port (this side ${lm.at}, the other ${rm.at})` : lm.usable ? `this side's gateway mapped its ICE port to ${lm.at}` : `the other side's gateway mapped its ICE port to ${(rm as { at: string }).at}`;
      return plan(
        'portmap',
        lm.usable ? 'opener' : 'none',
        rm.usable ? 'opener' : 'none',
        `${where} (NAT-PMP, outer NAT): checks to the mapped address get in whatever the other NAT does (this side has ${describe(l)}, the other ${describe(r)})`,
      );
    }
    portmapNote = `; portmap does not help: this side: ${(lm as { why: string }).why}; the other: ${(rm as { why: string }).why}`;
  }
  return withNote(decideHard(local, remote, l, r), portmapNote);
}

function withNote(p: TraversalPlan, note: string): TraversalPlan {
  return note === '' ? p : { ...p, reason: `${p.reason}${note}` };
}

/** Neither plain ICE nor a port mapping connects: prediction, birthday probing, or nothing. */
function decideHard(local: PlanSide, remote: PlanSide, l: NatBehaviour, r: NatBehaviour): TraversalPlan {
  const localEasy = isEasy(l);
  const remoteEasy = isEasy(r);
  if (localEasy !== remoteEasy) {
    const hard = localEasy ? remote : local;
    const easy = localEasy ? local : remote;
    const hardSide = localEasy ? 'the other side' : 'this side';
    const [easyDuty, hardDuty]: [PlanDuty, PlanDuty] = ['prober', 'opener'];
    const duties = (technique: PlanTechnique, reason: string, probability?: number): TraversalPlan =>
      localEasy ? plan(technique, easyDuty, hardDuty, reason, probability) : plan(technique, hardDuty, easyDuty, reason, probability);
    if (isSequential(hard.behaviour)) {
      if (!agreed(l, r, 'predict')) return plan('ice', 'none', 'none', `${hardSide} allocates ports in sequence, so predict would apply, but both peers must ask for it`);
      return duties('predict', `${hardSide} is hard (${describe(hard.behaviour)}) and the other easy: the easy side probes the next ports of the hard side`);
    }
    if (!agreed(l, r, 'birthday')) return plan('ice', 'none', 'none', `${hardSide} is hard (${describe(hard.behaviour)}), so birthday probing would apply, but both peers must ask for it`);
    const sockets = hard.budget.birthdaySockets;
    const probes = easy.budget.birthdayBudget;
    const probability = birthdayProbability(sockets, probes);
    return duties(
      'birthday',
      `${hardSide} is hard (${describe(hard.behaviour)}) and the other easy: ${sockets} sockets against ${probes} random probes make the birthday search`,
      probability,
    );
  }
  // Both hard (two easy sides always connect, see directConnectionExpected).
  if (isSequential(l) && isSequential(r)) {
    if (!agreed(l, r, 'predict')) return plan('ice', 'none', 'none', 'both sides allocate ports in sequence, so predict would apply, but both peers must ask for it');
    return plan('predict', 'both', 'both', `both sides are hard but sequential (this side δ ${l.delta}, the other δ ${r.delta}): each probes the other's next ports`);
  }
  if (isSequential(l) || isSequential(r)) {
    return plan(
      'relay-only',
      'none',
      'none',
      `a sequential side against a ${describe(isSequential(l) ? r : l)}: the sequential side's ports can be predicted, but the other side's port towards it cannot, so no probe can aim at it`,
    );
  }
  const sockets = Math.min(local.budget.birthdaySockets, remote.budget.birthdaySockets);
  const probes = Math.min(local.budget.birthdayBudget, remote.budget.birthdayBudget);
  const probability = randomPairProbability(sockets, probes);
  const bothAllow = local.budget.allowRandomPair && remote.budget.allowRandomPair && agreed(l, r, 'birthday');
  if (bothAllow) {
    return plan('birthday', 'both', 'both', `both sides are hard (${describe(l)} / ${describe(r)}): attempted at the user's request despite the low probability`, probability);
  }
  return plan(
    'relay-only',
    'none',
    'none',
    `both sides are hard (this side ${describe(l)}, the other ${describe(r)}): ${sockets} sockets × ${probes} probes would almost never meet, so only a relay reaches this pair`,
    probability,
  );
}

