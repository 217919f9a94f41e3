import type { TrialsResult } from '../../src/peer/trials.js';
import { summarizeTrials } from '../../src/peer/trials-summary.js';
import type { TrialOutcome } from '../../src/peer/trials-types.js';
import { outcome } from '../peer/trials-fixtures.js';

/** A finished run of 10 trials: 8 connected (6 host/host, 2 srflx/srflx), 2 failed with reasons. */
export function sampleResult(outcomes: TrialOutcome[] = sampleOutcomes()): TrialsResult {
  return {
    config: { runs: outcomes.length, concurrency: 4, mode: 'survey', timeoutMs: 5000, signalUrl: 'ws://127.0.0.1:4000/', stunServer: { address: '127.0.0.1', port: 3478 }, builtInServers: true },
    startedAt: new Date('2025-01-02T03:04:05.000Z'),
    durationMs: 500.04,
    outcomes,
    summary: summarizeTrials(outcomes),
    aborted: false,
  };
}

export function sampleOutcomes(): TrialOutcome[] {
  return [
    ...Array.from({ length: 8 }, (_, i) => outcome(i + 1, { timeToConnectMs: 2 + i * 0.333, pairType: i < 6 ? 'host/host' : 'srflx/srflx', durationMs: 10.04 })),
    outcome(9, {
      connected: false,
      timeToConnectMs: undefined,
      pairType: undefined,
      failureReason: 'timeout',
      durationMs: 5000,
      peers: [{ state: 'failed', role: 'controlling' }, { state: 'failed', role: 'controlled' }],
      pairs: [{ id: 'p', local: '198.51.100.2:5000', remote: '203.0.113.7:6000', localType: 'srflx', remoteType: 'srflx', state: 'failed', attempts: 7, failureReason: 'timeout', failureDetail: 'no answer <after> 7 tries & "RTO" 500' }],
    }),
    outcome(10, { connected: false, timeToConnectMs: undefined, pairType: undefined, failureReason: 'signaling-unreachable', durationMs: 3, peers: [{ state: 'error', error: 'signaling-unreachable' }, { state: 'connected' }] }),
  ];
}
