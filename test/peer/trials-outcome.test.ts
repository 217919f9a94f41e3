import { describe, expect, it } from 'vitest';
import { NatProbeError } from '../../src/errors.js';
import { sessionFailureReason, trialFailureReason, trialOutcome } from '../../src/peer/trials-outcome.js';
import { summarizeTrials } from '../../src/peer/trials-summary.js';
import type { TraversalReport } from '../../src/traversal/types.js';
import { cand, connectedSession, failedSession, outcome, pair } from './trials-fixtures.js';

const a = cand('host', '10.0.0.1', 5000);
const b = cand('srflx', '203.0.113.9', 6000);

describe('trialOutcome', () => {
  it('is connected when both peers are, with the slower time to connect and the first peer’s pair type', () => {
    const result = trialOutcome({
      trial: 3,
      room: 'r',
      durationMs: 9,
      sessions: [
        { ok: true, result: connectedSession({ type: ['srflx', 'prflx'], ttc: 4 }) },
        { ok: true, result: connectedSession({ type: ['prflx', 'srflx'], ttc: 7, role: 'controlled' }) },
      ],
    });
    expect(result.connected).toBe(true);
    expect(result.timeToConnectMs).toBe(7);
    expect(result.pairType).toBe('srflx/prflx');
    expect(result.selectedPair).toEqual({ local: '127.0.0.1:40000', remote: '127.0.0.1:40001', rttMs: 0.4 });
    expect(result.failureReason).toBeUndefined();
    expect(result.pairs[0]!.state).toBe('succeeded'); // 'Succeeded' normalised
    expect(result.peers.map((p) => p.role)).toEqual(['controlling', 'controlled']);
  });

  it('is not connected when one side failed, and says why from that side’s pairs', () => {
    const result = trialOutcome({
      trial: 1,
      room: 'r',
      durationMs: 1000,
      sessions: [
        { ok: true, result: connectedSession() },
        { ok: true, result: failedSession([pair(a, b, 'Failed', { failureReason: 'timeout', attempts: 7 })]) },
      ],
    });
    expect(result.connected).toBe(false);
    expect(result.timeToConnectMs).toBeUndefined();
    expect(result.failureReason).toBe('timeout');
    expect(result.peers[1].state).toBe('failed');
  });

  it('records a session that threw with its error code', () => {
    const result = trialOutcome({
      trial: 1,
      room: 'r',
      durationMs: 5,
      sessions: [{ ok: false, error: new NatProbeError('signaling-unreachable', 'no server') }, { ok: true, result: connectedSession() }],
    });
    expect(result.failureReason).toBe('signaling-unreachable');
    expect(result.peers[0]).toEqual({ state: 'error', error: 'signaling-unreachable' });
    // The pairs come from the peer that has them.
    expect(result.pairs).toHaveLength(1);
  });
});

describe('failure reasons', () => {
  it('names the commonest telling pair failure, ignoring pairs cut short by the end of the run', () => {
    const pairs = [
      pair(a, b, 'failed', { failureReason: 'cancelled' }),
      pair(a, b, 'failed', { failureReason: 'cancelled' }),
      pair(a, b, 'failed', { failureReason: 'unreachable' }),
      pair(a, b, 'failed', { failureReason: 'timeout' }),
      pair(a, b, 'failed', { failureReason: 'timeout' }),
    ];
    expect(sessionFailureReason({ ok: true, result: failedSession(pairs) })).toBe('timeout');
  });

  it.each([
    [[], 'no-candidate-pairs'],
    [[pair(a, b, 'Succeeded'), pair(a, b, 'Failed', { failureReason: 'timeout' })], 'not-nominated'],
    [[pair(a, b, 'In-Progress', { failureReason: 'overall-timeout' })], 'overall-timeout'],
    [[pair(a, b, 'Frozen', { attempts: 0 })], 'overall-timeout'],
  ])('%j → %s', (pairs, reason) => {
    expect(sessionFailureReason({ ok: true, result: failedSession(pairs) })).toBe(reason);
  });

  it('names a run the traversal abandoned by its plan, not as a timeout', () => {
    const cut = [pair(a, b, 'Failed', { failureReason: 'cancelled' })];
    const traversal = (technique: string, hits: boolean[]) =>
      ({ requested: ['birthday'], plan: { technique, localDuty: 'none', remoteDuty: 'none', reason: '' }, attempts: hits.map((hit) => ({ hit })), ladder: [], winner: 'none' }) as unknown as TraversalReport;
    const abandoned = (report: TraversalReport, outcome = 'failed') => ({ ok: true as const, result: { ...failedSession(cut), outcome, traversal: report } });
    expect(sessionFailureReason(abandoned(traversal('relay-only', [])))).toBe('relay-only');
    expect(sessionFailureReason(abandoned(traversal('birthday', [false])))).toBe('strategies-exhausted');
    // Ended by the clock, it stays a timeout whatever the plan said.
    expect(sessionFailureReason(abandoned(traversal('relay-only', []), 'timeout'))).toBe('overall-timeout');
  });

  it('is undefined for a connected session, and a plain Error is a session-error', () => {
    expect(sessionFailureReason({ ok: true, result: connectedSession() })).toBeUndefined();
    expect(trialFailureReason([{ ok: true, result: connectedSession() }, { ok: false, error: new Error('boom') }])).toBe('session-error');
  });
});

