/**
 * The line protocol between the matrix runner and its peer workers (`nat-probe lab _peer`), one
 * JSON object per line on the worker's stdout:
 *
 *   {"type":"ready","startupMs":312.4}         modules loaded; waiting for "go" on stdin
 *   {"type":"session","kind":"direct","record":{…SessionRecord}}   after each session
 *   {"type":"session","kind":"direct","variant":"all","record":{…, "traversal":{…}}}
 *                                               a `--strategy` variant's session (no variant: ice)
 *   {"type":"done"}                             every session ran
 *
 * `startupMs` is the worker's own clock since its process started (performance.now()), so the
 * runner can tell node's start-up from the time the peers spend on their sessions. The runner
 * writes "go\n" to both workers' stdin once both are ready, so the two sides start together.
 */
import type { TraversalReport } from '../traversal/types.js';
import type { MatrixSessionRecord, SessionTraversal } from './matrix-types.js';

export type WorkerLine =
  | { readonly type: 'ready'; readonly startupMs: number }
  | { readonly type: 'session'; readonly kind: 'direct' | 'relay'; readonly variant?: string; readonly record: MatrixSessionRecord }
  | { readonly type: 'done' };

export const WORKER_GO = 'go';

/** Parses one stdout line of a worker; undefined for anything that is not a protocol line. */
export function parseWorkerLine(line: string): WorkerLine | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (v.type === 'ready' && typeof v.startupMs === 'number') return { type: 'ready', startupMs: v.startupMs };
  if (v.type === 'done') return { type: 'done' };
  if (v.type === 'session' && (v.kind === 'direct' || v.kind === 'relay') && isRecord(v.record) && (v.variant === undefined || typeof v.variant === 'string')) {
    return { type: 'session', kind: v.kind, ...(typeof v.variant === 'string' ? { variant: v.variant } : {}), record: v.record };
  }
  return undefined;
}

function isRecord(value: unknown): value is MatrixSessionRecord {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as Record<string, unknown>;
  return Number.isInteger(r.index) && typeof r.room === 'string' && typeof r.connected === 'boolean' && typeof r.totalMs === 'number' && (r.traversal === undefined || isTraversal(r.traversal));
}

function isTraversal(value: unknown): value is SessionTraversal {
  if (typeof value !== 'object' || value === null) return false;
  const t = value as Record<string, unknown>;
  const plan = t.plan as Record<string, unknown> | null | undefined;
  return (
    typeof t.winner === 'string' &&
    typeof t.probesSent === 'number' &&
    typeof t.socketsOpened === 'number' &&
    typeof plan === 'object' &&
    plan !== null &&
    typeof plan.technique === 'string' &&
    typeof plan.reason === 'string' &&
    (plan.probability === undefined || typeof plan.probability === 'number')
  );
}

/**
 * The traversal part of a worker's record, from the session's report: side totals of probes
 * and sockets over its attempts, its winner and plan. Undefined when the session returned no
 * report (the runner then counts plan "unknown", 0 probes, 0 sockets; see combineTraversal).
 */
export function sessionTraversal(report: Pick<TraversalReport, 'winner' | 'plan' | 'attempts' | 'portmap'> | undefined): SessionTraversal | undefined {
  if (report === undefined) return undefined;
  return {
    winner: report.winner,
    probesSent: report.attempts.reduce((sum, a) => sum + a.probesSent, 0),
    socketsOpened: report.attempts.reduce((sum, a) => sum + a.socketsOpened, 0),
    plan: { technique: report.plan.technique, reason: report.plan.reason, ...(report.plan.probability !== undefined ? { probability: report.plan.probability } : {}) },
    ...(report.portmap !== undefined ? { portmap: report.portmap } : {}),
  };
}
