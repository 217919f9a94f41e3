import { describe, expect, it } from 'vitest';
import { buildPeerReport as buildReport, PEER_SCHEMA } from '../../src/report/peer-report.js';
import { describePeerSession } from '../../src/peer/session-view.js';
import { renderPeerTable } from '../../src/report/peer-table.js';
import { cand, connectedSession, failedSession, pair } from '../peer/trials-fixtures.js';

const meta = { version: '0', startedAt: new Date(0), durationMs: 12.34, mode: 'connect' as const };

/** The report as `nat-probe peer` builds it: from the session and the engine's view of it. */
const buildPeerReport = (session: Parameters<typeof buildReport>[0], meta: Parameters<typeof buildReport>[2]) => buildReport(session, describePeerSession(session), meta);

describe('peer report', () => {
  it('shows the selected pair, every pair with state, RTT and attempts, and time to connect', () => {
    const report = buildPeerReport({ ...connectedSession({ type: ['host', 'host'], ttc: 3.14159 }), room: 'lab', remoteResult: { state: 'connected' } }, meta);
    expect(report).toMatchObject({
      schema: PEER_SCHEMA,
      room: 'lab',
      connected: true,
      timeToConnectMs: 3.1,
      durationMs: 12.3,
      selectedPair: { pairType: 'host/host', local: '127.0.0.1:40000', remote: '127.0.0.1:40001', rttMs: 0.4 },
      failureReason: null,
      remoteResult: { state: 'connected' },
      exitCode: 0,
    });
    expect(report.pairs).toEqual([{ id: '127.0.0.1:40000|127.0.0.1:40001', local: '127.0.0.1:40000', remote: '127.0.0.1:40001', localType: 'host', remoteType: 'host', state: 'succeeded', attempts: 1, rttMs: 0.4 }]);
    const table = renderPeerTable(report);
    expect(table).toContain('connected in 3.1 ms');
    expect(table).toContain('host/host  127.0.0.1:40000 → 127.0.0.1:40001  rtt 0.4 ms');
    expect(table).toMatch(/host\/host.*127\.0\.0\.1:40000.*127\.0\.0\.1:40001.*succeeded.*0\.4 ms.*1/);
  });

  it('says why it did not connect, and exits 1', () => {
    const a = cand('srflx', '203.0.113.5', 1000);
    const b = cand('srflx', '203.0.113.6', 2000);
    const report = buildPeerReport({ ...failedSession([pair(a, b, 'Failed', { attempts: 7, failureReason: 'timeout' })]), room: 'lab' }, meta);
    expect(report).toMatchObject({ connected: false, timeToConnectMs: null, selectedPair: null, failureReason: 'timeout', remoteResult: null, exitCode: 1 });
    const table = renderPeerTable(report);
    expect(table).toContain('NOT connected: timeout — checks went unanswered');
    expect(table).toMatch(/srflx\/srflx.*failed.*7.*timeout/);
  });
});
