/**
 * The line protocol between the matrix runner and its peer workers (`nat-probe lab _peer`), one
 * JSON object per line on the worker's stdout:
 *
 *   {"type":"ready","startupMs":312.4}         modules loaded; waiting for "go" on stdin
 *   {"type":"session","kind":"direct","record":{…SessionRecord}}   after each session
 *   {"type":"done"}                             every session ran
 *
 * `startupMs` is the worker's own clock since its process started (performance.now()), so the
 * runner can tell node's start-up from the time the peers spend on their sessions. The runner
 * writes "go\n" to both workers' stdin once both are ready, so the two sides start together.
 */
import type { SessionRecord } from '../peer/repeat.js';

export type WorkerLine =
  | { readonly type: 'ready'; readonly startupMs: number }
  | { readonly type: 'session'; readonly kind: 'direct' | 'relay'; readonly record: SessionRecord }
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
  if (v.type === 'session' && (v.kind === 'direct' || v.kind === 'relay') && isRecord(v.record)) return { type: 'session', kind: v.kind, record: v.record };
  return undefined;
}

function isRecord(value: unknown): value is SessionRecord {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as Record<string, unknown>;
  return Number.isInteger(r.index) && typeof r.room === 'string' && typeof r.connected === 'boolean' && typeof r.totalMs === 'number';
}
