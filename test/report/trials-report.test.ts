import { describe, expect, it } from 'vitest';
import { buildTrialsReport, TRIALS_SCHEMA, trialsExitCode } from '../../src/report/trials-report.js';
import { renderTrialsTable } from '../../src/report/trials-table.js';
import { formatTrialEventLine } from '../../src/report/trials-lines.js';
import { sampleResult } from './trials-fixtures.js';
import { outcome } from '../peer/trials-fixtures.js';

describe('trials JSON report', () => {
  it('is a versioned document with the summary CI gates on, rounded, and every trial', () => {
    const report = buildTrialsReport(sampleResult(), { version: '1.2.3', minSuccess: 0.75 });
    expect(report.schema).toBe(TRIALS_SCHEMA);
    expect(report.schema).toBe('nat-probe.trials/v2');
    expect(report.tool).toEqual({ name: 'nat-probe', version: '1.2.3' });
    expect(report.startedAt).toBe('2025-01-02T03:04:05.000Z');
    expect(report.durationMs).toBe(500);
    expect(report.summary).toMatchObject({ runs: 10, succeeded: 8, failed: 2, successRate: 0.8 });
    expect(report.summary.successRateCi95).toEqual({ low: 0.4902, high: 0.9433, method: 'wilson', confidence: 0.95 });
    expect(report.summary.timeToConnectMs).toMatchObject({ count: 8, p50: 3, p95: 4.3, p99: 4.3, min: 2 });
    expect(report.summary.byPairType).toEqual([
      { pairType: 'host/host', trials: 6, share: 0.75 },
      { pairType: 'srflx/srflx', trials: 2, share: 0.25 },
    ]);
    expect(report.summary.failureReasons).toEqual([
      { reason: 'signaling-unreachable', count: 1 },
      { reason: 'timeout', count: 1 },
    ]);
    expect(report.summary.trialsPerSecond).toBe(20);
    expect(report.trials).toHaveLength(10);
    expect(report.trials[0]!.durationMs).toBe(10);
    expect(report.threshold).toEqual({ minSuccess: 0.75, met: true });
    expect(report.exitCode).toBe(0);
    // It survives JSON as is (no BigInt, no undefined-only fields that matter).
    expect(JSON.parse(JSON.stringify(report)).summary.successRateCi95.method).toBe('wilson');
  });

  it('misses the threshold below --min-success, and every trial must connect by default', () => {
    expect(buildTrialsReport(sampleResult(), { version: '0', minSuccess: 0.95 })).toMatchObject({ exitCode: 1, threshold: { met: false } });
    expect(buildTrialsReport(sampleResult(), { version: '0' })).toMatchObject({ exitCode: 1, threshold: { minSuccess: 1, met: false } });
    expect(buildTrialsReport(sampleResult([outcome(1), outcome(2)]), { version: '0' })).toMatchObject({ exitCode: 0, threshold: { met: true } });
  });

  it('fails an interrupted run even when the trials that ran all connected', () => {
    const result = { ...sampleResult([outcome(1), outcome(2)]), aborted: true };
    expect(buildTrialsReport(result, { version: '0' })).toMatchObject({ aborted: true, exitCode: 1, threshold: { met: true } });
    expect(renderTrialsTable(buildTrialsReport(result, { version: '0' }))).toContain('2 of 2 (interrupted)');
  });

  it('never passes a run with no finished trial', () => {
    expect(trialsExitCode({ runs: 0, successRate: 0 }, 0)).toBe(1);
    expect(trialsExitCode({ runs: 4, successRate: 0.75 }, 0.75)).toBe(0);
  });

  it('has a null time to connect when nothing connected', () => {
    const report = buildTrialsReport(sampleResult([outcome(1, { connected: false, failureReason: 'timeout' })]), { version: '0' });
    expect(report.summary.timeToConnectMs).toBeNull();
  });
});

describe('trials table and lines', () => {
  it('summarises rate with CI, percentiles, pair types and explains failure reasons', () => {
    const text = renderTrialsTable(buildTrialsReport(sampleResult(), { version: '0', minSuccess: 0.9 }));
    expect(text).toContain('80.0% (8/10), 95% CI 49.0%–94.3%');
    expect(text).toContain('BELOW THRESHOLD');
    expect(text).toMatch(/p50 3\.0 ms · p95 4\.3 ms · p99 4\.3 ms/);
    expect(text).toContain('host/host 6 (75.0%), srflx/srflx 2 (25.0%)');
    expect(text).toContain('host 6 · srflx 2 · prflx 0 · relay 0');
    expect(text).toContain('timeout × 1 — checks went unanswered');
    expect(text).toContain('ws://127.0.0.1:4000/ (built-in) · STUN 127.0.0.1:3478');
  });

  it('prints one line per finished trial and nothing for a start', () => {
    expect(formatTrialEventLine({ type: 'trial-started', at: 0, trial: 1 })).toBeUndefined();
    expect(formatTrialEventLine({ type: 'trial-done', at: 5, trial: 3, connected: true, timeToConnectMs: 4.25, pairType: 'host/host', finished: 1, planned: 20, succeeded: 1 })).toBe(
      'trial  3/20  connected  host/host  4.3 ms',
    );
    expect(formatTrialEventLine({ type: 'trial-done', at: 5, trial: 4, connected: false, failureReason: 'timeout', finished: 2, planned: 20, succeeded: 1 })).toBe('trial  4/20  FAILED     timeout');
  });
});