describe('summarizeTrials', () => {
  it('gives the rate with its Wilson interval, percentiles over connected trials, pair types and reasons', () => {
    const outcomes = [
      ...Array.from({ length: 18 }, (_, i) => outcome(i + 1, { timeToConnectMs: i + 1, pairType: i < 12 ? 'host/host' : 'srflx/prflx' })),
      outcome(19, { connected: false, timeToConnectMs: undefined, pairType: undefined, failureReason: 'timeout' }),
      outcome(20, { connected: false, timeToConnectMs: undefined, pairType: undefined, failureReason: 'timeout' }),
    ];
    const summary = summarizeTrials(outcomes);
    expect(summary.runs).toBe(20);
    expect(summary.succeeded).toBe(18);
    expect(summary.failed).toBe(2);
    expect(summary.successRate).toBe(0.9);
    expect(summary.successRateCi95.low).toBeCloseTo(0.699, 3);
    expect(summary.successRateCi95.high).toBeCloseTo(0.9721, 3);
    expect(summary.timeToConnectMs).toMatchObject({ count: 18, p50: 9, p95: 18, p99: 18, min: 1, max: 18 });
    expect(summary.byPairType).toEqual([
      { pairType: 'host/host', trials: 12, share: 12 / 18 },
      { pairType: 'srflx/prflx', trials: 6, share: 6 / 18 },
    ]);
    expect(summary.byCandidateType).toEqual({ host: 12, srflx: 6, prflx: 6, relay: 0 });
    expect(summary.failureReasons).toEqual([{ reason: 'timeout', count: 2 }]);
  });

  it('counts checked pairs by type, skipping pairs never sent', () => {
    const summary = summarizeTrials([
      outcome(1, {
        pairs: [
          { id: '1', local: 'x', remote: 'y', localType: 'host', remoteType: 'host', state: 'failed', attempts: 7, failureReason: 'timeout' },
          { id: '2', local: 'x', remote: 'y', localType: 'srflx', remoteType: 'srflx', state: 'succeeded', attempts: 1 },
          { id: '3', local: 'x', remote: 'y', localType: 'relay', remoteType: 'host', state: 'frozen', attempts: 0 },
        ],
      }),
    ]);
    expect(summary.pairChecks).toEqual([
      { pairType: 'host/host', checked: 1, succeeded: 0, failed: 1 },
      { pairType: 'srflx/srflx', checked: 1, succeeded: 1, failed: 0 },
    ]);
  });

  it('has no latency figures when nothing connected, and a [0, 1] interval with no runs', () => {
    expect(summarizeTrials([outcome(1, { connected: false, failureReason: 'timeout' })]).timeToConnectMs).toBeUndefined();
    const empty = summarizeTrials([]);
    expect(empty.successRate).toBe(0);
    expect(empty.successRateCi95).toEqual({ low: 0, high: 1 });
  });
});
