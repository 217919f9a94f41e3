/**
 * Synthetic peer-session results and trial outcomes for the pure trials code and the reporters.
 * Shapes follow runPeerSession's PeerResult (src/peer/session.ts), narrowed to PeerSessionOutcome.
 */
import type { CandidateType } from '../../src/ice/candidate.js';
import type { PeerSessionOutcome, SessionCandidate, SessionPair, TrialOutcome } from '../../src/peer/trials-types.js';

export function cand(type: CandidateType, address: string, port: number): SessionCandidate {
  return { type, address, port };
}

export function pair(local: SessionCandidate, remote: SessionCandidate, state: string, extra: Partial<SessionPair> = {}): SessionPair {
  return { id: `${local.address}:${local.port}|${remote.address}:${remote.port}`, local, remote, state, attempts: 1, ...extra };
}

export function connectedSession(options: { type?: [CandidateType, CandidateType]; ttc?: number; role?: string } = {}): PeerSessionOutcome {
  const [lt, rt] = options.type ?? ['host', 'host'];
  const local = cand(lt, '127.0.0.1', 40000);
  const remote = cand(rt, '127.0.0.1', 40001);
  return {
    state: 'connected',
    selectedPair: { local, remote, rttMs: 0.4 },
    timeToConnectMs: options.ttc ?? 3,
    pairs: [pair(local, remote, 'Succeeded', { rttMs: 0.4 })],
    localCandidates: [local],
    remoteCandidates: [remote],
    role: options.role ?? 'controlling',
    peerId: 'p-a',
    signalingMs: 1,
    totalMs: 5,
  };
}

export function failedSession(pairs: SessionPair[]): PeerSessionOutcome {
  return {
    state: 'failed',
    timeToConnectMs: 0,
    pairs,
    localCandidates: [],
    remoteCandidates: [],
    role: 'controlled',
    peerId: 'p-b',
    signalingMs: 1,
    totalMs: 1000,
  };
}

export function outcome(trial: number, fields: Partial<TrialOutcome> = {}): TrialOutcome {
  return {
    trial,
    room: `r-${trial}`,
    connected: true,
    timeToConnectMs: 4,
    pairType: 'host/host',
    durationMs: 6,
    pairs: [],
    peers: [{ state: 'connected' }, { state: 'connected' }],
    ...fields,
  };
}
