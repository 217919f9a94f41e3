/**
 * Candidate pairs (RFC 8445 §6.1.2): priority, formation, pruning, ordering. Pure.
 *
 * Pair priority reaches 2^32·(2^31−1) + … ≈ 2^63, far above Number.MAX_SAFE_INTEGER (2^53), so it
 * is a BigInt. Two pairs whose priorities differ only in the low bits would compare equal as
 * Numbers, and the checklist order would then depend on insertion order instead of the RFC.
 */
import { baseOf, formatTransportAddress, sameTransportAddress, type Candidate, type TransportAddress } from './candidate.js';

/** RFC 8445 §6.1.1: the controlling agent nominates; pair priority depends on the role. */
export type IceRole = 'controlling' | 'controlled';

export interface CandidatePair {
  /** Stable, readable id: `<local base>-><remote>` plus `#c<component>` for components other than 1. */
  readonly id: string;
  /** The local candidate; a local server-reflexive candidate has already been replaced by its base (§6.1.2.4). */
  readonly local: Candidate;
  readonly remote: Candidate;
  /** Where checks for this pair are sent from (the base of `local`, §5.1.1.1). */
  readonly localBase: TransportAddress;
  /** The pair foundation: local and remote foundations combined (§6.1.2.6). */
  readonly foundation: string;
  readonly component: number;
  /** §6.1.2.3, for the role the pair was formed (or last re-prioritised) under. */
  readonly priority: bigint;
}

const TWO_POW_32 = 1n << 32n;

/**
 * RFC 8445 §6.1.2.3: pair priority = 2^32·MIN(G,D) + 2·MAX(G,D) + (G>D ? 1 : 0), where G is the
 * controlling agent's candidate priority and D the controlled agent's.
 */
export function computePairPriority(controllingPriority: number, controlledPriority: number): bigint {
  return pairPriorityOfBigInts(BigInt(controllingPriority), BigInt(controlledPriority));
}

function pairPriorityOfBigInts(g: bigint, d: bigint): bigint {
  return g < d ? TWO_POW_32 * g + 2n * d : TWO_POW_32 * d + 2n * g + (g > d ? 1n : 0n);
}

/** The pair priority as seen by an agent in `role`: its own candidate is G when controlling. */
export function pairPriorityFor(local: Candidate, remote: Candidate, role: IceRole): bigint {
  return role === 'controlling'
    ? computePairPriority(local.priority, remote.priority)
    : computePairPriority(remote.priority, local.priority);
}

