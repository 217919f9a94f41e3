/** The `turn` command's presentation: the Ink view's reducer and frames, the JSON report and the table, from fixed diagnoses. */
import { render } from 'ink-testing-library';
import { createElement } from 'react';
import { describe, expect, it } from 'vitest';
import { buildTurnReport, formatTurnEventLine, TURN_SCHEMA, type TurnCheckEvent, type TurnDiagnosis } from '../../src/report/turn-report.js';
import { renderTurnTable } from '../../src/report/turn-table.js';
import { TurnView } from '../../src/ui/TurnView.js';
import { initialTurnViewState, reduceTurnEvent, withTurnReport } from '../../src/ui/turn-state.js';

const passed: TurnDiagnosis = {
  server: 'turn:127.0.0.1:3478?transport=udp',
  transport: 'udp',
  username: 'alice',
  credentialKind: 'long-term',
  steps: [
    { step: 'reachability', status: 'pass', detail: 'answered the unauthenticated Allocate with 401 in 0.3 ms (realm "r")', durationMs: 0.31234 },
    { step: 'authentication', status: 'pass', detail: 'credentials accepted for "alice" (long-term, MD5 key)', durationMs: 0.4 },
    { step: 'allocation', status: 'pass', detail: 'relayed 127.0.0.1:50000, server-reflexive 127.0.0.1:40000, lifetime 600 s', durationMs: 0 },
    { step: 'permission', status: 'pass', detail: 'permission for 127.0.0.1 installed', durationMs: 1 },
    { step: 'channel', status: 'pass', detail: 'channel 0x4000 bound', durationMs: 0.5 },
    { step: 'round-trip', status: 'pass', detail: '100/100 echoed', durationMs: 9 },
  ],
  realm: 'r',
  algorithm: 'md5',
  local: '127.0.0.1:40000',
  mapped: '127.0.0.1:40000',
  relayed: '127.0.0.1:50000',
  lifetimeSeconds: 600,
  channel: 0x4000,
  roundTrip: { sent: 100, received: 100, lost: 0, payloadBytes: 100, rttMs: { min: 0.1234, median: 0.45678, p95: 1.2, max: 2 }, packetsPerSecond: 10964.4, peer: '127.0.0.1:45000' },
  interrupted: false,
  passed: true,
};

const authFailed: TurnDiagnosis = {
  ...passed,
  steps: [
    passed.steps[0]!,
    { step: 'authentication', status: 'fail', detail: 'rejected the credentials (401 Unauthorized)', code: 'turn-auth-failed', durationMs: 0.5 },
    ...passed.steps.slice(2).map((step) => ({ step: step.step, status: 'skipped' as const, detail: 'not run: an earlier step failed', durationMs: 0 })),
  ],
  local: null,
  mapped: null,
  relayed: null,
  lifetimeSeconds: null,
  channel: null,
  roundTrip: null,
  passed: false,
};

const meta = { version: '0.1.0', startedAt: new Date('2026-12-01T06:00:00Z'), durationMs: 12.3456 };

describe('turn report (JSON, nat-probe.turn/v1)', () => {
  it('carries every step, rounds figures, and exit code 0 when all passed', () => {
    const report = buildTurnReport(passed, meta);
    expect(report.schema).toBe(TURN_SCHEMA);
    expect(report.exitCode).toBe(0);
    expect(report.durationMs).toBe(12.35);
    expect(report.steps[0]!.durationMs).toBe(0.31);
    expect(report.roundTrip).toMatchObject({ packetsPerSecond: 10964, rttMs: { min: 0.12, median: 0.46, p95: 1.2, max: 2 } });
  });

  it('exit code 1 when a step failed, and the failed step keeps its code', () => {
    const report = buildTurnReport(authFailed, meta);
    expect(report.exitCode).toBe(1);
    expect(report.steps[1]).toMatchObject({ status: 'fail', code: 'turn-auth-failed' });
    expect(report.roundTrip).toBeNull();
  });
});

describe('turn table and plain lines', () => {
  it('the table names each check, its result and the verdict', () => {
    const table = renderTurnTable(buildTurnReport(authFailed, meta));
    expect(table).toMatch(/Authentication\s*│\s*FAIL/);
    expect(table).toContain('[turn-auth-failed]');
    expect(table).toContain('FAILED at Authentication');
    expect(table).toMatch(/Round trip\s*│\s*skipped/);
    const ok = renderTurnTable(buildTurnReport(passed, meta));
    expect(ok).toContain('all checks passed');
    expect(ok).toContain('relayed 127.0.0.1:50000');
    expect(ok).toContain('10964');
  });

  it('plain lines: one per finished step, none for running or skipped', () => {
    const running: TurnCheckEvent = { type: 'turn-step', at: 0, step: 'reachability', status: 'running' };
    expect(formatTurnEventLine(running)).toBeUndefined();
    const [reach, auth, alloc] = authFailed.steps;
    expect(formatTurnEventLine({ type: 'turn-step', at: 1, step: 'reachability', status: 'pass', result: reach! })).toBe(`PASS Reachability: ${reach!.detail}`);
    expect(formatTurnEventLine({ type: 'turn-step', at: 1, step: 'authentication', status: 'fail', result: auth! })).toMatch(/^FAIL Authentication: /);
    expect(formatTurnEventLine({ type: 'turn-step', at: 1, step: 'allocation', status: 'skipped', result: alloc! })).toBeUndefined();
  });
});

describe('TurnView (Ink)', () => {
  it('shows each step as it runs and passes, and the round trip progress', () => {
    const events: TurnCheckEvent[] = [
      { type: 'turn-step', at: 0, step: 'reachability', status: 'running' },
      { type: 'turn-step', at: 1, step: 'reachability', status: 'pass', result: passed.steps[0]! },
      { type: 'turn-step', at: 1, step: 'authentication', status: 'running' },
      { type: 'turn-progress', at: 2, sent: 40, received: 30, total: 100 },
    ];
    const state = events.reduce(reduceTurnEvent, initialTurnViewState());
    const { lastFrame, unmount } = render(createElement(TurnView, { state, title: 'nat-probe turn · turn:127.0.0.1' }));
    const frame = lastFrame()!;
    expect(frame).toContain('nat-probe turn · turn:127.0.0.1');
    expect(frame).toMatch(/✔ Reachability\s+answered the unauthenticated Allocate/);
    expect(frame).toMatch(/… Authentication/);
    expect(frame).toMatch(/· Allocation/);
    expect(frame).toContain('30/100');
    unmount();
  });

  it('shows the verdict box with the relay and the round-trip figures', () => {
    const state = withTurnReport(initialTurnViewState(), buildTurnReport(passed, meta));
    const { lastFrame, unmount } = render(createElement(TurnView, { state, title: 't' }));
    const frame = lastFrame()!;
    expect(frame).toContain('TURN server works: relayed data flows');
    expect(frame).toContain('relayed 127.0.0.1:50000');
    expect(frame).toContain('RTT median 0.46 ms');
    expect(frame).toContain('10964 packets/s');
    unmount();
  });

  it('a failed check shows ✘ with the reason and the later checks as skipped', () => {
    const state = withTurnReport(initialTurnViewState(), buildTurnReport(authFailed, meta));
    const { lastFrame, unmount } = render(createElement(TurnView, { state, title: 't' }));
    const frame = lastFrame()!;
    expect(frame).toMatch(/✘ Authentication\s+rejected the credentials/);
    expect(frame).toMatch(/– Round trip\s+not run/);
    expect(frame).toContain('TURN check failed');
    unmount();
  });
});
