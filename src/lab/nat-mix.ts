/**
 * A realistic mix: the matrix's cells weighted by how often each NAT type occurs among real
 * peers, so a variant's per-cell success rates become one overall success rate. Pure.
 *
 * Two peers drawn independently from a population with type shares p meet as the unordered
 * pair {a, b} with probability p(a)·p(b)·(a ≠ b ? 2 : 1): (a, b) and (b, a) are one cell of the
 * matrix. Over all 36 cells of the eight types these weights sum to (Σ p)² = 1. A reduced matrix
 * covers only part of that weight: the overall rate is then renormalised over what was measured,
 * and `coverage` says how much of the population's pairs that is.
 */
import type { CellResult, MatrixConfig } from './matrix-types.js';
import { NAT_TYPES, type NatType } from './nat-types.js';

/** Shares of the lab's eight types in a population (they sum to 1), and where they come from. */
export interface NatTypeDistribution {
  readonly id: string;
  /** A short name for one-line output, e.g. "Halkes & Pouwelse 2011". */
  readonly label: string;
  /** Title, authors, venue, year. */
  readonly citation: string;
  /** How the study's categories were mapped onto the lab's types, one line. */
  readonly mapping: string;
  readonly shares: Readonly<Record<NatType, number>>;
}

/**
 * The claim of the system this project comes from: all strategies together raise overall
 * traversal success from 52.3 % to 73.8 % (+41 % relative, as claimed; 73.8 / 52.3 = 1.411),
 * printed beside our own figure.
 */
export const CLAIMED_UPLIFT = { from: 0.523, to: 0.738, relative: 0.41 } as const;

/**
 * Halkes & Pouwelse, "UDP NAT and Firewall Puncturing in the Wild", NETWORKING 2011 (10th IFIP
 * Networking Conference, Valencia), LNCS 6641, pp. 1–12, Springer, doi:10.1007/978-3-642-20798-3_1.
 * Tribler BitTorrent peers classified by RFC 4787 mapping and filtering, Fig. 3 "NAT/firewall
 * type market share" (fraction of peers; read off the bar chart, ±0.005):
 *
 *   EIM-EIF 0.21 · EIM-APDF 0.57 · EIM-ADF 0.07 · A(P)DM 0.105 · Blocked 0.045
 *
 * consistent with the abstract ("approximately 64% of all peers are behind a NAT box or firewall
 * which should allow hole punching to work": EIM-APDF + EIM-ADF) and with 79% of peers not
 * directly connectable (1 − EIM-EIF).
 *
 * Onto the lab's eight types: the study does not tell a public host from a NAT with the same
 * behaviour, nor sequential from random ports, so a category covering several lab types is split
 * evenly between them (hole-punching theory treats each pair alike, except the ports of A(P)DM):
 *   EIM-EIF  → none, full-cone                               0.105 each
 *   EIM-APDF → firewall (public, APDF), port-restricted       0.285 each
 *   EIM-ADF  → restricted                                     0.07
 *   A(P)DM   → addr-dependent, symmetric, symmetric-sequential 0.035 each
 *   Blocked (no UDP) is left out: no direct technique reaches it in any variant, so it would scale
 *   every variant's success by (1 − 0.045)² ≈ 0.912 alike and leave the relative uplift unchanged.
 * The shares below are these, renormalised over the 0.955 that remains.
 */
const HALKES_POUWELSE_2011_FIG3 = { eimEif: 0.21, eimApdf: 0.57, eimAdf: 0.07, apdm: 0.105, blocked: 0.045 } as const;

function halkesPouwelseShares(): Record<NatType, number> {
  const f = HALKES_POUWELSE_2011_FIG3;
  const kept = 1 - f.blocked;
  return {
    none: f.eimEif / 2 / kept,
    'full-cone': f.eimEif / 2 / kept,
    firewall: f.eimApdf / 2 / kept,
    'port-restricted': f.eimApdf / 2 / kept,
    restricted: f.eimAdf / kept,
    'addr-dependent': f.apdm / 3 / kept,
    symmetric: f.apdm / 3 / kept,
    'symmetric-sequential': f.apdm / 3 / kept,
  };
}

