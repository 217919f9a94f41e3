/**
 * The pure parts of `lab matrix`: planning cells and their theory, judging detect verdicts and
 * trials against it, the runner's scheduling (with a fake cell runner), and the worker's
 * session loop and line protocol (with a fake session).
 */
import { describe, expect, it } from 'vitest';
import { checkDetect, judgeCell, matrixExitCode, pairSessions, summarizeTrialSet } from '../../src/lab/matrix-compare.js';
import { cellId, expectedVerdict, MATRIX_DEFAULTS, parseCgnType, parseTypeList, planMatrix } from '../../src/lab/matrix-plan.js';
import { runMatrix } from '../../src/lab/matrix.js';
import { parseWorkerLine } from '../../src/lab/matrix-worker-lines.js';
import { workerArguments } from '../../src/lab/matrix-cell.js';
import { expectDirectSuccess, NAT_TYPES, LabSpecError, type NatType } from '../../src/lab/index.js';
import type { CellResult, MatrixCellPlan } from '../../src/lab/matrix-types.js';
import { runRepeatedSessions, type SessionRecord } from '../../src/peer/repeat.js';
import type { PeerResult, PeerSessionOptions } from '../../src/peer/session.js';
import type { LabMatrixEvent } from '../../src/events.js';
import { PeerNeverCameError } from '../../src/peer/session-errors.js';
import { rightDetect, TIMINGS, trials } from './matrix-fixtures.js';

describe('matrix planning', () => {
  it('plans the 36 unordered pairs of the eight types, each with itself, in a stable order', () => {
    const plans = planMatrix({ types: NAT_TYPES });
    expect(plans).toHaveLength(36);
    expect(new Set(plans.map((p) => p.id)).size).toBe(36);
    expect(plans.map((p) => p.index)).toEqual([...Array(36).keys()]);
    expect(plans[0]).toMatchObject({ id: 'none~none', a: 'none', b: 'none', cgn: undefined });
    expect(plans.at(-1)!.id).toBe('symmetric-sequential~symmetric-sequential');
    // Every unordered pair exactly once.
    for (const a of NAT_TYPES) for (const b of NAT_TYPES) expect(plans.filter((p) => (p.a === a && p.b === b) || (p.a === b && p.b === a))).toHaveLength(1);
  });

  it('takes theory from expectDirectSuccess, and gives expected-fail cells the short session bound', () => {
    const plans = planMatrix({ types: NAT_TYPES });
    for (const plan of plans) {
      expect(plan.expectedDirect).toBe(expectDirectSuccess(plan.a, plan.b));
      expect(plan.sessionTimeoutMs).toBe(plan.expectedDirect ? MATRIX_DEFAULTS.successTimeoutMs : MATRIX_DEFAULTS.failureTimeoutMs);
      // A relay always works in theory, so relayed sessions get the long bound everywhere.
      expect(plan.relayTimeoutMs).toBe(MATRIX_DEFAULTS.successTimeoutMs);
    }
    expect(plans.filter((p) => !p.expectedDirect).map((p) => p.id)).toContain('symmetric~symmetric');
    expect(plans.find((p) => p.id === 'port-restricted~port-restricted')!.expectedDirect).toBe(true);
    expect(plans.filter((p) => !p.expectedDirect)).toHaveLength(12);
    expect(planMatrix({ types: ['symmetric'], failureTimeoutMs: 1234 })[0]!.sessionTimeoutMs).toBe(1234);
  });

  it('with a CGN plans ordered pairs (it sits in front of side A only) and expects its composed behaviour', () => {
    const plans = planMatrix({ types: ['port-restricted', 'symmetric'], cgn: 'symmetric' });
    expect(plans.map((p) => p.id)).toEqual(['port-restricted@symmetric~port-restricted', 'port-restricted@symmetric~symmetric', 'symmetric@symmetric~port-restricted', 'symmetric@symmetric~symmetric']);
    const [first] = plans;
    // LAB-NOTES: anything behind a symmetric CGN ↔ port-restricted fails.
    expect(first!.expectedDirect).toBe(false);
    expect(first!.expectedDetect.a).toEqual({ classicName: 'symmetric', mapping: 'address-and-port-dependent', filtering: 'address-and-port-dependent' });
    expect(first!.expectedDetect.b).toEqual({ classicName: 'port-restricted-cone', mapping: 'endpoint-independent', filtering: 'address-and-port-dependent' });
    expect(planMatrix({ types: ['port-restricted'], cgn: 'port-restricted' })[0]!.expectedDirect).toBe(true);
  });

  it('expects detect to name each type as DETECT_CLASSIC_NAME does', () => {
    expect(expectedVerdict('none').classicName).toBe('open-internet');
    expect(expectedVerdict('firewall')).toEqual({ classicName: 'symmetric-udp-firewall', mapping: 'endpoint-independent', filtering: 'address-and-port-dependent' });
    expect(expectedVerdict('addr-dependent')).toMatchObject({ classicName: 'symmetric', mapping: 'address-dependent' });
    expect(expectedVerdict('restricted').classicName).toBe('restricted-cone');
  });

  it('parses --types and --cgn with precise errors', () => {
    expect(parseTypeList('all')).toEqual([...NAT_TYPES]);
    expect(parseTypeList(' none, symmetric ,none')).toEqual(['none', 'symmetric']);
    expect(() => parseTypeList('none,cone')).toThrow(LabSpecError);
    expect(() => parseTypeList('none,cone')).toThrow(/Unknown NAT type "cone" in --types\. Use a comma-separated list of: none, firewall/);
    expect(() => parseTypeList(',')).toThrow(/at least one NAT type/);
    expect(parseCgnType('symmetric')).toBe('symmetric');
    expect(() => parseCgnType('firewall')).toThrow(/must translate/);
    expect(() => parseCgnType('bogus')).toThrow(/Unknown NAT type "bogus" for --cgn/);
    try {
      parseTypeList('x');
    } catch (error) {
      expect((error as LabSpecError).code).toBe('lab-bad-spec');
    }
    expect(cellId('port-restricted', 'symmetric', undefined)).toBe('port-restricted~symmetric');
  });
});

