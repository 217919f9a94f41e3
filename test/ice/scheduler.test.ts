import { describe, expect, it } from 'vitest';
import { computePriority, type Candidate } from '../../src/ice/candidate.js';
import { Checklist } from '../../src/ice/checklist.js';
import { IceOptionError } from '../../src/ice/errors.js';
import type { CandidatePair, IceRole } from '../../src/ice/pair.js';
import {
  IceScheduler,
  type CheckAttempt,
  type IceMode,
  type IceSchedulerEvent,
  type SchedulerOptions,
} from '../../src/ice/scheduler.js';
import { FakeClock } from '../../src/transport/fake-clock.js';
import { cand } from './helpers.js';

interface Sent {
  at: number;
  pairId: string;
  attempt: CheckAttempt;
}

/** n local hosts × m remote hosts, each on its own IP (so every pair has its own foundation). */
function grid(n: number, m: number): { locals: Candidate[]; remotes: Candidate[] } {
  const locals = Array.from({ length: n }, (_, i) => cand({ address: `10.0.0.${i + 1}`, port: 1000, localPreference: 65535 - i }));
  const remotes = Array.from({ length: m }, (_, i) => cand({ address: `192.0.2.${i + 1}`, port: 2000, localPreference: 65535 - 10 * i }));
  return { locals, remotes };
}

function setup(
  options: {
    locals?: Candidate[];
    remotes?: Candidate[];
    role?: IceRole;
    mode?: IceMode;
    /** Answers each new transaction after this many ms (undefined: never), given the pair. */
    answerAfter?: (pair: CandidatePair, attempt: CheckAttempt) => number | undefined;
    /** Answers a retransmission (attempt ≥ 2) after this many ms (undefined: never). Default never. */
    answerRetransmissionAfter?: (pair: CandidatePair, attempt: CheckAttempt) => number | undefined;
  } & Partial<Omit<SchedulerOptions, 'clock' | 'sendCheck' | 'mode'>> = {},
) {
  const { locals: gl, remotes: gr } = grid(2, 2);
  const { locals = gl, remotes = gr, role = 'controlling', mode = 'survey', answerAfter, answerRetransmissionAfter, ...rest } = options;
  const clock = new FakeClock();
  const sent: Sent[] = [];
  const events: IceSchedulerEvent[] = [];
  const checklist = Checklist.fromCandidates(locals, remotes, { role, maxPairs: 1000 });
  const scheduler: IceScheduler = new IceScheduler(checklist, {
    clock,
    mode,
    ...rest,
    sendCheck: (pair, attempt) => {
      sent.push({ at: clock.now(), pairId: pair.id, attempt });
      const delay = attempt.attempt === 1 ? answerAfter?.(pair, attempt) : answerRetransmissionAfter?.(pair, attempt);
      if (delay !== undefined) clock.setTimeout(() => scheduler.onResponse(attempt.transaction), delay);
    },
    listener: (event) => events.push(event),
  });
  const firstSends = (): Sent[] => sent.filter((s) => s.attempt.attempt === 1);
  /** The transaction number of the pair's latest check: what the agent would report a response by. */
  const txOf = (pairId: string): number => {
    const last = sent.filter((s) => s.pairId === pairId).at(-1);
    if (last === undefined) throw new Error(`no check sent for ${pairId}`);
    return last.attempt.transaction;
  };
  const completed = () => events.find((e) => e.type === 'completed') as Extract<IceSchedulerEvent, { type: 'completed' }> | undefined;
  return { clock, sent, events, checklist, scheduler, firstSends, completed, txOf };
}

describe('IceScheduler: options', () => {
  it('rejects Ta below the 5 ms floor of RFC 8445 §14.2 with a typed error', () => {
    expect(() => setup({ taMs: 4 })).toThrow(IceOptionError);
    try {
      setup({ taMs: 1 });
    } catch (error) {
      expect((error as IceOptionError).code).toBe('ice-invalid-option');
    }
    expect(() => setup({ taMs: 5 })).not.toThrow();
    expect(() => setup({ maxInFlight: 0 })).toThrow(/maxInFlight/);
    expect(() => setup({ minRtoMs: 0 })).toThrow(IceOptionError);
  });
});

