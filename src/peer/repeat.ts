/**
 * One side of many pairings: N peer sessions in a row, in rooms `<prefix>-1 … <prefix>-N`, each
 * reduced to a small record. Two processes running this with the same prefix (one per side, e.g.
 * one in each lab client namespace) meet in room i for their i-th session. It is what the lab
 * matrix's long-lived worker runs, so a cell pays node's start-up once per side, not per trial.
 *
 * Sessions run one after the other: each side's i-th session ends within its time bound, so the
 * two sides stay in step whatever happens in a room (a failed session costs at most the bound).
 */
import { runPeerSession, type PeerResult, type PeerSessionOptions } from './session.js';
import { sessionFailureReason } from './trials-outcome.js';

/** One side's view of one session. */
export interface SessionRecord {
  /** 1-based; the room is `${prefix}-${index}`. */
  readonly index: number;
  readonly room: string;
  readonly connected: boolean;
  readonly timeToConnectMs?: number;
  /** "local/remote" candidate types of the selected pair, from this side. */
  readonly pairType?: string;
  /** The trials vocabulary (src/peer/trials-outcome.ts): `timeout`, `no-candidate-pairs`, an error code, … */
  readonly failureReason?: string;
  readonly role?: string;
  readonly signalingMs?: number;
  /** The session's own wall time, from the call to its end. */
  readonly totalMs: number;
}

export interface RepeatOptions {
  runs: number;
  roomPrefix: string;
  /** Everything a session takes but the room (and the trial number, which is the index). */
  session: Omit<PeerSessionOptions, 'room' | 'trial'>;
  onRecord?: (record: SessionRecord) => void;
  /** When aborted, no further session starts. */
  signal?: AbortSignal;
  /** Default runPeerSession; tests inject fakes. */
  runSession?: (options: PeerSessionOptions) => Promise<PeerResult>;
}

type SettledPeerSession = { readonly ok: true; readonly result: PeerResult } | { readonly ok: false; readonly error: unknown };

export function sessionRecord(index: number, room: string, settled: SettledPeerSession, totalMs: number): SessionRecord {
  if (!settled.ok) {
    return { index, room, connected: false, failureReason: sessionFailureReason(settled) ?? 'session-error', totalMs };
  }
  const { result } = settled;
  const connected = result.state === 'connected';
  const selected = result.selectedPair;
  return {
    index,
    room,
    connected,
    ...(connected ? { timeToConnectMs: result.timeToConnectMs } : {}),
    ...(connected && selected !== undefined ? { pairType: `${selected.local.type}/${selected.remote.type}` } : {}),
    ...(!connected ? { failureReason: sessionFailureReason(settled) ?? 'not-connected' } : {}),
    role: result.role,
    signalingMs: result.signalingMs,
    totalMs,
  };
}

export async function runRepeatedSessions(options: RepeatOptions): Promise<SessionRecord[]> {
  const run = options.runSession ?? runPeerSession;
  const records: SessionRecord[] = [];
  for (let index = 1; index <= options.runs && options.signal?.aborted !== true; index++) {
    const room = `${options.roomPrefix}-${index}`;
    const started = performance.now();
    let settled: SettledPeerSession;
    try {
      settled = { ok: true, result: await run({ ...options.session, room, trial: index }) };
    } catch (error) {
      settled = { ok: false, error };
    }
    const record = sessionRecord(index, room, settled, performance.now() - started);
    records.push(record);
    options.onRecord?.(record);
  }
  return records;
}