const record = (index: number, connected: boolean, fields: Partial<SessionRecord> = {}): SessionRecord => ({
  index,
  room: `direct-${index}`,
  connected,
  totalMs: 100,
  ...(connected ? { timeToConnectMs: 10 * index, pairType: 'srflx/srflx' } : { failureReason: 'timeout' }),
  ...fields,
});

describe('matrix comparison with theory', () => {
  const plan = (a: NatType, b: NatType): MatrixCellPlan => planMatrix({ types: [a, b] }).find((p) => p.a === a && p.b === b)!;

  it('pairs the two sides by session number: connected only when both are, time from the slower side', () => {
    const paired = pairSessions(3, [record(1, true), record(2, true), record(3, false)], [record(1, true, { timeToConnectMs: 55 }), record(2, false, { failureReason: 'not-nominated' })]);
    expect(paired).toEqual([
      { index: 1, connected: true, timeToConnectMs: 55, pairType: 'srflx/srflx' },
      { index: 2, connected: false, failureReason: 'not-nominated' },
      { index: 3, connected: false, failureReason: 'timeout' },
    ]);
    expect(pairSessions(1, [], [])).toEqual([{ index: 1, connected: false, failureReason: 'no-session' }]);
  });

  it('summarises a trial set: rate, pair types, reasons, p50 and samples', () => {
    const set = summarizeTrialSet('direct', trials(4, 3, (i) => [0, 30, 10, 20][i]!));
    expect(set).toMatchObject({ kind: 'direct', runs: 4, succeeded: 3, successRate: 0.75, timeToConnectP50Ms: 20, timeToConnectSamplesMs: [30, 10, 20] });
    expect(set.pairTypes).toEqual([{ pairType: 'srflx/srflx', count: 3 }]);
    expect(set.failureReasons).toEqual([{ reason: 'timeout', count: 1 }]);
    expect(summarizeTrialSet('relay', []).timeToConnectP50Ms).toBeNull();
  });

  it('judges detect on classic name, mapping and filtering, and says what differed', () => {
    const p = plan('port-restricted', 'symmetric');
    expect(checkDetect(rightDetect(p, 'a'), p.expectedDetect.a)).toMatchObject({ correct: true, differences: [] });
    const wrong = checkDetect({ ...rightDetect(p, 'b'), classicName: 'port-restricted-cone', mapping: 'endpoint-independent' }, p.expectedDetect.b);
    expect(wrong.correct).toBe(false);
    expect(wrong.differences).toEqual(['classic name port-restricted-cone, expected symmetric', 'mapping endpoint-independent, expected address-and-port-dependent']);
    const inconclusive = checkDetect({ ...rightDetect(p, 'a'), exitCode: 1, kind: 'inconclusive' }, p.expectedDetect.a);
    expect(inconclusive.differences).toEqual(['detect exited 1 (inconclusive)']);
    expect(checkDetect({ side: 'a', exitCode: null, durationMs: 5, error: 'killed' }, p.expectedDetect.a).differences).toEqual(['no verdict: killed']);
  });

  it('a cell matches only when every trial goes the way theory says and both verdicts are right', () => {
    const ok = plan('port-restricted', 'port-restricted');
    const right = { detect: { a: rightDetect(ok, 'a'), b: rightDetect(ok, 'b') }, timings: TIMINGS };
    expect(judgeCell(ok, { ...right, direct: trials(3, 3) })).toMatchObject({ mismatch: false, directMatchesTheory: true, problems: [] });
    const flaky = judgeCell(ok, { ...right, direct: trials(3, 2) });
    expect(flaky).toMatchObject({ mismatch: true, directMatchesTheory: false });
    expect(flaky.problems).toEqual(['direct 2/3 connected, theory says every trial connects']);

    const fails = plan('symmetric', 'symmetric');
    const rightS = { detect: { a: rightDetect(fails, 'a'), b: rightDetect(fails, 'b') }, timings: TIMINGS };
    expect(judgeCell(fails, { ...rightS, direct: trials(3, 0) }).mismatch).toBe(false);
    expect(judgeCell(fails, { ...rightS, direct: trials(3, 1) }).problems).toEqual(['direct 1/3 connected, theory says none connects']);
    // Relay must always work; a missing relay success is a difference.
    const relayed = judgeCell(fails, { ...rightS, direct: trials(3, 0), relay: trials(3, 2) });
    expect(relayed).toMatchObject({ mismatch: true, relayMatchesTheory: false });
    expect(judgeCell(fails, { ...rightS, direct: trials(3, 0), relay: trials(3, 3) })).toMatchObject({ mismatch: false, relayMatchesTheory: true });
    // A wrong verdict alone makes the cell a mismatch.
    const badDetect = judgeCell(fails, { ...rightS, detect: { ...rightS.detect, b: { ...rightS.detect.b, classicName: 'full-cone' } }, direct: trials(3, 0) });
    expect(badDetect.mismatch).toBe(true);
    expect(badDetect.problems[0]).toMatch(/^detect on side B \(symmetric\): classic name full-cone, expected symmetric/);
    // A cell that did not run never matches; a detect it never got to is not called wrong.
    const notRun = { side: 'a' as const, exitCode: null, durationMs: 0, error: 'not run', notRun: true as const };
    const stopped = judgeCell(fails, { ...rightS, detect: { a: notRun, b: { ...notRun, side: 'b' } }, direct: [], error: 'lab build failed' });
    expect(stopped).toMatchObject({ mismatch: true, problems: ['cell did not run: lab build failed'] });
    expect(stopped.detect.a.correct).toBe(false);
  });

  it('exits 0 only when every planned cell ran and matches', () => {
    const ok = plan('none', 'none');
    const cell = judgeCell(ok, { detect: { a: rightDetect(ok, 'a'), b: rightDetect(ok, 'b') }, direct: trials(2, 2), timings: TIMINGS });
    expect(matrixExitCode({ cells: [cell], planned: 1, aborted: false })).toBe(0);
    expect(matrixExitCode({ cells: [cell], planned: 2, aborted: false })).toBe(1);
    expect(matrixExitCode({ cells: [cell], planned: 1, aborted: true })).toBe(1);
    expect(matrixExitCode({ cells: [{ ...cell, mismatch: true }], planned: 1, aborted: false })).toBe(1);
  });
});

