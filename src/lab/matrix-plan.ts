/**
 * Planning a matrix (pure): which cells to run, what theory expects in each, and each cell's
 * session time bound. Without a CGN the relation is symmetric (hole punching between A and B does
 * not depend on who is called A), so cells are unordered pairs, each type with itself included:
 * n(n+1)/2 cells, 36 for the eight types. A CGN sits in front of side A only, so with one the
 * pairs are ordered: n² cells.
 */
import { DETECT_CLASSIC_NAME, effectiveBehaviour, EXPECTED_BEHAVIOUR, expectDirectSuccess } from './expected.js';
import { LabSpecError } from './errors.js';
import { isNatType, isTranslating, NAT_TYPES, type NatType, type TranslatingNatType } from './nat-types.js';
import type { ExpectedVerdict, MatrixCellPlan } from './matrix-types.js';

export interface MatrixPlanOptions {
  types: readonly NatType[];
  cgn?: TranslatingNatType;
  /** Session bound where theory expects a direct connection. Default 8,000 ms. */
  successTimeoutMs?: number;
  /** Session bound where theory expects none. Default 3,500 ms. */
  failureTimeoutMs?: number;
  /** Session bound of strategy variants where theory expects plain ICE to fail. Default 12,000 ms. */
  strategyTimeoutMs?: number;
}

export const MATRIX_DEFAULTS = {
  runs: 3,
  concurrency: 3,
  /**
   * In the lab the RTT is well under 1 ms, so a pair that can work succeeds on its first or
   * second check (initial RTO 500 ms, RFC 8489 §6.2.1); nomination waits up to 1 s for a better
   * pair (RFC 8445 §8.1.1, src/ice/scheduler.ts). 8 s leaves room for a loaded machine.
   */
  successTimeoutMs: 8_000,
  /**
   * Where theory expects failure the checks can only time out, so the bound is the cost of the
   * cell. 3.5 s still gives the checks about 2.6 s (the session keeps ¼ for the result
   * exchange): four retransmissions of every pair, far more than a lab path that works needs,
   * so an unexpected success is still seen.
   */
  failureTimeoutMs: 3_500,
  /**
   * A strategy variant where plain ICE is expected to fail: the behaviour probe (≤ 1.5 s), the
   * exchange (≤ 2 s for the other side's), then the default birthday budget of 1024 probes at
   * 200/s (≈ 5.1 s) and its grace, before the checks end and the result is swapped. 12 s is what
   * the strategies bench gives the same sessions.
   */
  strategyTimeoutMs: 12_000,
} as const;

/** Parses `--types none,port-restricted,…` ("all" for every type), keeping the order given, without duplicates. */
export function parseTypeList(text: string): NatType[] {
  const names = text
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  if (names.length === 0) throw new LabSpecError('types', `--types needs at least one NAT type. Use a comma-separated list of: ${NAT_TYPES.join(', ')} (or "all").`);
  if (names.length === 1 && names[0] === 'all') return [...NAT_TYPES];
  const types: NatType[] = [];
  for (const name of names) {
    if (!isNatType(name)) throw new LabSpecError('types', `Unknown NAT type "${name}" in --types. Use a comma-separated list of: ${NAT_TYPES.join(', ')} (or "all").`);
    if (!types.includes(name)) types.push(name);
  }
  return types;
}

/** Validates `--cgn`: a CGN must translate (LabSpec rule). */
export function parseCgnType(text: string): TranslatingNatType {
  if (!isNatType(text)) throw new LabSpecError('cgn', `Unknown NAT type "${text}" for --cgn. Use one of: ${NAT_TYPES.filter(isTranslating).join(', ')}.`);
  if (!isTranslating(text)) throw new LabSpecError('cgn', `A carrier-grade NAT must translate; "${text}" does not. Use one of: ${NAT_TYPES.filter(isTranslating).join(', ')}.`);
  return text;
}

export function cellId(a: NatType, b: NatType, cgn: NatType | undefined): string {
  return `${cgn !== undefined ? `${a}@${cgn}` : a}~${b}`;
}

/** What detect must report for a client behind `type` (behind `cgn` when given). */
export function expectedVerdict(type: NatType, cgn?: NatType): ExpectedVerdict {
  const behaviour = cgn === undefined ? EXPECTED_BEHAVIOUR[type] : effectiveBehaviour(type, cgn);
  return { classicName: DETECT_CLASSIC_NAME[behaviour.classicName], mapping: behaviour.mapping, filtering: behaviour.filtering };
}

export function planMatrix(options: MatrixPlanOptions): MatrixCellPlan[] {
  const { types, cgn } = options;
  if (types.length === 0) throw new LabSpecError('types', 'A matrix needs at least one NAT type.');
  if (cgn !== undefined && !isTranslating(cgn)) throw new LabSpecError('cgn', `A carrier-grade NAT must translate; "${cgn as string}" does not.`);
  const successTimeoutMs = options.successTimeoutMs ?? MATRIX_DEFAULTS.successTimeoutMs;
  const failureTimeoutMs = options.failureTimeoutMs ?? MATRIX_DEFAULTS.failureTimeoutMs;
  const strategyTimeoutMs = options.strategyTimeoutMs ?? MATRIX_DEFAULTS.strategyTimeoutMs;
  const pairs: [NatType, NatType][] = [];
  for (let i = 0; i < types.length; i++) {
    for (let j = cgn === undefined ? i : 0; j < types.length; j++) pairs.push([types[i]!, types[j]!]);
  }
  return pairs.map(([a, b], index) => {
    const expectedDirect = expectDirectSuccess(a, b, cgn);
    return {
      index,
      id: cellId(a, b, cgn),
      a,
      b,
      cgn,
      expectedDirect,
      expectedDetect: { a: expectedVerdict(a, cgn), b: expectedVerdict(b) },
      sessionTimeoutMs: expectedDirect ? successTimeoutMs : failureTimeoutMs,
      relayTimeoutMs: successTimeoutMs,
      strategyTimeoutMs: expectedDirect ? successTimeoutMs : strategyTimeoutMs,
    };
  });
}
