/** How a TURN allocation shows in `peer`'s plain lines and table (the same peer-relay facts as --json). */
import { describe, expect, it } from 'vitest';
import { buildPeerReport as buildReport } from '../../src/report/peer-report.js';
import { describePeerSession } from '../../src/peer/session-view.js';
import { renderPeerTable } from '../../src/report/peer-table.js';
import { formatPeerEventLine } from '../../src/report/trials-lines.js';

/** The report as `nat-probe peer` builds it: from the session and the engine's view of it. */
const buildPeerReport = (session: Parameters<typeof buildReport>[0], meta: Parameters<typeof buildReport>[2]) => buildReport(session, describePeerSession(session), meta);

describe('TURN in plain output', () => {
  it('prints an allocation and a failure as one line each', () => {
    expect(
      formatPeerEventLine({ type: 'peer-relay', at: 1, trial: 0, server: 'turn:203.0.113.1:3478?transport=udp', source: 'options', state: 'allocated', relayed: '203.0.113.1:50000', allocateMs: 2.04 }),
    ).toBe('turn      turn:203.0.113.1:3478?transport=udp relayed 203.0.113.1:50000 in 2.0 ms');
    expect(
      formatPeerEventLine({ type: 'peer-relay', at: 1, trial: 0, server: 'turn:h:3478?transport=tcp', source: 'signaling', state: 'failed', errorCode: 'turn-auth-failed', message: 'Wrong credentials.' }),
    ).toBe('turn      turn:h:3478?transport=tcp FAILED turn-auth-failed: Wrong credentials. Going on with direct candidates.');
  });

  it('lists each allocation in the report and its table', () => {
    const report = buildPeerReport(
      {
        state: 'failed',
        timeToConnectMs: 0,
        pairs: [],
        localCandidates: [],
        remoteCandidates: [],
        role: 'controlling',
        peerId: 'p-1',
        signalingMs: 1,
        totalMs: 2,
        room: 'r',
        relays: [
          { server: 'turn:a:3478?transport=udp', transport: 'udp', source: 'options', relayed: '203.0.113.1:5', mapped: '198.51.100.2:6', allocateMs: 3.14159 },
          { server: 'turn:b:3478?transport=udp', transport: 'udp', source: 'options', error: { code: 'turn-unreachable', message: 'no answer' } },
        ],
      },
      { version: 'test', startedAt: new Date(0), durationMs: 1, mode: 'connect' },
    );
    expect(report.relays[0]).toMatchObject({ relayed: '203.0.113.1:5', allocateMs: 3.1 });
    expect(report.failureReason).toBe('turn-unreachable'); // no pairs: the failed allocation is the cause
    const table = renderPeerTable(report);
    expect(table).toContain('turn:a:3478?transport=udp: relayed 203.0.113.1:5');
    expect(table).toContain('turn:b:3478?transport=udp: FAILED turn-unreachable');
  });
});
