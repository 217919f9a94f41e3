/**
 * One side of a matrix cell's direct trials with `--strategy` variants: for trial i = 1…N, one
 * session per variant in `--strategy` order, in room `direct-i` (ice) or `direct-<variant>-i`.
 * Both sides' workers run the same order, so they meet in every room, and the variants of one
 * trial run back to back under the same conditions (no variant gets all the early or the late
 * trials). A variant's sessions ask for its strategies (`traversal.strategies`); ice asks for none.
 *
 * Each session becomes the peer engine's SessionRecord plus its traversal part (winner, plan,
 * probes and sockets over this side's attempts), when the session reported one.
 */
import { sessionRecord } from '../peer/repeat.js';
import { runPeerSession, type PeerResult, type PeerSessionOptions } from '../peer/session.js';
import type { MatrixSessionRecord, MatrixVariant } from './matrix-types.js';
import { variantRoomPrefix } from './matrix-variants.js';
import { sessionTraversal } from './matrix-worker-lines.js';

export interface VariantSessionsOptions {
  runs: number;
  variants: readonly MatrixVariant[];
  /** Everything a session takes but its room, trial, bound and traversal. */
  session: Omit<PeerSessionOptions, 'room' | 'trial' | 'timeoutMs' | 'traversal'>;
  /** Each plain-ICE session's bound. */
  timeoutMs: number;
  /** Each strategy variant's session bound (MatrixCellPlan.strategyTimeoutMs). */
  strategyTimeoutMs: number;
  onRecord?: (variant: MatrixVariant, record: MatrixSessionRecord) => void;
  /** When aborted, no further session starts. */
  signal?: AbortSignal;
  /** Default runPeerSession; tests inject fakes. */
  runSession?: (options: PeerSessionOptions) => Promise<PeerResult>;
}

export async function runVariantSessions(options: VariantSessionsOptions): Promise<{ variant: MatrixVariant; record: MatrixSessionRecord }[]> {
  const run = options.runSession ?? runPeerSession;
  const out: { variant: MatrixVariant; record: MatrixSessionRecord }[] = [];
  for (let index = 1; index <= options.runs; index++) {
    for (const variant of options.variants) {
      if (options.signal?.aborted === true) return out;
      const room = `${variantRoomPrefix(variant)}-${index}`;
      const strategic = variant.strategies.length > 0;
      const started = performance.now();
      let result: PeerResult | undefined;
      let settled: { ok: true; result: PeerResult } | { ok: false; error: unknown };
      try {
        result = await run({
          ...options.session,
          room,
          trial: index,
          timeoutMs: strategic ? options.strategyTimeoutMs : options.timeoutMs,
          ...(strategic ? { traversal: { strategies: [...variant.strategies] } } : {}),
        });
        settled = { ok: true, result };
      } catch (error) {
        settled = { ok: false, error };
      }
      const traversal = sessionTraversal(result?.traversal);
      const record: MatrixSessionRecord = { ...sessionRecord(index, room, settled, performance.now() - started), ...(traversal !== undefined ? { traversal } : {}) };
      out.push({ variant, record });
      options.onRecord?.(variant, record);
    }
  }
  return out;
}