/** Checklist order (§6.1.2.5): higher priority first; ties by lower component (§6.1.4.2), then id for determinism. */
export function comparePairs(a: CandidatePair, b: CandidatePair): number {
  if (a.priority !== b.priority) return a.priority > b.priority ? -1 : 1;
  if (a.component !== b.component) return a.component - b.component;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export function pairIdOf(localBase: TransportAddress, remote: TransportAddress, component: number): string {
  const suffix = component === 1 ? '' : `#c${component}`;
  return `${formatTransportAddress(localBase)}->${formatTransportAddress(remote)}${suffix}`;
}

/** Builds one pair; exported for the checklist, which adds pairs as candidates are learned. */
export function makePair(local: Candidate, remote: Candidate, role: IceRole, localBase: TransportAddress = baseOf(local)): CandidatePair {
  return {
    id: pairIdOf(localBase, remote, local.component),
    local,
    remote,
    localBase,
    foundation: `${local.foundation}:${remote.foundation}`,
    component: local.component,
    priority: pairPriorityFor(local, remote, role),
  };
}

/** The same pair, re-prioritised after a role change (§7.2.5.1, §7.3.1.1). */
export function withRole(pair: CandidatePair, role: IceRole): CandidatePair {
  return { ...pair, priority: pairPriorityFor(pair.local, pair.remote, role) };
}

/** fe80::/10. Link-local IPv6 candidates only make sense paired with link-local ones. */
function isIpv6LinkLocal(candidate: Candidate): boolean {
  return candidate.family === 6 && /^fe[89ab]/i.test(candidate.address);
}

/**
 * Pair formation (§6.1.2.2): every local candidate with every remote candidate of the same
 * component and IP address family (an IPv6 link-local candidate only with another link-local one).
 * Local server-reflexive candidates are replaced by their base (§6.1.2.4): checks are always sent
 * from the base, so an srflx pair would repeat the host pair. When the base is not among `locals`,
 * the srflx candidate stays, still sending from its base. Local peer-reflexive candidates are not
 * paired (they are learned from checks, §7.2.5.3.1). The result is unsorted and unpruned.
 */
export interface FormPairsOptions {
  /**
   * Drop redundant pairs while forming them (§6.1.2.4), keeping the higher-priority one; the same
   * result as prunePairs, cheaper because it keys on per-candidate strings. Default false.
   */
  readonly prune?: boolean;
}

export function formPairs(
  locals: readonly Candidate[],
  remotes: readonly Candidate[],
  role: IceRole,
  options: FormPairsOptions = {},
): CandidatePair[] {
  const prune = options.prune ?? false;
  /** local base key → remote key → index in `pairs`, for pruning. */
  const seen = new Map<string, Map<string, number>>();
  // Per-candidate work (address formatting, BigInt conversion) is hoisted out of the n×m loop:
  // a 100×100 survey forms 10,000 pairs and this loop is most of its cost.
  const remoteKeys = remotes.map((remote) => formatTransportAddress(remote));
  const remotePriorities = remotes.map((remote) => BigInt(remote.priority));
  const remoteLinkLocal = remotes.map(isIpv6LinkLocal);
  const pairs: CandidatePair[] = [];
  for (const original of locals) {
    if (original.type === 'prflx') continue;
    const local = original.type === 'srflx' ? (findBaseCandidate(original, locals) ?? original) : original;
    const localBase = baseOf(local);
    const localLinkLocal = isIpv6LinkLocal(local);
    const idPrefix = `${formatTransportAddress(localBase)}->`;
    const idSuffix = local.component === 1 ? '' : `#c${local.component}`;
    // Pairs of one foundation share one foundation string (the checklist keys its groups on it).
    const foundations = new Map<string, string>();
    const localPriority = BigInt(local.priority);
    let seenForBase: Map<string, number> | undefined;
    if (prune) {
      seenForBase = seen.get(idPrefix + idSuffix);
      if (seenForBase === undefined) {
        seenForBase = new Map();
        seen.set(idPrefix + idSuffix, seenForBase);
      }
    }
    for (let j = 0; j < remotes.length; j++) {
      const remote = remotes[j]!;
      if (remote.component !== local.component || remote.family !== local.family) continue;
      if (remoteLinkLocal[j] !== localLinkLocal) continue;
      const remotePriority = remotePriorities[j]!;
      const pair: CandidatePair = {
        id: idPrefix + remoteKeys[j]! + idSuffix,
        local,
        remote,
        localBase,
        foundation: pairFoundation(foundations, local.foundation, remote.foundation),
        component: local.component,
        priority:
          role === 'controlling'
            ? pairPriorityOfBigInts(localPriority, remotePriority)
            : pairPriorityOfBigInts(remotePriority, localPriority),
      };
      if (seenForBase !== undefined) {
        const earlier = seenForBase.get(remoteKeys[j]!);
        if (earlier !== undefined) {
          if (comparePairs(pair, pairs[earlier]!) < 0) pairs[earlier] = pair;
          continue;
        }
        seenForBase.set(remoteKeys[j]!, pairs.length);
      }
      pairs.push(pair);
    }
  }
  return pairs;
}

function pairFoundation(cache: Map<string, string>, localFoundation: string, remoteFoundation: string): string {
  let foundation = cache.get(remoteFoundation);
  if (foundation === undefined) {
    foundation = `${localFoundation}:${remoteFoundation}`;
    cache.set(remoteFoundation, foundation);
  }
  return foundation;
}

function findBaseCandidate(reflexive: Candidate, locals: readonly Candidate[]): Candidate | undefined {
  const base = baseOf(reflexive);
  return locals.find((c) => c.type === 'host' && c.component === reflexive.component && sameTransportAddress(c, base));
}

/** Orders pairs by decreasing priority (§6.1.2.5), in place, and returns the array. */
export function sortPairs(pairs: CandidatePair[]): CandidatePair[] {
  return pairs.sort(comparePairs);
}

/**
 * Removes redundant pairs (§6.1.2.4): two pairs are redundant when their local candidates have the
 * same base and their remote candidates are identical (same transport address and component).
 * The higher-priority pair is kept. Order of the survivors is preserved.
 */
export function prunePairs(pairs: readonly CandidatePair[]): CandidatePair[] {
  const best = new Map<string, CandidatePair>();
  let redundant = false;
  for (const pair of pairs) {
    const kept = best.get(pair.id);
    if (kept === undefined) {
      best.set(pair.id, pair);
    } else {
      redundant = true;
      if (comparePairs(pair, kept) < 0) best.set(pair.id, pair);
    }
  }
  return redundant ? pairs.filter((pair) => best.get(pair.id) === pair) : [...pairs];
}

export interface ChecklistPairsOptions {
  /**
   * RFC 8445 §6.1.2.5 limit on the number of pairs; the lowest-priority pairs beyond it are
   * dropped. Default 100, the RFC's default; a survey of a large host may raise it.
   */
  readonly maxPairs?: number;
}

/** DEFAULT for ChecklistPairsOptions.maxPairs (RFC 8445 §6.1.2.5). */
export const DEFAULT_MAX_PAIRS = 100;

/** Formation, ordering, pruning and the pair limit, in the order §6.1.2 gives them. */
export function buildPairs(
  locals: readonly Candidate[],
  remotes: readonly Candidate[],
  role: IceRole,
  options: ChecklistPairsOptions = {},
): CandidatePair[] {
  const maxPairs = options.maxPairs ?? DEFAULT_MAX_PAIRS;
  const pruned = sortPairs(formPairs(locals, remotes, role, { prune: true }));
  return pruned.length > maxPairs ? pruned.slice(0, maxPairs) : pruned;
}
