/** Traversal in the reports: the peer v2 JSON and table, trials v2 JSON, table and JUnit, and plain lines. */
import { describe, expect, it } from 'vitest';
import type { PeerEvent, TrialDoneEvent } from '../../src/events.js';
import { describePeerSession } from '../../src/peer/session-view.js';
import { trialOutcome } from '../../src/peer/trials-outcome.js';
import { buildPeerReport, PEER_SCHEMA } from '../../src/report/peer-report.js';
import { renderPeerTable } from '../../src/report/peer-table.js';
import { renderTrialsJunit } from '../../src/report/trials-junit.js';
import { formatPeerEventLine, formatTrialEventLine } from '../../src/report/trials-lines.js';
import { buildTrialsReport } from '../../src/report/trials-report.js';
import { renderTrialsTable } from '../../src/report/trials-table.js';
import { formatProbability } from '../../src/report/traversal-format.js';
import { connectedSession, failedSession, outcome } from '../peer/trials-fixtures.js';
import { BIRTHDAY_ATTEMPT, BIRTHDAY_PLAN, birthdaySession, birthdayTraversal, LOCAL_BEHAVIOUR, REMOTE_BEHAVIOUR } from './traversal-fixtures.js';
import { sampleResult } from './trials-fixtures.js';

const meta = { version: '0', startedAt: new Date(0), durationMs: 1500, mode: 'connect' as const };
const peerReport = (session = birthdaySession()) => buildPeerReport({ ...session, room: 'lab' }, describePeerSession(session), meta);

describe('peer report v2: traversal', () => {
  it('is nat-probe.peer/v2 with a traversal object: requested, plan, both behaviours, attempts, ladder and winner, times rounded', () => {
    const report = JSON.parse(JSON.stringify(peerReport())) as Record<string, any>;
    expect(PEER_SCHEMA).toBe('nat-probe.peer/v2');
    expect(report.schema).toBe('nat-probe.peer/v2');
    expect(report.traversal).toEqual({
      requested: ['predict', 'birthday', 'relay-ladder'],
      localBehaviour: LOCAL_BEHAVIOUR,
      remoteBehaviour: REMOTE_BEHAVIOUR,
      plan: { technique: 'birthday', localDuty: 'prober', remoteDuty: 'opener', reason: BIRTHDAY_PLAN.reason, probability: 0.98765 },
      attempts: [{ strategy: 'birthday', duty: 'prober', startedAtMs: 120, endedAtMs: 1320.1, probesSent: 300, socketsOpened: 0, hit: true, stopReason: 'hit' }],
      ladder: [
        { rung: 'relay-udp', startedAtMs: 10, endedAtMs: 5010, ok: false, detail: 'no answer from turn:203.0.113.1:3478?transport=udp' },
        { rung: 'relay-tcp', startedAtMs: 10, endedAtMs: 42.6, ok: true },
      ],
      winner: 'birthday',
    });
    expect(report.selectedPair).toEqual({ pairType: 'srflx/prflx', local: '198.51.100.2:40000', remote: '203.0.113.7:51234', rttMs: 21, foundBy: 'birthday' });
    // The order of the document: traversal before the exit code, as in the README.
    expect(Object.keys(report).slice(-2)).toEqual(['traversal', 'exitCode']);
  });

  it('has no traversal and no foundBy without strategies (every v1 field as before)', () => {
    const report = peerReport(connectedSession());
    expect(report).not.toHaveProperty('traversal');
    expect(report.selectedPair).not.toHaveProperty('foundBy');
    expect(renderPeerTable(report)).not.toContain('Traversal');
  });

  it('a session without behaviour from the other peer keeps the plan and omits remoteBehaviour', () => {
    const plan = { technique: 'unknown' as const, localDuty: 'none' as const, remoteDuty: 'none' as const, reason: 'the other peer sent no NAT behaviour (an older nat-probe, or no strategies asked for): plain ICE only' };
    const report = peerReport(birthdaySession(birthdayTraversal({ remoteBehaviour: undefined, plan, attempts: [], ladder: [], winner: 'ice' })));
    expect(report.traversal).not.toHaveProperty('remoteBehaviour');
    expect(report.selectedPair?.foundBy).toBe('ice');
    const table = renderPeerTable(report);
    expect(table).toMatch(/Plan\s+│ unknown\s/);
    expect(table).toMatch(/Other side\s+│ not known/);
    expect(table).toMatch(/Strategies\s+│ none ran/);
    expect(table).not.toContain('Relay ladder');
    expect(table).not.toContain('found by');
    expect(table).toMatch(/Path won by\s+│ plain ICE \(ice\)/);
  });

  it('the table has a traversal section: plan and reason, each attempt, the ladder with times, and the winner; the selected pair says who found it', () => {
    const table = renderPeerTable(peerReport());
    const flat = table.replace(/\s*│\s*/g, ' ').replace(/\s+/g, ' ');
    expect(table).toMatch(/Traversal\s+│ requested predict, birthday, relay-ladder/);
    expect(flat).toContain('birthday · this side probes, the other opens · P≈98.8%');
    expect(flat).toContain('it opens 256 sockets, this side probes random ports');
    expect(flat).toContain('mapping endpoint-independent · filtering address-and-port-dependent · ports preserved · public 198.51.100.2');
    expect(flat).toContain('mapping address-and-port-dependent');
    expect(flat).toContain('birthday (probes): 300 probes, 0 sockets, hit · stopped: hit · 1.20 s from 120 ms');
    expect(flat).toContain('relay-udp FAILED at 10 ms → 5.01 s (5.00 s): no answer');
    expect(flat).toContain('relay-tcp ok at 10 ms → 43 ms (33 ms)');
    expect(flat).toContain('Path won by birthday probing (birthday)');
    expect(flat).toContain('srflx/prflx 198.51.100.2:40000 → 203.0.113.7:51234 rtt 21 ms prflx path found by birthday probing (birthday)');
    // The section sits between the summary and the pair table.
    expect(table.indexOf('Path won by')).toBeGreaterThan(table.indexOf('Remote candidates'));
    expect(table.indexOf('Path won by')).toBeLessThan(table.indexOf('Tries'));
  });

  it.each([
    [0.98765, '98.8%'],
    [0.05, '5.0%'],
    [0.000126, '0.013%'],
    [0.99995, '>99.9%'],
    [1, '100%'],
    [0, '0%'],
  ])('probability %d reads %s', (p, text) => {
    expect(formatProbability(p)).toBe(text);
  });
});

