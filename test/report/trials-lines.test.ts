import { describe, expect, it } from 'vitest';
import type { PeerEvent } from '../../src/events.js';
import { formatPeerEventLine } from '../../src/report/trials-lines.js';

describe('plain lines for peer events', () => {
  it.each<[PeerEvent, string | undefined]>([
    [{ type: 'ice-candidate', at: 1, trial: 0, side: 'local', candidateType: 'srflx', address: '203.0.113.4:5000', priority: 1 }, 'candidate local  srflx 203.0.113.4:5000'],
    [
      { type: 'ice-pair', at: 1, trial: 0, pairId: 'p', local: '10.0.0.1:1', remote: '10.0.0.2:2', localType: 'host', remoteType: 'host', state: 'succeeded', attempts: 2, rttMs: 1.25, nominated: true },
      'pair      host/host 10.0.0.1:1 → 10.0.0.2:2  succeeded, nominated rtt 1.3 ms, 2 attempt(s)',
    ],
    [
      { type: 'ice-pair', at: 1, trial: 0, pairId: 'p', local: '10.0.0.1:1', remote: '10.0.0.2:2', localType: 'srflx', remoteType: 'srflx', state: 'failed', attempts: 7, failureReason: 'timeout' },
      'pair      srflx/srflx 10.0.0.1:1 → 10.0.0.2:2  failed, 7 attempt(s) (timeout)',
    ],
    [{ type: 'ice-pair', at: 1, trial: 0, pairId: 'p', local: 'a', remote: 'b', localType: 'host', remoteType: 'host', state: 'in-progress', attempts: 1 }, undefined],
    [{ type: 'ice-state', at: 1, trial: 0, state: 'checking' }, 'ice       checking'],
    [{ type: 'peer-phase', at: 0, trial: 0, phase: 'joined', room: 'lab', role: 'controlled' }, 'signaling joined room lab as controlled'],
    [{ type: 'peer-phase', at: 0, trial: 0, phase: 'signaling', room: 'lab' }, 'signaling connecting to the server'],
    [{ type: 'ice-role', at: 0, trial: 0, from: 'controlling', to: 'controlled', reason: 'role-conflict-response' }, 'role      controlling → controlled (role-conflict-response)'],
    [{ type: 'ice-check-sent', at: 0, trial: 0, pairId: 'p', attempt: 1, triggered: false, useCandidate: false, rtoMs: 100 }, undefined],
    [{ type: 'peer-done', at: 0, trial: 0, connected: true }, undefined],
  ])('%j', (event, line) => {
    expect(formatPeerEventLine(event)).toBe(line);
  });
});
