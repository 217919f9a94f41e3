/**
 * `nat-probe lab matrix`: every pair of NAT types in its own lab, at most `concurrency` cells at
 * once. Each cell has its own lab id (so its own namespaces, addresses and servers), so cells
 * running side by side never see each other's traffic.
 *
 *   const result = await runMatrix({ types: ['none', 'symmetric'], runs: 3, onEvent: console.log });
 *   matrixExitCode(result); // 0 when measured matches theory everywhere and detect is right
 */
import type { LabMatrixEvent } from '../events.js';
import { assertLabPrerequisites } from './preflight.js';
import { runMatrixCell, type CellRunOptions } from './matrix-cell.js';
import { MATRIX_DEFAULTS, planMatrix } from './matrix-plan.js';
import type { CellResult, MatrixCellPlan, MatrixConfig, MatrixResult, MatrixVariant } from './matrix-types.js';
import { baselineVariant, ICE_VARIANT, onlyIce, variantsNeedGateway } from './matrix-variants.js';
import { matrixMix } from './nat-mix.js';
import { LabSpecError } from './errors.js';
import type { NatType, TranslatingNatType } from './nat-types.js';
import { DEFAULT_LAB_PREFIX, normalizeLabSpec, validatePrefix } from './spec.js';

export interface RunMatrixOptions {
  types: readonly NatType[];
  cgn?: TranslatingNatType;
  /** Trials per cell (direct, and again relay-only with `turn`). Default 3. */
  runs?: number;
  /** Start coturn in every cell and run relay-only trials too. Default false. */
  turn?: boolean;
  /** Loss at every client's access hop, percent. Default 0. */
  lossPercent?: number;
  /** One-way delay at every client's access hop, ms (LabSpec.delayMs). Default 0. */
  delayMs?: number;
  /** ± jitter on that delay, ms (LabSpec.jitterMs). Default 0. */
  jitterMs?: number;
  /** Cells at once. Default 3. */
  concurrency?: number;
  /** Namespace prefix of every cell's lab. Default `np-`. */
  prefix?: string;
  /**
   * `--strategy`: the variants each cell runs, every one for `runs` direct trials, side by side
   * (parseStrategyVariants). Default `[ice]`: plain ICE, as before variants.
   */
  variants?: readonly MatrixVariant[];
  /** Session bounds (see MATRIX_DEFAULTS). */
  successTimeoutMs?: number;
  failureTimeoutMs?: number;
  strategyTimeoutMs?: number;
  onEvent?: (event: LabMatrixEvent) => void;
  /** When aborted, no further cell starts; cells in flight stop their processes, end as "interrupted", and are removed. */
  signal?: AbortSignal;
  /** Check root and tools before anything (default true). */
  preflight?: boolean;
  /** Runs one cell. Default runMatrixCell; tests of the runner inject fakes. */
  runCell?: (plan: MatrixCellPlan, options: CellRunOptions) => Promise<CellResult>;
  /** Passed to each cell (the CLI entry, a server starter for tests). */
  cell?: Pick<CellRunOptions, 'cliPath' | 'startServers'>;
}

function positiveInteger(name: string, value: number, max: number): number {
  if (!Number.isInteger(value) || value < 1 || value > max) throw new LabSpecError(name, `${name} must be a whole number from 1 to ${max}, got ${value}.`);
  return value;
}