describe('IceScheduler: pacing and the in-flight cap', () => {
  it('starts new checks exactly Ta apart (default 50 ms)', () => {
    const t = setup({ ...grid(3, 2), maxInFlight: 100 });
    t.scheduler.start();
    t.clock.advance(400);
    expect(t.firstSends().map((s) => s.at)).toEqual([0, 50, 100, 150, 200, 250]);
    expect(new Set(t.firstSends().map((s) => s.pairId)).size).toBe(6);
  });

  it('honours a smaller diagnostic Ta such as 5 ms', () => {
    const t = setup({ ...grid(2, 2), taMs: 5, maxInFlight: 100 });
    t.scheduler.start();
    t.clock.advance(30);
    expect(t.firstSends().map((s) => s.at)).toEqual([0, 5, 10, 15]);
  });

  it('sends pairs in checklist order: highest priority first', () => {
    const t = setup({ ...grid(3, 3), maxInFlight: 100 });
    t.scheduler.start();
    t.clock.advance(1000);
    const expected = t.checklist.pairs().map((v) => v.pair.id);
    expect(t.firstSends().map((s) => s.pairId)).toEqual(expected);
  });

  it('never has more than maxInFlight transactions open, and fills a freed slot at once', () => {
    const answers = new Map<string, () => void>();
    const t = setup({ ...grid(4, 3), maxInFlight: 3, pairTimeoutMs: 60_000, overallTimeoutMs: 120_000 });
    t.scheduler.addListener(() => expect(t.scheduler.inFlight).toBeLessThanOrEqual(3));
    t.scheduler.start();
    t.clock.advance(1000);
    expect(t.firstSends().map((s) => s.at)).toEqual([0, 50, 100]);
    expect(t.scheduler.inFlight).toBe(3);
    for (const s of t.firstSends()) answers.set(s.pairId, () => t.scheduler.onResponse(s.attempt.transaction));
    answers.get(t.firstSends()[1]!.pairId)!();
    // The slot freed at t=1000 is used at once (the last new check was long ago)...
    expect(t.firstSends().map((s) => s.at)).toEqual([0, 50, 100, 1000]);
    // ...but two freed slots are still paced Ta apart.
    t.scheduler.onResponse(t.firstSends()[0]!.attempt.transaction);
    t.scheduler.onResponse(t.firstSends()[2]!.attempt.transaction);
    t.clock.advance(100);
    expect(t.firstSends().map((s) => s.at)).toEqual([0, 50, 100, 1000, 1050, 1100]);
  });
});