describe('plain lines: traversal events', () => {
  it.each<[PeerEvent, string]>([
    [
      { type: 'traversal-plan', at: 1, trial: 0, plan: BIRTHDAY_PLAN },
      `traversal plan birthday · this side probes, the other opens · P≈98.8%: ${BIRTHDAY_PLAN.reason}`,
    ],
    [
      { type: 'traversal-plan', at: 1, trial: 0, plan: { technique: 'ice', localDuty: 'none', remoteDuty: 'none', reason: 'plain ICE connects' } },
      'traversal plan ice: plain ICE connects',
    ],
    [{ type: 'traversal-progress', at: 2, trial: 0, strategy: 'birthday', probesSent: 256, budget: 1024, socketsOpened: 256 }, 'traversal birthday 256/1024 probes, 256 sockets'],
    [{ type: 'traversal-done', at: 3, trial: 0, attempt: BIRTHDAY_ATTEMPT }, 'traversal birthday (probes): 300 probes, 0 sockets, hit · stopped: hit · 1.20 s from 120 ms'],
    [
      { type: 'traversal-done', at: 3, trial: 0, attempt: { ...BIRTHDAY_ATTEMPT, strategy: 'predict', duty: 'opener', probesSent: 0, socketsOpened: 0, hit: false, stopReason: 'ice-connected', startedAtMs: 5, endedAtMs: 9 } },
      'traversal predict (opens): 0 probes, 0 sockets, no hit · stopped: ice-connected · 4.0 ms from 5.0 ms',
    ],
  ])('%j', (event, line) => {
    expect(formatPeerEventLine(event)).toBe(line);
  });

  it('a trial line names the winning path when strategies ran, and only then', () => {
    const done: TrialDoneEvent = { type: 'trial-done', at: 1, trial: 2, connected: true, timeToConnectMs: 1300, pairType: 'srflx/prflx', finished: 2, planned: 10, succeeded: 2 };
    expect(formatTrialEventLine({ ...done, winner: 'birthday' })).toBe('trial  2/10  connected  srflx/prflx  1.30 s  via birthday');
    expect(formatTrialEventLine(done)).toBe('trial  2/10  connected  srflx/prflx  1.30 s');
  });
});