describe('matrix runner scheduling (fake cells)', () => {
  const fakeCell = (plan: MatrixCellPlan): CellResult =>
    judgeCell(plan, { detect: { a: rightDetect(plan, 'a'), b: rightDetect(plan, 'b') }, direct: trials(2, plan.expectedDirect ? 2 : 0), timings: TIMINGS });

  it('runs every cell at most `concurrency` at once, emits the plan, phases and results, in plan order', async () => {
    let running = 0;
    let peak = 0;
    const events: LabMatrixEvent[] = [];
    const result = await runMatrix({
      types: ['none', 'port-restricted', 'symmetric'],
      runs: 2,
      concurrency: 2,
      preflight: false,
      onEvent: (event) => events.push(event),
      runCell: async (plan, options) => {
        running++;
        peak = Math.max(peak, running);
        options.onPhase?.('building');
        options.onTrial?.('direct', { index: 1, connected: plan.expectedDirect });
        // Yield to the event loop so cells genuinely overlap.
        await new Promise<void>((resolve) => setImmediate(resolve));
        running--;
        return fakeCell(plan);
      },
    });
    expect(peak).toBe(2);
    expect(result.cells.map((c) => c.plan.index)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(matrixExitCode(result)).toBe(0);
    expect(events[0]).toMatchObject({ type: 'lab-matrix-planned', runs: 2 });
    expect(events.filter((e) => e.type === 'lab-matrix-cell-done')).toHaveLength(6);
    expect(events.filter((e) => e.type === 'lab-matrix-trial')).toHaveLength(6);
    const last = events.at(-1)!;
    expect(last).toMatchObject({ type: 'lab-matrix-cell-done', finished: 6, planned: 6 });
  });

  it('stops starting cells once aborted, and reports the run as interrupted', async () => {
    const controller = new AbortController();
    const result = await runMatrix({
      types: ['none', 'symmetric'],
      concurrency: 1,
      preflight: false,
      signal: controller.signal,
      runCell: async (plan) => {
        controller.abort();
        return fakeCell(plan);
      },
    });
    expect(result.cells).toHaveLength(1);
    expect(result).toMatchObject({ planned: 3, aborted: true });
    expect(matrixExitCode(result)).toBe(1);
  });

  it('rejects bad options with LabSpecError before building anything', async () => {
    const never = async (): Promise<CellResult> => {
      throw new Error('must not run');
    };
    await expect(runMatrix({ types: ['none'], runs: 0, preflight: false, runCell: never })).rejects.toThrow(/runs must be a whole number from 1/);
    await expect(runMatrix({ types: ['none'], lossPercent: 101, preflight: false, runCell: never })).rejects.toThrow(LabSpecError);
    await expect(runMatrix({ types: ['none'], prefix: 'BAD', preflight: false, runCell: never })).rejects.toThrow(/Invalid lab prefix/);
    await expect(runMatrix({ types: [], preflight: false, runCell: never })).rejects.toThrow(/at least one NAT type/);
  });

  it('hands --delay and --jitter to every cell and records them in the config; bad values fail first', async () => {
    const never = async (): Promise<CellResult> => {
      throw new Error('must not run');
    };
    await expect(runMatrix({ types: ['none'], delayMs: 10, jitterMs: 11, preflight: false, runCell: never })).rejects.toThrow(/The jitter .* must be from 0 to the delay \(10 ms\)/);
    await expect(runMatrix({ types: ['none'], delayMs: -5, preflight: false, runCell: never })).rejects.toThrow(LabSpecError);
    const seen: { delayMs?: number; jitterMs?: number }[] = [];
    const result = await runMatrix({
      types: ['none', 'symmetric'],
      delayMs: 25,
      jitterMs: 2,
      preflight: false,
      runCell: async (plan, options) => {
        seen.push({ delayMs: options.delayMs, jitterMs: options.jitterMs });
        return fakeCell(plan);
      },
    });
    expect(seen).toEqual([...Array(3)].map(() => ({ delayMs: 25, jitterMs: 2 })));
    expect(result.config).toMatchObject({ delayMs: 25, jitterMs: 2 });
    const plain = await runMatrix({ types: ['none'], preflight: false, runCell: async (plan) => fakeCell(plan) });
    expect(plain.config.delayMs).toBeUndefined();
  });
});

describe('peer worker: repeated sessions and the line protocol', () => {
  const fakeResult = (options: PeerSessionOptions, connected: boolean): PeerResult =>
    ({
      state: connected ? 'connected' : 'failed',
      outcome: connected ? 'connected' : 'failed',
      role: 'controlling',
      timeToConnectMs: 42,
      selectedPair: connected ? { local: { type: 'srflx', address: '203.0.113.10', port: 4000 }, remote: { type: 'prflx', address: '203.0.113.20', port: 5000 } } : undefined,
      pairs: connected ? [] : [{ id: 'p', local: { type: 'host', address: '198.51.100.2', port: 1 }, remote: { type: 'host', address: '198.51.100.18', port: 2 }, state: 'failed', attempts: 4, failureReason: 'timeout' }],
      localCandidates: [],
      remoteCandidates: [],
      room: options.room,
      peerId: 'p1',
      signalingMs: 5,
      totalMs: 60,
      skippedRemoteCandidates: [],
    }) as unknown as PeerResult;

  it('runs N sessions in rooms prefix-1…N in order, one record each, errors included', async () => {
    const rooms: string[] = [];
    const records = await runRepeatedSessions({
      runs: 3,
      roomPrefix: 'direct',
      session: { signalUrl: 'ws://203.0.113.1:8478/', mode: 'connect', timeoutMs: 1000 },
      runSession: async (options) => {
        rooms.push(options.room);
        expect(options.trial).toBe(rooms.length);
        if (options.room === 'direct-2') throw new PeerNeverCameError(options.room, 1000);
        return fakeResult(options, options.room === 'direct-1');
      },
    });
    expect(rooms).toEqual(['direct-1', 'direct-2', 'direct-3']);
    expect(records.map((r) => [r.index, r.connected, r.pairType ?? r.failureReason])).toEqual([
      [1, true, 'srflx/prflx'],
      [2, false, 'peer-never-came'],
      [3, false, 'timeout'],
    ]);
    expect(records[0]).toMatchObject({ timeToConnectMs: 42, role: 'controlling', signalingMs: 5 });
  });

  it('stops between sessions when aborted', async () => {
    const controller = new AbortController();
    const records = await runRepeatedSessions({
      runs: 5,
      roomPrefix: 'r',
      signal: controller.signal,
      session: { signalUrl: 'ws://x/', mode: 'connect', timeoutMs: 100 },
      runSession: async (options) => {
        controller.abort();
        return fakeResult(options, true);
      },
    });
    expect(records).toHaveLength(1);
  });

  it('parses only well-formed protocol lines', () => {
    expect(parseWorkerLine('{"type":"ready","startupMs":300.5}')).toEqual({ type: 'ready', startupMs: 300.5 });
    expect(parseWorkerLine('{"type":"done"}')).toEqual({ type: 'done' });
    const line = JSON.stringify({ type: 'session', kind: 'relay', record: record(2, true) });
    expect(parseWorkerLine(line)).toEqual({ type: 'session', kind: 'relay', record: record(2, true) });
    for (const bad of ['', 'nat-probe: oops', '{"type":"session","kind":"direct","record":{"index":"1"}}', '{"type":"ready"}', '[1]', 'null']) expect(parseWorkerLine(bad)).toBeUndefined();
  });

  it('passes the TURN server to the worker only when the cell has one', () => {
    const base = { signal: 'ws://203.0.113.1:8478/', stun: '203.0.113.1:3478', runs: 3, timeoutMs: 3500 };
    expect(workerArguments('/x/nat-probe.js', base)).toEqual(['/x/nat-probe.js', 'lab', '_peer', '--signal', 'ws://203.0.113.1:8478/', '--stun', '203.0.113.1:3478', '--runs', '3', '--timeout', '3500']);
    expect(workerArguments('/x', { ...base, turn: { url: 'turn:203.0.113.1:3480', secret: 's', timeoutMs: 8000 } }).slice(-6)).toEqual(['--turn', 'turn:203.0.113.1:3480', '--turn-secret', 's', '--relay-timeout', '8000']);
  });
});