describe('IceScheduler: retransmission and time bounds', () => {
  it('retransmits with exponential backoff from a 500 ms RTO, Rc=7, then fails after Rm·RTO (RFC 8489 §6.2.1)', () => {
    const t = setup({ ...grid(1, 1), pairTimeoutMs: 100_000, overallTimeoutMs: 100_000 });
    t.scheduler.start();
    t.clock.advance(50_000);
    expect(t.sent.map((s) => s.at)).toEqual([0, 500, 1500, 3500, 7500, 15500, 31500]);
    expect(t.sent.map((s) => s.attempt.attempt)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(new Set(t.sent.map((s) => s.attempt.transaction)).size).toBe(1);
    const failed = t.events.find((e) => e.type === 'pair-state' && e.to === 'failed');
    expect(failed).toMatchObject({ at: 39_500, failure: { reason: 'timeout' } });
    expect(t.completed()).toMatchObject({ outcome: 'surveyed', at: 39_500 });
  });

  it('fails a pair that has not succeeded within pairTimeoutMs (default 10 s)', () => {
    const t = setup({ ...grid(1, 1) });
    t.scheduler.start();
    t.clock.advance(20_000);
    expect(t.sent.map((s) => s.at)).toEqual([0, 500, 1500, 3500, 7500]);
    const [report] = t.scheduler.report();
    expect(report).toMatchObject({ state: 'failed', failure: { reason: 'timeout' }, requestsSent: 5, firstCheckAtMs: 0 });
    expect(t.completed()?.at).toBe(10_000);
  });

  it('adapts the RTO to the measured RTT of the same remote IP (SRTT + 4·RTTVAR)', () => {
    const remote = cand({ address: '192.0.2.1', port: 2000 });
    const remote2 = cand({ address: '192.0.2.1', port: 2001, localPreference: 65000 });
    const local = cand({ address: '10.0.0.1', port: 1000, foundation: 'L' });
    const local2 = cand({ address: '10.0.0.2', port: 1000, foundation: 'M', localPreference: 65000 });
    let first = true;
    const t = setup({
      locals: [local, local2],
      remotes: [remote, remote2],
      minRtoMs: 10,
      answerAfter: () => {
        if (!first) return undefined;
        first = false;
        return 20;
      },
    });
    t.scheduler.start();
    t.clock.advance(20);
    // First sample R=20: SRTT=20, RTTVAR=10, RTO = 20 + 4·10 = 60 ms.
    expect(t.scheduler.rtoFor(remote)).toBe(60);
    t.clock.advance(200);
    const second = t.firstSends()[1]!;
    expect(second.attempt.rtoMs).toBe(60);
    expect(t.sent.filter((s) => s.pairId === second.pairId).map((s) => s.at)).toEqual([50, 110]);
  });

  it('takes no RTT sample from a retransmitted transaction (Karn)', () => {
    const t = setup({ ...grid(1, 1) });
    t.scheduler.start();
    t.clock.advance(600);
    expect(t.sent).toHaveLength(2);
    expect(t.scheduler.onResponse(t.sent[0]!.attempt.transaction)).toBe(true);
    expect(t.scheduler.rtoFor({ address: '192.0.2.1', port: 2000 })).toBe(500);
  });

  it('ends the run at overallTimeoutMs, failing checks in progress as overall-timeout', () => {
    const t = setup({ ...grid(2, 2), overallTimeoutMs: 120, maxInFlight: 10 });
    t.scheduler.start();
    t.clock.advance(1000);
    expect(t.completed()).toMatchObject({ outcome: 'timeout', at: 120 });
    const states = t.scheduler.report().map((r) => [r.state, r.failure?.reason]);
    expect(states).toEqual([
      ['failed', 'overall-timeout'],
      ['failed', 'overall-timeout'],
      ['failed', 'overall-timeout'],
      ['waiting', undefined],
    ]);
    expect(t.clock.pendingTimers).toBe(0);
  });
});

describe('IceScheduler: survey mode', () => {
  it('checks every pair to completion and records each outcome and reason', () => {
    const { locals, remotes } = grid(2, 2);
    const dead = `${locals[1]!.address}:1000->${remotes[1]!.address}:2000`;
    // The agent will report this one refused (e.g. ICMP port unreachable).
    const refused = `${locals[1]!.address}:1000->${remotes[0]!.address}:2000`;
    const t = setup({ locals, remotes, answerAfter: (pair) => (pair.id === dead || pair.id === refused ? undefined : 15) });
    t.scheduler.start();
    t.clock.advance(150);
    expect(t.scheduler.onFailure(t.txOf(refused), 'unreachable', { detail: 'ICMP port unreachable' })).toBe(true);
    t.clock.runAll();
    expect(t.completed()).toMatchObject({ outcome: 'surveyed', counts: { succeeded: 2, failed: 2 } });
    const byId = Object.fromEntries(t.scheduler.report().map((r) => [r.pairId, r]));
    expect(byId[dead]).toMatchObject({ state: 'failed', failure: { reason: 'timeout' } });
    expect(byId[refused]).toMatchObject({ state: 'failed', failure: { reason: 'unreachable', detail: 'ICMP port unreachable' } });
    const ok = t.scheduler.report().filter((r) => r.state === 'succeeded');
    for (const r of ok) expect(r).toMatchObject({ valid: true, nominated: false, rttMs: 15 });
    expect(t.sent.some((s) => s.attempt.useCandidate)).toBe(false);
    expect(t.scheduler.running).toBe(false);
    expect(t.clock.pendingTimers).toBe(0);
  });

  it('works when the agent answers synchronously inside sendCheck', () => {
    const clock = new FakeClock();
    const { locals, remotes } = grid(3, 3);
    const checklist = Checklist.fromCandidates(locals, remotes, { role: 'controlled' });
    const scheduler: IceScheduler = new IceScheduler(checklist, {
      clock,
      mode: 'survey',
      sendCheck: (_pair, attempt) => scheduler.onResponse(attempt.transaction),
    });
    scheduler.start();
    clock.runAll();
    expect(scheduler.outcome).toBe('surveyed');
    expect(checklist.counts().succeeded).toBe(9);
  });

  it('turns a throwing sendCheck into a send-error failure', () => {
    const clock = new FakeClock();
    const { locals, remotes } = grid(1, 1);
    const scheduler = new IceScheduler(Checklist.fromCandidates(locals, remotes, { role: 'controlling' }), {
      clock,
      mode: 'survey',
      sendCheck: () => {
        throw new Error('EHOSTUNREACH');
      },
    });
    scheduler.start();
    clock.runAll();
    expect(scheduler.report()[0]).toMatchObject({ state: 'failed', failure: { reason: 'send-error', detail: 'EHOSTUNREACH' } });
    expect(scheduler.outcome).toBe('surveyed');
  });

  it('waits for end-of-candidates when the peer trickles (RFC 8838)', () => {
    const t = setup({ ...grid(1, 1), remoteCandidatesComplete: false, answerAfter: () => 5 });
    t.scheduler.start();
    t.clock.advance(1000);
    expect(t.completed()).toBeUndefined();
    const added = t.scheduler.addRemoteCandidate(cand({ address: '192.0.2.77', port: 2000 }));
    expect(added).toHaveLength(1);
    t.clock.advance(1000);
    expect(t.firstSends().map((s) => s.pairId)).toContain(added[0]!.id);
    expect(t.completed()).toBeUndefined();
    t.scheduler.endOfRemoteCandidates();
    expect(t.completed()).toMatchObject({ outcome: 'surveyed', counts: { succeeded: 2 } });
  });
});

describe('IceScheduler: connect mode', () => {
  it('controlling: nominates the best pair with USE-CANDIDATE once it is valid and stops', () => {
    const t = setup({ ...grid(3, 3), mode: 'connect', answerAfter: () => 10 });
    const best = t.checklist.pairs()[0]!.pair.id;
    t.scheduler.start();
    t.clock.advance(5000);
    const nomination = t.sent.find((s) => s.attempt.useCandidate);
    expect(nomination).toMatchObject({ pairId: best, at: 50, attempt: { triggered: true, role: 'controlling' } });
    // The nomination check is a new transaction, answered at 60 by the responder.
    expect(t.completed()).toMatchObject({ outcome: 'connected', selectedPairId: best, at: 60 });
    expect(t.scheduler.selectedPair?.nominated).toBe(true);
    expect(t.events.filter((e) => e.type === 'nominated').map((e) => e.pairId)).toEqual([best]);
    expect(t.firstSends().filter((s) => !s.attempt.useCandidate)).toHaveLength(1);
    expect(t.clock.pendingTimers).toBe(0);
  });

  it('controlling: waits for a higher-priority pending pair before nominating', () => {
    // A factor this large makes the cap (1 s) the bound: the better pair's 300 ms are waited for.
    const t = setup({ ...grid(2, 2), mode: 'connect', nominationWaitRttFactor: 100, answerAfter: (_pair, attempt) => (attempt.transaction === 1 ? 300 : 10) });
    const [best, second] = t.checklist.pairs().map((v) => v.pair.id);
    t.scheduler.start();
    t.clock.advance(5000);
    // The second pair succeeds at 60, but the best is still in progress: nomination waits for it (300).
    const nomination = t.sent.find((s) => s.attempt.useCandidate)!;
    expect(nomination.pairId).toBe(best);
    expect(nomination.at).toBe(300);
    expect(t.scheduler.report().find((r) => r.pairId === second)!.state).toBe('succeeded');
    expect(t.completed()).toMatchObject({ outcome: 'connected', selectedPairId: best });
  });

  it('controlling: a silent better pair keeps its chance for factor × r after its check, within nominationWaitMs', () => {
    const t = setup({ ...grid(2, 2), mode: 'connect', nominationWaitMs: 200, nominationWaitRttFactor: 100, answerAfter: (_p, a) => (a.transaction === 1 ? undefined : 10) });
    const second = t.checklist.pairs()[1]!.pair.id;
    t.scheduler.start();
    t.clock.advance(5000);
    const nomination = t.sent.find((s) => s.attempt.useCandidate)!;
    expect(nomination.pairId).toBe(second);
    // The best pair's check went out at 0: with r = 10 ms × 100 capped at 200 ms its chance ends at 200
    // (the wait would have ended at 60 + 200 at the latest).
    expect(nomination.at).toBe(200);
    const done = t.completed()!;
    expect(done).toMatchObject({ outcome: 'connected', selectedPairId: second });
    // The silent best pair was abandoned when the run ended.
    const best = t.scheduler.report()[0]!;
    expect(best).toMatchObject({ state: 'failed', failure: { reason: 'cancelled' } });
  });

  it('controlling: a better pair that has stayed silent longer than the valid pair\'s RTT does not delay nomination', () => {
    const t = setup({ ...grid(2, 2), mode: 'connect', taMs: 5, answerAfter: (_p, a) => (a.transaction === 1 ? undefined : 10) });
    const second = t.checklist.pairs()[1]!.pair.id;
    t.scheduler.start();
    t.clock.advance(5000);
    const nomination = t.sent.find((s) => s.attempt.useCandidate)!;
    expect(nomination.pairId).toBe(second);
    // Second pair sent at 5, valid at 15 (r = 10); the best pair's check left at 0 and had its 10 ms.
    expect(nomination.at).toBe(15);
    expect(t.completed()).toMatchObject({ outcome: 'connected', selectedPairId: second, at: 25 });
  });

  it('controlling: with no clean RTT sample (answered only after a retransmission) the answer delay is the yardstick, not the 1 s cap', () => {
    // The hole-punching case: every valid pair's first request was dropped, so Karn's rule leaves no sample.
    const t = setup({ ...grid(2, 2), mode: 'connect', taMs: 5, answerAfter: () => undefined, answerRetransmissionAfter: (_p, a) => (a.transaction === 1 ? undefined : 1) });
    t.scheduler.start();
    t.clock.advance(5000);
    const nomination = t.sent.find((s) => s.attempt.useCandidate)!;
    const firstValid = t.events.find((e) => e.type === 'pair-state' && e.to === 'succeeded')!;
    expect(nomination.at - firstValid.at).toBeLessThanOrEqual(1 + 5); // one answer delay + Ta, not 1,000 ms
  });

  it('controlling: the RTT-scaled window never drops below nominationMinWaitMs', () => {
    const t = setup({ ...grid(2, 2), mode: 'connect', taMs: 5, nominationMinWaitMs: 70, answerAfter: (_p, a) => (a.transaction === 1 ? undefined : 1) });
    t.scheduler.start();
    t.clock.advance(5000);
    const nomination = t.sent.find((s) => s.attempt.useCandidate)!;
    expect(nomination.at).toBe(70); // the best pair's check left at 0; 1 × 1 ms is below the 70 ms floor
  });

  for (const rtt of [100, 400]) {
    it(`controlling at ${rtt} ms RTT: host pairs between private addresses that never answer cost no wait; nomination follows the first valid pair within RTT + Ta`, () => {
      // The lab's port-restricted ↔ port-restricted case: two local bases (a LAN and a docker
      // bridge), the peer's private host and its server-reflexive address. Only base 10.0.0.1 →
      // the peer's srflx answers (through both NATs, after one RTT); everything else is silent.
      const locals = [cand({ address: '10.0.0.1', port: 1000 }), cand({ address: '172.17.0.1', port: 1001, localPreference: 60000 })];
      const remotes = [
        cand({ address: '192.168.1.2', port: 2000 }),
        cand({ type: 'srflx', address: '198.51.100.2', port: 40000, relatedAddress: '192.168.1.2', relatedPort: 2000 }),
      ];
      const works = (pair: CandidatePair): boolean => pair.localBase.address === '10.0.0.1' && pair.remote.address === '198.51.100.2';
      const taMs = 5;
      const t = setup({ locals, remotes, mode: 'connect', taMs, answerAfter: (pair) => (works(pair) ? rtt : undefined), answerRetransmissionAfter: (pair) => (works(pair) ? rtt : undefined) });
      t.scheduler.start();
      t.clock.advance(10 * rtt);
      const firstValid = t.events.find((e) => e.type === 'pair-state' && e.to === 'succeeded')!;
      const nomination = t.sent.find((s) => s.attempt.useCandidate)!;
      const done = t.completed()!;
      expect(done.outcome).toBe('connected');
      expect(works(t.scheduler.selectedPair!.pair)).toBe(true);
      // Higher-priority host pairs were still in progress, silent for a whole RTT: no wait for them.
      expect(t.checklist.pairs()[0]!.pair.remote.type).toBe('host');
      expect(nomination.at - firstValid.at).toBeLessThanOrEqual(rtt + taMs);
      expect(done.at - firstValid.at).toBeLessThanOrEqual(2 * rtt + taMs);
      // Under the old rule (8 × RTT, capped at 1 s) it would have been ≥ min(8 × rtt, 1000) + rtt.
      expect(done.at - firstValid.at).toBeLessThan(Math.min(8 * rtt, 1000) + rtt);
    });
  }

  it('controlling at 100 ms RTT: does not miss a clearly better pair whose check went out after the valid one', () => {
    // A triggered check (the peer's check arrived first) puts the lower pair ahead; the better
    // pair's check leaves one Ta later over a faster path (70 ms). The lower pair is valid first,
    // at 100; the better one still has its chance (sent at 50, r = 100) and answers at 120.
    const locals = [cand({ address: '10.0.0.1', port: 1000 })];
    const remotes = [cand({ address: '10.0.0.2', port: 2000 }), cand({ type: 'srflx', address: '198.51.100.2', port: 40000, relatedAddress: '10.0.0.2', relatedPort: 2000 })];
    const t = setup({ locals, remotes, mode: 'connect', taMs: 50, answerAfter: (pair) => (pair.remote.type === 'srflx' ? 100 : 70) });
    const [better, lower] = t.checklist.pairs().map((v) => v.pair);
    expect(better!.remote.type).toBe('host');
    t.scheduler.onIncomingCheck({ localBase: lower!.localBase, source: lower!.remote, priority: lower!.remote.priority, useCandidate: false });
    t.scheduler.start();
    t.clock.advance(1000);
    expect(t.firstSends().slice(0, 2).map((s) => [s.pairId, s.at])).toEqual([
      [lower!.id, 0],
      [better!.id, 50],
    ]);
    const firstValid = t.events.find((e) => e.type === 'pair-state' && e.to === 'succeeded')!;
    expect(firstValid).toMatchObject({ pairId: lower!.id, at: 100 });
    const nomination = t.sent.find((s) => s.attempt.useCandidate)!;
    expect(nomination.pairId).toBe(better!.id);
    expect(nomination.at).toBe(120);
    expect(t.completed()).toMatchObject({ outcome: 'connected', selectedPairId: better!.id });
  });

  it('controlling: a better pair that fails ends the wait at once', () => {
    const locals = [cand({ address: '10.0.0.1', port: 1000 })];
    const remotes = [cand({ address: '10.0.0.2', port: 2000 }), cand({ type: 'srflx', address: '198.51.100.2', port: 40000, relatedAddress: '10.0.0.2', relatedPort: 2000 })];
    const t = setup({ locals, remotes, mode: 'connect', taMs: 50, answerAfter: (pair) => (pair.remote.type === 'srflx' ? 100 : undefined) });
    const [better, lower] = t.checklist.pairs().map((v) => v.pair);
    t.scheduler.onIncomingCheck({ localBase: lower!.localBase, source: lower!.remote, priority: lower!.remote.priority, useCandidate: false });
    t.scheduler.start();
    t.clock.advance(110);
    expect(t.sent.some((s) => s.attempt.useCandidate)).toBe(false); // the better pair (sent at 50) has until 150
    t.scheduler.onFailure(t.txOf(better!.id), 'unreachable');
    expect(t.events.find((e) => e.type === 'nominating')).toMatchObject({ pairId: lower!.id, at: 110 });
  });

  it('controlled: selects the pair the peer nominates with USE-CANDIDATE (§7.3.1.5)', () => {
    const t = setup({ ...grid(2, 2), mode: 'connect', role: 'controlled', answerAfter: () => 10 });
    t.scheduler.start();
    t.clock.advance(1000);
    expect(t.completed()).toBeUndefined(); // all valid, waiting for the peer's nomination
    const pick = t.checklist.pairs()[2]!.pair;
    t.scheduler.onIncomingCheck({ localBase: pick.localBase, source: pick.remote, priority: pick.remote.priority, useCandidate: true });
    expect(t.completed()).toMatchObject({ outcome: 'connected', selectedPairId: pick.id });
    expect(t.sent.some((s) => s.attempt.useCandidate)).toBe(false);
  });

  it('controlled: times out when the peer never nominates', () => {
    const t = setup({ ...grid(1, 1), mode: 'connect', role: 'controlled', overallTimeoutMs: 2000, answerAfter: () => 10 });
    t.scheduler.start();
    t.clock.runAll();
    expect(t.completed()).toMatchObject({ outcome: 'timeout', at: 2000, counts: { succeeded: 1 } });
  });

  it('abandon ends a connect run as failed at once, marking checks in progress with the reason', () => {
    const t = setup({ ...grid(2, 1), mode: 'connect', pairTimeoutMs: 10_000 });
    t.scheduler.start();
    t.clock.advance(100);
    expect(t.scheduler.abandon('the traversal plan is relay-only')).toBe(true);
    expect(t.completed()).toMatchObject({ outcome: 'failed', at: 100 });
    const failed = t.checklist.pairs().filter((v) => v.state === 'failed');
    expect(failed.length).toBeGreaterThan(0);
    for (const view of failed) expect(view.failure).toMatchObject({ reason: 'cancelled', detail: expect.stringContaining('the traversal plan is relay-only') });
    expect(t.scheduler.abandon('again')).toBe(false);
  });

  it('abandon refuses once a pair is valid, and in survey mode', () => {
    const connect = setup({ ...grid(2, 2), mode: 'connect', answerAfter: (pair) => (pair.id === connect.checklist.pairs()[0]!.pair.id ? 5 : undefined) });
    connect.scheduler.start();
    connect.clock.advance(20);
    expect(connect.scheduler.abandon('too late')).toBe(false);
    expect(connect.completed()?.outcome).not.toBe('failed');
    const survey = setup({ ...grid(2, 1), mode: 'survey' });
    survey.scheduler.start();
    expect(survey.scheduler.abandon('survey checks every pair')).toBe(false);
    expect(survey.completed()).toBeUndefined();
  });

  it('fails when every pair fails', () => {
    const t = setup({ ...grid(2, 1), mode: 'connect', pairTimeoutMs: 1000 });
    t.scheduler.start();
    t.clock.runAll();
    expect(t.completed()).toMatchObject({ outcome: 'failed', at: 1050, counts: { failed: 2 } });
  });
});

describe('IceScheduler: triggered checks and role conflicts', () => {
  it('sends a triggered check ahead of the ordinary order at the next Ta slot (§7.3.1.4)', () => {
    const t = setup({ ...grid(3, 3), maxInFlight: 100 });
    const pairs = t.checklist.pairs().map((v) => v.pair);
    const lowest = pairs.at(-1)!;
    t.scheduler.start();
    t.clock.advance(10);
    t.scheduler.onIncomingCheck({ localBase: lowest.localBase, source: lowest.remote, priority: 1, useCandidate: false });
    t.clock.advance(100);
    expect(t.firstSends().map((s) => [s.at, s.pairId, s.attempt.triggered])).toEqual([
      [0, pairs[0]!.id, false],
      [50, lowest.id, true],
      [100, pairs[1]!.id, false],
    ]);
  });

  it('learns a prflx remote from an unknown source and checks the new pair first', () => {
    const t = setup({ ...grid(1, 2), maxInFlight: 100 });
    t.scheduler.start();
    const result = t.scheduler.onIncomingCheck({
      localBase: { address: '10.0.0.1', port: 1000 },
      source: { address: '198.51.100.200', port: 4444 },
      priority: computePriority('prflx', 65535),
      useCandidate: false,
    });
    expect(result.created).toBe(true);
    expect(t.events.some((e) => e.type === 'candidate-learned' && e.side === 'remote')).toBe(true);
    expect(t.events.some((e) => e.type === 'pair-added' && e.pairId === result.view.pair.id)).toBe(true);
    t.clock.advance(50);
    expect(t.firstSends()[1]).toMatchObject({ at: 50, pairId: '10.0.0.1:1000->198.51.100.200:4444' });
  });

  it('cancels the retransmissions of a check in progress when a triggered check replaces it', () => {
    const t = setup({ ...grid(1, 1) });
    const pair = t.checklist.pairs()[0]!.pair;
    t.scheduler.start();
    t.clock.advance(100);
    t.scheduler.onIncomingCheck({ localBase: pair.localBase, source: pair.remote, priority: 1, useCandidate: false });
    t.clock.advance(1000);
    // Transaction 1 (sent at 0) is not retransmitted at 500; transaction 2 starts at the next slot, 100.
    expect(t.sent.map((s) => [s.at, s.attempt.transaction, s.attempt.attempt])).toEqual([
      [0, 1, 1],
      [100, 2, 1],
      [600, 2, 2],
    ]);
  });

  it('accepts a late response to a cancelled check, and drops the queued re-check', () => {
    const t = setup({ ...grid(1, 2), maxInFlight: 1 });
    const [a, b] = t.checklist.pairs().map((v) => v.pair);
    t.scheduler.start(); // a is checked at 0
    t.clock.advance(10);
    t.scheduler.onIncomingCheck({ localBase: a!.localBase, source: a!.remote, priority: 1, useCandidate: false });
    expect(t.checklist.get(a!.id).state).toBe('waiting');
    t.clock.advance(10);
    expect(t.scheduler.onResponse(1)).toBe(true); // answers transaction 1, sent at 0 and cancelled at 10
    expect(t.checklist.get(a!.id).state).toBe('succeeded');
    t.clock.advance(100);
    expect(t.firstSends().map((s) => [s.at, s.pairId])).toEqual([
      [0, a!.id],
      [50, b!.id],
    ]);
  });

  it('keeps a pair Frozen until its foundation is free, then unfreezes it (§6.1.2.6, §7.2.5.3.3)', () => {
    // One local, two remote ports on one IP: both pairs share a foundation.
    const locals = [cand({ address: '10.0.0.1', port: 1000 })];
    const remotes = [cand({ address: '192.0.2.1', port: 2000 }), cand({ address: '192.0.2.1', port: 2001, localPreference: 60000 })];
    const t = setup({ locals, remotes, maxInFlight: 10, answerAfter: () => 200 });
    const [first, second] = t.checklist.pairs().map((v) => v.pair.id);
    t.scheduler.start();
    t.clock.advance(150);
    expect(t.firstSends().map((s) => s.pairId)).toEqual([first]);
    expect(t.checklist.get(second!).state).toBe('frozen');
    t.clock.advance(50); // first succeeds at 200: its foundation's Frozen pairs become Waiting
    expect(t.checklist.get(second!).state).toBe('in-progress');
    expect(t.firstSends().map((s) => [s.at, s.pairId])).toEqual([
      [0, first],
      [200, second],
    ]);
  });

  it('on 487 switches role, re-checks the pair as triggered, and gives up after maxRoleConflictsPerPair', () => {
    const locals = [cand({ address: '10.0.0.1', port: 1000, localPreference: 100 })];
    const t = setup({ locals, remotes: grid(1, 1).remotes, maxRoleConflictsPerPair: 2 });
    const pairId = t.checklist.pairs()[0]!.pair.id;
    const before = t.checklist.get(pairId).pair.priority;
    t.scheduler.start();
    expect(t.scheduler.onRoleConflict(t.txOf(pairId))).toBe(true);
    expect(t.scheduler.role).toBe('controlled');
    expect(t.checklist.get(pairId).pair.priority).not.toBe(before);
    expect(t.events.find((e) => e.type === 'role-changed')).toMatchObject({ from: 'controlling', to: 'controlled', reason: 'role-conflict-response' });
    t.clock.advance(50);
    expect(t.sent.at(-1)).toMatchObject({ at: 50, attempt: { triggered: true, role: 'controlled', transaction: 2 } });
    t.scheduler.onRoleConflict(t.txOf(pairId));
    t.clock.advance(50);
    expect(t.scheduler.role).toBe('controlling');
    t.scheduler.onRoleConflict(t.txOf(pairId));
    expect(t.scheduler.report()[0]).toMatchObject({ state: 'failed', failure: { reason: 'role-conflict', errorCode: 487 } });
  });

  it('ignores responses and failures for transactions that are not open', () => {
    const t = setup({ ...grid(1, 2) });
    t.scheduler.start();
    expect(t.scheduler.onResponse(99)).toBe(false);
    expect(t.scheduler.onFailure(99, 'timeout')).toBe(false);
    expect(t.scheduler.onRoleConflict(99)).toBe(false);
    expect(t.scheduler.onUnauthenticatedResponse(99, 'bad')).toBe(false);
    // A transaction answered once is over: a second answer (to a retransmission) is ignored.
    expect(t.scheduler.onResponse(1)).toBe(true);
    expect(t.scheduler.onResponse(1)).toBe(false);
  });

  it('stop() ends the run and leaves no timer behind', () => {
    const t = setup({ ...grid(2, 2) });
    t.scheduler.start();
    t.clock.advance(60);
    t.scheduler.stop();
    expect(t.completed()).toMatchObject({ outcome: 'stopped' });
    expect(t.clock.pendingTimers).toBe(0);
    expect(t.scheduler.report().filter((r) => r.failure?.reason === 'cancelled')).toHaveLength(2);
  });
});