describe('trials v2: traversal', () => {
  /** Four trials: birthday won two, ICE one, one failed after a birthday attempt that missed. */
  function traversalResult() {
    const won = (trial: number) =>
      trialOutcome({ trial, room: `r-${trial}`, durationMs: 1400, sessions: [{ ok: true, result: birthdaySession() }, { ok: true, result: birthdaySession(birthdayTraversal({ attempts: [{ ...BIRTHDAY_ATTEMPT, duty: 'opener', probesSent: 0, socketsOpened: 256 }] })) }] });
    const ice = trialOutcome({
      trial: 3,
      room: 'r-3',
      durationMs: 10,
      sessions: [
        { ok: true, result: { ...connectedSession(), traversal: birthdayTraversal({ plan: { technique: 'ice', localDuty: 'none', remoteDuty: 'none', reason: 'plain ICE connects' }, attempts: [], winner: 'ice' }) } },
        { ok: true, result: connectedSession() },
      ],
    });
    const missed = birthdayTraversal({ attempts: [{ ...BIRTHDAY_ATTEMPT, hit: false, stopReason: 'budget', probesSent: 1024 }], winner: 'none' });
    const failed = trialOutcome({ trial: 4, room: 'r-4', durationMs: 5000, sessions: [{ ok: true, result: { ...failedSession([]), traversal: missed } }, { ok: false, error: new Error('boom') }] });
    return sampleResult([won(1), won(2), ice, failed]);
  }

  it('each trial carries its winner, plan and the probes and sockets of both peers', () => {
    const result = traversalResult();
    expect(result.outcomes[0]!.traversal).toEqual({ winner: 'birthday', plan: { technique: 'birthday', reason: BIRTHDAY_PLAN.reason, probability: 0.98765 }, probesSent: 300, socketsOpened: 256 });
    expect(result.outcomes[2]!.traversal).toMatchObject({ winner: 'ice', plan: { technique: 'ice' }, probesSent: 0, socketsOpened: 0 });
    expect(result.outcomes[3]!.traversal).toMatchObject({ winner: 'none', probesSent: 1024, socketsOpened: 0 });
  });

  it('the summary counts wins per path (every path listed), plans, and total probes and sockets', () => {
    const report = buildTrialsReport(traversalResult(), { version: '1', minSuccess: 0.5 });
    expect(report.schema).toBe('nat-probe.trials/v2');
    expect(report.summary.traversal).toEqual({
      trials: 4,
      wins: { ice: 1, predict: 0, birthday: 2, portmap: 0, 'relay-udp': 0, 'relay-tcp': 0, 'relay-tls': 0 },
      byTechnique: [
        { technique: 'birthday', trials: 3 },
        { technique: 'ice', trials: 1 },
      ],
      probesSent: 300 + 300 + 1024,
      socketsOpened: 512,
    });
    const json = JSON.parse(JSON.stringify(report)) as Record<string, any>;
    expect(json.trials[0].traversal.winner).toBe('birthday');
  });

  it('without strategies there is no traversal anywhere in the document', () => {
    const report = buildTrialsReport(sampleResult(), { version: '1' });
    expect(report.summary).not.toHaveProperty('traversal');
    expect(report.config).not.toHaveProperty('traversal');
    expect(report.trials.some((t) => 'traversal' in t)).toBe(false);
    expect(renderTrialsTable(report)).not.toContain('Won by');
    expect(renderTrialsJunit(report)).not.toContain('traversal');
  });

  it('the table shows the strategies asked for, wins per path, plans and the cost', () => {
    const base = traversalResult();
    const result = {
      ...base,
      config: {
        ...base.config,
        traversal: {
          strategies: ['predict', 'birthday', 'relay-ladder'] as const,
          predict: { window: 50, repeats: 2, ratePerSecond: 200 },
          birthday: { sockets: 256, budget: 1024, ratePerSecond: 200, allowRandomPair: true },
        },
      },
    };
    const flat = renderTrialsTable(buildTrialsReport(result, { version: '1' }))
      .replace(/\s*│\s*/g, ' ')
      .replace(/\s+/g, ' ');
    expect(flat).toContain('Strategies predict (window 50 × 2), birthday (256 sockets, budget 1024, random pair allowed), relay-ladder · 200 probes/s');
    expect(flat).toContain('Won by ice 1 · predict 0 · birthday 2 · portmap 0 · relay-udp 0 · relay-tcp 0 · relay-tls 0');
    expect(flat).toContain('Plans birthday 3 · ice 1');
    expect(flat).toContain('Traversal cost 1624 probes, 512 sockets over 4 trial(s), both peers');
  });

  it('JUnit carries the wins per path and the cost as properties, and a failed trial its plan', () => {
    const base = traversalResult();
    const xml = renderTrialsJunit(buildTrialsReport({ ...base, config: { ...base.config, traversal: { strategies: ['birthday'] } } }, { version: '1', minSuccess: 0.5 }));
    expect(xml).toContain('<property name="strategies" value="birthday"/>');
    expect(xml).toContain('<property name="traversalWins.birthday" value="2"/>');
    expect(xml).toContain('<property name="traversalWins.ice" value="1"/>');
    expect(xml).toContain('<property name="traversalWins.relay-tls" value="0"/>');
    expect(xml).toContain('<property name="traversalProbesSent" value="1624"/>');
    expect(xml).toContain('<property name="traversalSocketsOpened" value="512"/>');
    expect(xml).toContain('traversal: plan birthday — the other side maps per destination');
    expect(xml).toContain('1024 probes, 0 sockets');
    // Testcase names stay as they were, so CI history lines up across runs.
    expect(xml).toContain('name="trial 1 srflx/prflx"');
  });

  it('an outcome without traversal fixtures keeps working in the summary', () => {
    const result = sampleResult([outcome(1), outcome(2, { traversal: { winner: 'predict', plan: { technique: 'predict', reason: 'r' }, probesSent: 100, socketsOpened: 0 } })]);
    expect(result.summary.traversal).toMatchObject({ trials: 1, wins: { predict: 1, ice: 0 }, probesSent: 100 });
  });
});