export async function runMatrix(options: RunMatrixOptions): Promise<MatrixResult> {
  const runs = positiveInteger('runs', options.runs ?? MATRIX_DEFAULTS.runs, 1000);
  const concurrency = positiveInteger('concurrency', options.concurrency ?? MATRIX_DEFAULTS.concurrency, 64);
  const lossPercent = options.lossPercent ?? 0;
  if (!Number.isInteger(lossPercent) || lossPercent < 0 || lossPercent > 100) throw new LabSpecError('lossPercent', `--loss must be a whole percentage from 0 to 100, got ${lossPercent}.`);
  const prefix = validatePrefix(options.prefix ?? DEFAULT_LAB_PREFIX);
  // The lab validates these again per cell; checking here makes a bad value fail before any cell starts.
  const { delayMs, jitterMs } = normalizeLabSpec({ a: 'none', delayMs: options.delayMs ?? 0, jitterMs: options.jitterMs ?? 0 });
  const turn = options.turn ?? false;
  const variants = options.variants ?? [ICE_VARIANT];
  if (variants.length === 0) throw new LabSpecError('strategy', '--strategy needs at least one variant: a comma-separated list of ice, predict, birthday, relay-ladder, portmap or all.');
  const plans = planMatrix({
    types: options.types,
    ...(options.cgn !== undefined ? { cgn: options.cgn } : {}),
    ...(options.successTimeoutMs !== undefined ? { successTimeoutMs: options.successTimeoutMs } : {}),
    ...(options.failureTimeoutMs !== undefined ? { failureTimeoutMs: options.failureTimeoutMs } : {}),
    ...(options.strategyTimeoutMs !== undefined ? { strategyTimeoutMs: options.strategyTimeoutMs } : {}),
  });
  if (options.preflight ?? true) await assertLabPrerequisites({ tools: [...(turn ? ['turnserver'] : []), ...(delayMs > 0 ? ['python3'] : []), ...(variantsNeedGateway(variants) ? ['miniupnpd'] : [])] });
  const config: MatrixConfig = { types: [...options.types], cgn: options.cgn, runs, turn, lossPercent, ...(delayMs > 0 ? { delayMs, jitterMs } : {}), concurrency, prefix, variants: [...variants], baseline: baselineVariant(variants).name };
  const startedAt = new Date();
  const t0 = performance.now();
  const at = (): number => performance.now() - t0;
  const emit = (event: LabMatrixEvent): void => {
    try {
      options.onEvent?.(event);
    } catch {
      // A broken listener must not leave labs behind.
    }
  };
  emit({
    type: 'lab-matrix-planned',
    at: at(),
    types: [...options.types],
    ...(options.cgn !== undefined ? { cgn: options.cgn } : {}),
    cells: plans.map((plan) => ({ cell: plan.index, id: plan.id, a: plan.a, b: plan.b, expectedDirect: plan.expectedDirect })),
    runs,
    turn,
    ...(onlyIce(variants) ? {} : { variants: variants.map((v) => v.name) }),
  });

  const runCell = options.runCell ?? runMatrixCell;
  const results: CellResult[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < plans.length && options.signal?.aborted !== true) {
      const plan = plans[next++]!;
      const result = await runCell(plan, {
        runs,
        turn,
        lossPercent,
        delayMs,
        jitterMs,
        prefix,
        variants,
        ...options.cell,
        ...(options.signal !== undefined ? { signal: options.signal } : {}),
        onPhase: (phase) => emit({ type: 'lab-matrix-cell-phase', at: at(), cell: plan.index, id: plan.id, phase }),
        onTrial: (kind, trial, variant) =>
          emit({
            type: 'lab-matrix-trial',
            at: at(),
            cell: plan.index,
            id: plan.id,
            kind,
            trial: trial.index,
            connected: trial.connected,
            ...(trial.timeToConnectMs !== undefined ? { timeToConnectMs: trial.timeToConnectMs } : {}),
            ...(trial.pairType !== undefined ? { pairType: trial.pairType } : {}),
            ...(trial.failureReason !== undefined ? { failureReason: trial.failureReason } : {}),
            ...(variant !== undefined && variant !== ICE_VARIANT.name ? { variant } : {}),
            ...(trial.traversal !== undefined ? { winner: trial.traversal.winner, technique: trial.traversal.plan.technique } : {}),
          }),
      });
      results.push(result);
      emit({
        type: 'lab-matrix-cell-done',
        at: at(),
        cell: plan.index,
        id: plan.id,
        expectedDirect: plan.expectedDirect,
        direct: { runs: result.direct.runs, succeeded: result.direct.succeeded },
        ...(result.relay !== undefined ? { relay: { runs: result.relay.runs, succeeded: result.relay.succeeded } } : {}),
        timeToConnectP50Ms: result.direct.timeToConnectP50Ms,
        ...(result.direct.pairTypes[0] !== undefined ? { pairType: result.direct.pairTypes[0].pairType } : {}),
        detectCorrect: { a: result.detect.a.correct, b: result.detect.b.correct },
        mismatch: result.mismatch,
        problems: [...result.problems],
        finished: results.length,
        planned: plans.length,
        ...(onlyIce(variants)
          ? {}
          : {
              variants: result.variants.map((v) => ({
                name: v.variant.name,
                runs: v.trials.runs,
                succeeded: v.trials.succeeded,
                upliftPoints: v.uplift?.points ?? null,
                technique: v.plan.technique,
              })),
            }),
        ...(result.relayOnly !== undefined ? { relayOnly: { reason: result.relayOnly.reason, ...(result.relayOnly.probability !== undefined ? { probability: result.relayOnly.probability } : {}) } } : {}),
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, plans.length) }, worker));
  results.sort((x, y) => x.plan.index - y.plan.index);
  // Interrupted even when every cell had started: those in flight were cut short.
  const aborted = options.signal?.aborted === true || results.length < plans.length;
  return { config, startedAt, durationMs: performance.now() - t0, cells: results, planned: plans.length, aborted, mix: matrixMix(config, results) };
}