export const DEFAULT_DISTRIBUTION: NatTypeDistribution = {
  id: 'halkes-pouwelse-2011',
  label: 'Halkes & Pouwelse 2011 (Tribler peers)',
  citation:
    'G. Halkes and J. Pouwelse, "UDP NAT and Firewall Puncturing in the Wild", NETWORKING 2011, LNCS 6641, pp. 1–12, doi:10.1007/978-3-642-20798-3_1, Fig. 3: EIM-EIF 21%, EIM-APDF 57%, EIM-ADF 7%, A(P)DM 10.5%, blocked 4.5% of peers',
  mapping:
    'EIM-EIF split evenly over none and full-cone, EIM-APDF over firewall and port-restricted, EIM-ADF is restricted, A(P)DM split evenly over addr-dependent, symmetric and symmetric-sequential; blocked peers left out and the rest renormalised',
  shares: halkesPouwelseShares(),
};

/** The weight of the unordered cell {a, b}: p(a)·p(b), twice that when a ≠ b. */
export function pairWeight(a: NatType, b: NatType, shares: Readonly<Record<NatType, number>>): number {
  return shares[a] * shares[b] * (a === b ? 1 : 2);
}

/** One measured cell: its two types and each variant's success rate there (0..1). */
export interface MixCell {
  readonly a: NatType;
  readonly b: NatType;
  readonly rates: Readonly<Record<string, number>>;
}

export interface NatMixVariant {
  readonly name: string;
  /** Σ weight · rate / coverage over the cells that ran. */
  readonly success: number;
  /** Relative uplift over the ice variant, (success − ice) / ice; null without ice or when ice is 0. */
  readonly relativeUplift: number | null;
}

export interface NatMixResult {
  readonly distribution: { readonly id: string; readonly label: string; readonly citation: string; readonly mapping: string; readonly shares: Readonly<Record<NatType, number>> };
  /** The share of the population's pairs the measured cells cover (1 when all eight types ran). */
  readonly coverage: number;
  readonly variants: readonly NatMixVariant[];
  /** `all` over `ice` (both overall), when both variants ran. */
  readonly allOverIce: { readonly ice: number; readonly all: number; readonly relative: number | null } | null;
  readonly claimed: typeof CLAIMED_UPLIFT;
}

/**
 * Overall success per variant. Cells are unordered: give each pair of types once (a cell given
 * twice counts twice). Cells whose types have no share add nothing.
 */
export function natMix(cells: readonly MixCell[], variantNames: readonly string[], distribution: NatTypeDistribution = DEFAULT_DISTRIBUTION): NatMixResult {
  const coverage = cells.reduce((sum, cell) => sum + pairWeight(cell.a, cell.b, distribution.shares), 0);
  const success = (name: string): number => (coverage === 0 ? 0 : cells.reduce((sum, cell) => sum + pairWeight(cell.a, cell.b, distribution.shares) * (cell.rates[name] ?? 0), 0) / coverage);
  const ice = variantNames.includes('ice') ? success('ice') : undefined;
  const relative = (value: number): number | null => (ice === undefined || ice === 0 ? null : (value - ice) / ice);
  const variants = variantNames.map((name) => {
    const value = success(name);
    return { name, success: value, relativeUplift: name === 'ice' ? null : relative(value) };
  });
  const all = variants.find((v) => v.name === 'all');
  return {
    distribution: { id: distribution.id, label: distribution.label, citation: distribution.citation, mapping: distribution.mapping, shares: distribution.shares },
    coverage,
    variants,
    allOverIce: ice !== undefined && all !== undefined ? { ice, all: all.success, relative: relative(all.success) } : null,
    claimed: CLAIMED_UPLIFT,
  };
}

/**
 * The mix of a matrix run: each cell that ran (no error) with each variant's direct success
 * rate. Null with a CGN: its cells are ordered and composed types, which the distribution does
 * not describe.
 */
export function matrixMix(config: Pick<MatrixConfig, 'cgn' | 'variants'>, cells: readonly CellResult[], distribution: NatTypeDistribution = DEFAULT_DISTRIBUTION): NatMixResult | null {
  if (config.cgn !== undefined) return null;
  const measured = cells
    .filter((cell) => cell.error === undefined)
    .map((cell) => ({ a: cell.plan.a, b: cell.plan.b, rates: Object.fromEntries(cell.variants.map((v) => [v.variant.name, v.trials.successRate])) }));
  return natMix(measured, config.variants.map((v) => v.name), distribution);
}

/** Every type's share is a number in 0..1 and they sum to 1 (within rounding). */
export function validDistribution(distribution: NatTypeDistribution): boolean {
  const shares = NAT_TYPES.map((type) => distribution.shares[type]);
  return shares.every((share) => Number.isFinite(share) && share >= 0 && share <= 1) && Math.abs(shares.reduce((a, b) => a + b, 0) - 1) < 1e-9;
}
