/**
 * `lab matrix --strategy`: parsing the variants, pairing and summarising each variant's trials
 * (probes, sockets, plan, winner, uplift against ice), judging a cell with variants, the
 * realistic mix (hand-checkable numbers and the published distribution), the worker's session
 * loop and line protocol, and the runner passing variants through (fake cells). Pure: no lab.
 */
import { describe, expect, it } from 'vitest';
import { combineTraversal, judgeCell, NO_TRAVERSAL_REPORT, pairSessions, relayOnlyVerdict, summarizeTrialSet, summarizeVariant, traversalOf, uplift } from '../../src/lab/matrix-compare.js';
import { sessionsBoundMs, workerArguments } from '../../src/lab/matrix-cell.js';
import { MATRIX_DEFAULTS, planMatrix } from '../../src/lab/matrix-plan.js';
import { runMatrix } from '../../src/lab/matrix.js';
import type { MatrixCellPlan, MatrixSessionRecord, MatrixTrial, MatrixVariant, TrialTraversal } from '../../src/lab/matrix-types.js';
import { baselineVariant, ICE_VARIANT, onlyIce, parseStrategyVariants, variantRoomPrefix } from '../../src/lab/matrix-variants.js';
import { runVariantSessions } from '../../src/lab/matrix-worker.js';
import { parseWorkerLine, sessionTraversal } from '../../src/lab/matrix-worker-lines.js';
import { CLAIMED_UPLIFT, DEFAULT_DISTRIBUTION, matrixMix, natMix, pairWeight, validDistribution, type NatTypeDistribution } from '../../src/lab/nat-mix.js';
import { LabSpecError, NAT_TYPES, type NatType } from '../../src/lab/index.js';
import type { LabMatrixEvent } from '../../src/events.js';
import type { PeerResult, PeerSessionOptions } from '../../src/peer/session.js';
import { StrategyNameError, type TraversalReport } from '../../src/traversal/types.js';
import { rightDetect, sampleMatrix, strategyTrials, TIMINGS, trials } from './matrix-fixtures.js';

const ALL: MatrixVariant = { name: 'all', strategies: ['predict', 'birthday', 'relay-ladder', 'portmap'] };
const BIRTHDAY: MatrixVariant = { name: 'birthday', strategies: ['birthday'] };

const plan = (a: NatType, b: NatType): MatrixCellPlan => planMatrix({ types: [a, b] }).find((p) => p.a === a && p.b === b)!;

const birthdayTraversal = (probes: number, sockets: number, winner: TrialTraversal['winner']): TrialTraversal => ({
  winner,
  probesSent: probes,
  socketsOpened: sockets,
  plan: { technique: 'birthday', reason: 'the other side is hard (destination-dependent mapping, random ports)', probability: 0.983 },
});

describe('--strategy variants', () => {
  it('makes one variant per element, in order, without duplicates; all expands, ice adds nothing', () => {
    expect(parseStrategyVariants('ice,predict,birthday,all')).toEqual([
      { name: 'ice', strategies: [] },
      { name: 'predict', strategies: ['predict'] },
      { name: 'birthday', strategies: ['birthday'] },
      { name: 'all', strategies: ['predict', 'birthday', 'relay-ladder', 'portmap'] },
    ]);
    expect(parseStrategyVariants(' all , ice,all,')).toEqual([ALL, ICE_VARIANT]);
    expect(parseStrategyVariants('relay-ladder')).toEqual([{ name: 'relay-ladder', strategies: ['relay-ladder'] }]);
    expect(onlyIce(parseStrategyVariants('ice'))).toBe(true);
    expect(onlyIce(parseStrategyVariants('ice,all'))).toBe(false);
  });

  it('rejects an unknown name with parseStrategyList’s one-line message, and an empty list', () => {
    expect(() => parseStrategyVariants('ice,bday')).toThrow(StrategyNameError);
    try {
      parseStrategyVariants('ice,bday');
    } catch (error) {
      expect((error as StrategyNameError).code).toBe('unknown-strategy');
      expect((error as Error).message).toBe('Unknown strategy "bday": use ice, predict, birthday, relay-ladder, portmap or all, separated by commas.');
    }
    expect(() => parseStrategyVariants(' , ')).toThrow(LabSpecError);
  });

  it('judges ice exactly when it ran (else the first variant), and names the rooms', () => {
    expect(baselineVariant([ALL, ICE_VARIANT]).name).toBe('ice');
    expect(baselineVariant([BIRTHDAY, ALL]).name).toBe('birthday');
    expect(variantRoomPrefix(ICE_VARIANT)).toBe('direct');
    expect(variantRoomPrefix(ALL)).toBe('direct-all');
  });

  it('gives strategy variants a longer bound only where plain ICE is expected to fail', () => {
    const cells = planMatrix({ types: ['port-restricted', 'symmetric'] });
    const ok = cells.find((p) => p.id === 'port-restricted~port-restricted')!;
    const hard = cells.find((p) => p.id === 'port-restricted~symmetric')!;
    expect(ok.strategyTimeoutMs).toBe(MATRIX_DEFAULTS.successTimeoutMs);
    expect(hard.strategyTimeoutMs).toBe(MATRIX_DEFAULTS.strategyTimeoutMs);
    // Per trial: ice 3.5 s + 2 s, all 12 s + 2 s; two trials, no TURN, plus the margin.
    expect(sessionsBoundMs(hard, 2, [ICE_VARIANT, ALL], false)).toBe(2 * (3_500 + 2_000 + 12_000 + 2_000) + 10_000);
  });
});

const record = (index: number, connected: boolean, traversal?: MatrixSessionRecord['traversal']): MatrixSessionRecord => ({
  index,
  room: `direct-all-${index}`,
  connected,
  totalMs: 100,
  ...(connected ? { timeToConnectMs: 100 * index, pairType: 'prflx/srflx' } : { failureReason: 'timeout' }),
  ...(traversal !== undefined ? { traversal } : {}),
});

describe('a variant’s trials', () => {
  it('pairs both sides with side A’s plan and winner, and both sides’ probes and sockets', () => {
    const prober = { winner: 'birthday' as const, probesSent: 300, socketsOpened: 0, plan: { technique: 'birthday' as const, reason: 'A probes', probability: 0.98 } };
    const opener = { winner: 'birthday' as const, probesSent: 0, socketsOpened: 256, plan: { technique: 'birthday' as const, reason: 'B opens', probability: 0.98 } };
    const [trial] = pairSessions(1, [record(1, true, prober)], [record(1, true, opener)], { withTraversal: true });
    expect(trial).toEqual({ index: 1, connected: true, timeToConnectMs: 100, pairType: 'prflx/srflx', traversal: { winner: 'birthday', probesSent: 300, socketsOpened: 256, plan: { technique: 'birthday', reason: 'A probes', probability: 0.98 } } });
    // Without the option, trials are as before variants.
    expect(pairSessions(1, [record(1, true, prober)], [record(1, true, opener)])[0]).not.toHaveProperty('traversal');
  });

  it('counts a missing report as plan unknown, winner ice when connected (none otherwise), 0 probes, 0 sockets', () => {
    expect(combineTraversal(record(1, true), record(1, true), true)).toEqual({ winner: 'ice', probesSent: 0, socketsOpened: 0, plan: { technique: 'unknown', reason: NO_TRAVERSAL_REPORT } });
    expect(combineTraversal(undefined, record(1, false), false).winner).toBe('none');
    // A side that connected while the other did not is no winner either.
    const won = { winner: 'predict' as const, probesSent: 40, socketsOpened: 0, plan: { technique: 'predict' as const, reason: 'r' } };
    expect(combineTraversal(record(1, true, won), record(1, false), false)).toMatchObject({ winner: 'none', probesSent: 40 });
    // Side B's plan when A sent none.
    expect(combineTraversal(record(1, false), record(1, false, won), false).plan.technique).toBe('predict');
    expect(traversalOf({ index: 1, connected: false })).toMatchObject({ winner: 'none', plan: { technique: 'unknown' } });
  });

  it('summarises success, p50 time, median probes and sockets, the commonest plan and the winners', () => {
    const all = strategyTrials(4, 3, (i, connected) => birthdayTraversal([0, 100, 300, 200, 900][i]!, 256, connected ? 'birthday' : 'none'), (i) => [0, 900, 700, 800][i]!);
    const ice = summarizeTrialSet('direct', trials(4, 1));
    const v = summarizeVariant(ALL, all, false, ice);
    expect(v.trials).toMatchObject({ runs: 4, succeeded: 3, successRate: 0.75, timeToConnectP50Ms: 800 });
    // Probes per trial 100, 300, 200, 900 → p50 (nearest rank) 200; sockets 256 every trial.
    expect(v.probesP50).toBe(200);
    expect(v.socketsP50).toBe(256);
    expect(v.plan).toEqual({ technique: 'birthday', reason: 'the other side is hard (destination-dependent mapping, random ports)', probability: 0.983 });
    expect(v.techniques).toEqual([{ technique: 'birthday', count: 4 }]);
    expect(v.winners).toEqual([
      { winner: 'birthday', count: 3 },
      { winner: 'none', count: 1 },
    ]);
    // 75 % against ice's 25 %: +50 points, three times the rate (+200 %).
    expect(v.uplift).toEqual({ points: 50, relative: 2 });
    expect(v.matchesTheory).toBe(true);
  });

  it('computes uplift in points and relative, with no ratio when ice connected nothing', () => {
    expect(uplift(0.75, 0.5)).toEqual({ points: 25, relative: 0.5 });
    expect(uplift(0.5, 0.75)).toEqual({ points: -25, relative: -1 / 3 });
    expect(uplift(1, 0)).toEqual({ points: 100, relative: null });
    expect(summarizeVariant(ICE_VARIANT, trials(2, 2), true, summarizeTrialSet('direct', trials(2, 2))).uplift).toBeNull();
    expect(summarizeVariant(ALL, trials(2, 2), true, undefined).uplift).toBeNull();
  });
});

describe('judging a cell with variants', () => {
  const measure = (p: MatrixCellPlan, variants: { variant: MatrixVariant; trials: MatrixTrial[] }[]) =>
    judgeCell(p, { detect: { a: rightDetect(p, 'a'), b: rightDetect(p, 'b') }, direct: variants[0]!.trials, variants, timings: TIMINGS });

  it('takes rescued trials as uplift where theory says ICE fails, and keeps direct the ice trials', () => {
    const hard = plan('port-restricted', 'symmetric');
    const cell = measure(hard, [
      { variant: ICE_VARIANT, trials: trials(3, 0) },
      { variant: ALL, trials: strategyTrials(3, 3, () => birthdayTraversal(200, 256, 'birthday')) },
    ]);
    expect(cell.mismatch).toBe(false);
    expect(cell.direct.succeeded).toBe(0);
    expect(cell.variants.map((v) => [v.variant.name, v.trials.succeeded, v.uplift?.points ?? null])).toEqual([
      ['ice', 0, null],
      ['all', 3, 100],
    ]);
    expect(cell.variants[1]!.uplift!.relative).toBeNull();
    expect(cell.relayOnly).toBeUndefined();
  });

  it('flags a strategy variant that loses a trial plain ICE wins by theory', () => {
    const easy = plan('port-restricted', 'port-restricted');
    const cell = measure(easy, [
      { variant: ICE_VARIANT, trials: trials(3, 3) },
      { variant: ALL, trials: trials(3, 2) },
    ]);
    expect(cell.mismatch).toBe(true);
    expect(cell.directMatchesTheory).toBe(true);
    expect(cell.problems).toEqual(['variant all: 2/3 connected where plain ICE connects every trial by theory; a strategy must not lose one']);
  });

  it('calls a cell relay-only when the plan says so (reason, probability), or when no variant connected', () => {
    const refused = { winner: 'none' as const, probesSent: 0, socketsOpened: 0, plan: { technique: 'relay-only' as const, reason: 'both sides are hard: 256 sockets × 1024 probes would almost never meet, so only a relay reaches this pair', probability: 0.00025 } };
    const ss = plan('symmetric', 'symmetric');
    const cell = measure(ss, [
      { variant: ICE_VARIANT, trials: trials(2, 0) },
      { variant: BIRTHDAY, trials: strategyTrials(2, 0, () => ({ ...refused, plan: { technique: 'unknown', reason: 'x' } })) },
      { variant: ALL, trials: strategyTrials(2, 0, () => refused) },
    ]);
    expect(cell.relayOnly).toEqual({ reason: refused.plan.reason, probability: 0.00025, variant: 'all' });
    expect(cell.mismatch).toBe(false);
    // Planned birthday, but nothing connected in any variant.
    const measured = relayOnlyVerdict([
      summarizeVariant(ICE_VARIANT, trials(2, 0), false, undefined),
      summarizeVariant(BIRTHDAY, strategyTrials(2, 0, () => birthdayTraversal(1024, 256, 'none')), false, undefined),
    ]);
    expect(measured).toEqual({ reason: 'no variant connected a trial (birthday planned birthday: the other side is hard (destination-dependent mapping, random ports))', probability: 0.983, variant: 'birthday' });
    // Plain ICE only: never "relay-only" (no technique was tried).
    expect(measure(ss, [{ variant: ICE_VARIANT, trials: trials(2, 0) }]).relayOnly).toBeUndefined();
  });

  it('is not relay-only when a wider variant connected with a direct technique (portmap) while a narrower one planned relay-only', () => {
    const refused = { winner: 'none' as const, probesSent: 0, socketsOpened: 0, plan: { technique: 'relay-only' as const, reason: 'both sides are hard', probability: 0.00025 } };
    const mapped = { winner: 'portmap' as const, probesSent: 0, socketsOpened: 0, plan: { technique: 'portmap' as const, reason: "this side's gateway mapped its ICE port" } };
    const cell = measure(plan('symmetric', 'symmetric'), [
      { variant: ICE_VARIANT, trials: trials(2, 0) },
      { variant: BIRTHDAY, trials: strategyTrials(2, 0, () => refused) },
      { variant: ALL, trials: strategyTrials(2, 2, () => mapped) },
    ]);
    expect(cell.relayOnly).toBeUndefined();
    expect(cell.mismatch).toBe(false);
  });
});

describe('realistic mix', () => {
  const half: NatTypeDistribution = {
    id: 'test',
    label: 'test',
    citation: 'test',
    mapping: 'test',
    shares: { none: 0.5, symmetric: 0.5, firewall: 0, 'full-cone': 0, restricted: 0, 'port-restricted': 0, 'addr-dependent': 0, 'symmetric-sequential': 0 },
  };

  it('weights unordered pairs p(a)·p(b), twice for a ≠ b', () => {
    expect(pairWeight('none', 'none', half.shares)).toBe(0.25);
    expect(pairWeight('none', 'symmetric', half.shares)).toBe(0.5);
    expect(pairWeight('symmetric', 'none', half.shares)).toBe(0.5);
    expect(pairWeight('none', 'firewall', half.shares)).toBe(0);
  });

  it('gives each variant’s overall success and all over ice (hand-checked)', () => {
    // none~none (¼) and none~symmetric (½) connect in both; symmetric~symmetric (¼) only with all.
    const cells = [
      { a: 'none' as const, b: 'none' as const, rates: { ice: 1, all: 1 } },
      { a: 'none' as const, b: 'symmetric' as const, rates: { ice: 1, all: 1 } },
      { a: 'symmetric' as const, b: 'symmetric' as const, rates: { ice: 0, all: 0.5 } },
    ];
    const mix = natMix(cells, ['ice', 'all'], half);
    expect(mix.coverage).toBe(1);
    // ice: ¼ + ½ = 0.75; all: 0.75 + ¼·½ = 0.875; relative (0.875 − 0.75) / 0.75 = 1/6.
    expect(mix.variants.map((v) => [v.name, v.success])).toEqual([
      ['ice', 0.75],
      ['all', 0.875],
    ]);
    expect(mix.variants[0]!.relativeUplift).toBeNull();
    expect(mix.variants[1]!.relativeUplift).toBeCloseTo(1 / 6, 12);
    expect(mix.allOverIce).toMatchObject({ ice: 0.75, all: 0.875 });
    expect(mix.allOverIce!.relative).toBeCloseTo(1 / 6, 12);
    expect(mix.claimed).toBe(CLAIMED_UPLIFT);
    // A reduced matrix: renormalised over the weight it covers.
    const reduced = natMix(cells.slice(1), ['ice', 'all'], half);
    expect(reduced.coverage).toBe(0.75);
    expect(reduced.variants[0]!.success).toBeCloseTo(0.5 / 0.75, 12);
    expect(natMix([], ['ice'], half).variants[0]!.success).toBe(0);
    expect(natMix(cells, ['all'], half).allOverIce).toBeNull();
  });

  it('uses Halkes & Pouwelse 2011 Fig. 3 by default: every lab type, summing to 1', () => {
    expect(validDistribution(DEFAULT_DISTRIBUTION)).toBe(true);
    const s = DEFAULT_DISTRIBUTION.shares;
    // EIM-EIF 0.21 over none and full-cone, EIM-APDF 0.57 over firewall and port-restricted, EIM-ADF 0.07,
    // A(P)DM 0.105 over three types; blocked 0.045 left out.
    expect(s.none).toBeCloseTo(0.105 / 0.955, 12);
    expect(s['full-cone']).toBeCloseTo(0.105 / 0.955, 12);
    expect(s['port-restricted']).toBeCloseTo(0.285 / 0.955, 12);
    expect(s.firewall).toBeCloseTo(0.285 / 0.955, 12);
    expect(s.restricted).toBeCloseTo(0.07 / 0.955, 12);
    for (const t of ['addr-dependent', 'symmetric', 'symmetric-sequential'] as const) expect(s[t]).toBeCloseTo(0.035 / 0.955, 12);
    expect(NAT_TYPES.every((t) => s[t] > 0)).toBe(true);
    expect(DEFAULT_DISTRIBUTION.citation).toContain('UDP NAT and Firewall Puncturing in the Wild');
    expect(CLAIMED_UPLIFT).toEqual({ from: 0.523, to: 0.738, relative: 0.41 });
  });

  it('weights a matrix run’s cells (those that ran), and has none with a CGN', () => {
    const result = sampleMatrix(['none', 'symmetric'], {
      variants: [ICE_VARIANT, ALL],
      variantTrials: (p, v) => (v.name === 'all' ? trials(2, p.id === 'symmetric~symmetric' ? 1 : 2) : undefined),
      runs: 2,
    });
    const mix = matrixMix(result.config, result.cells, half)!;
    expect(mix.variants.map((v) => v.success)).toEqual([0.75, 0.875]);
    expect(matrixMix({ ...result.config, cgn: 'symmetric' }, result.cells)).toBeNull();
    const broken = sampleMatrix(['none', 'symmetric'], { override: (p) => (p.id === 'none~none' ? { error: 'lab failed' } : undefined) });
    expect(matrixMix(broken.config, broken.cells, half)!.coverage).toBe(0.75);
  });
});

describe('peer worker with variants', () => {
  const report = (strategies: readonly string[]): TraversalReport => ({
    requested: strategies as TraversalReport['requested'],
    plan: { technique: 'birthday', localDuty: 'prober', remoteDuty: 'opener', reason: 'the other side is hard', probability: 0.98 },
    attempts: [
      { strategy: 'birthday', duty: 'prober', startedAtMs: 0, endedAtMs: 10, probesSent: 120, socketsOpened: 0, hit: true, stopReason: 'hit' },
      { strategy: 'predict', duty: 'prober', startedAtMs: 0, endedAtMs: 10, probesSent: 5, socketsOpened: 2, hit: false, stopReason: 'ice-connected' },
    ],
    ladder: [],
    winner: 'birthday',
  });
  const fake = (options: PeerSessionOptions): PeerResult =>
    ({
      state: 'connected',
      role: 'controlling',
      timeToConnectMs: 42,
      selectedPair: { local: { type: 'prflx' }, remote: { type: 'srflx' } },
      room: options.room,
      signalingMs: 5,
      totalMs: 60,
      ...(options.traversal !== undefined ? { traversal: report(options.traversal.strategies) } : {}),
    }) as unknown as PeerResult;

  it('runs every variant for trial i before trial i+1, with its strategies and bound, and records the traversal', async () => {
    const calls: PeerSessionOptions[] = [];
    const seen: string[] = [];
    const records = await runVariantSessions({
      runs: 2,
      variants: [ICE_VARIANT, ALL],
      session: { signalUrl: 'ws://203.0.113.1:8478/', mode: 'connect' },
      timeoutMs: 3_500,
      strategyTimeoutMs: 12_000,
      runSession: async (options) => {
        calls.push(options);
        return fake(options);
      },
      onRecord: (variant, r) => seen.push(`${variant.name}:${r.room}`),
    });
    expect(calls.map((c) => [c.room, c.trial, c.timeoutMs, c.traversal?.strategies ?? null])).toEqual([
      ['direct-1', 1, 3_500, null],
      ['direct-all-1', 1, 12_000, ['predict', 'birthday', 'relay-ladder', 'portmap']],
      ['direct-2', 2, 3_500, null],
      ['direct-all-2', 2, 12_000, ['predict', 'birthday', 'relay-ladder', 'portmap']],
    ]);
    expect(seen).toEqual(['ice:direct-1', 'all:direct-all-1', 'ice:direct-2', 'all:direct-all-2']);
    expect(records[0]!.record).not.toHaveProperty('traversal');
    expect(records[1]!.record).toMatchObject({ index: 1, connected: true, pairType: 'prflx/srflx', traversal: { winner: 'birthday', probesSent: 125, socketsOpened: 2, plan: { technique: 'birthday', reason: 'the other side is hard', probability: 0.98 } } });
  });

  it('records a failed session as failed, and stops between sessions when aborted', async () => {
    const controller = new AbortController();
    const records = await runVariantSessions({
      runs: 3,
      variants: [ICE_VARIANT, ALL],
      session: { signalUrl: 'ws://x/', mode: 'connect' },
      timeoutMs: 100,
      strategyTimeoutMs: 100,
      signal: controller.signal,
      runSession: async () => {
        controller.abort();
        throw new Error('boom');
      },
    });
    expect(records).toHaveLength(1);
    expect(records[0]!.record).toMatchObject({ connected: false, failureReason: 'session-error' });
  });

  it('sums a report’s attempts; no report, no traversal part', () => {
    expect(sessionTraversal(report(['birthday']))).toEqual({ winner: 'birthday', probesSent: 125, socketsOpened: 2, plan: { technique: 'birthday', reason: 'the other side is hard', probability: 0.98 } });
    expect(sessionTraversal(undefined)).toBeUndefined();
  });

  it('parses a variant’s session line with its traversal, and rejects a malformed traversal', () => {
    const r = record(1, true, { winner: 'predict', probesSent: 50, socketsOpened: 0, plan: { technique: 'predict', reason: 'x' } });
    expect(parseWorkerLine(JSON.stringify({ type: 'session', kind: 'direct', variant: 'all', record: r }))).toEqual({ type: 'session', kind: 'direct', variant: 'all', record: r });
    const bad = { ...r, traversal: { winner: 'predict', probesSent: '50', socketsOpened: 0, plan: { technique: 'predict', reason: 'x' } } };
    expect(parseWorkerLine(JSON.stringify({ type: 'session', kind: 'direct', record: bad }))).toBeUndefined();
    expect(parseWorkerLine(JSON.stringify({ type: 'session', kind: 'direct', variant: 7, record: r }))).toBeUndefined();
  });

  it('passes the variants and their bound to the worker only beyond plain ICE', () => {
    const base = { signal: 'ws://203.0.113.1:8478/', stun: '203.0.113.1:3478', runs: 3, timeoutMs: 3500 };
    expect(workerArguments('/x', base)).not.toContain('--variants');
    expect(workerArguments('/x', { ...base, strategies: { variants: ['ice', 'all'], timeoutMs: 12_000 } }).slice(-4)).toEqual(['--variants', 'ice,all', '--strategy-timeout', '12000']);
  });
});

describe('runner with variants (fake cells)', () => {
  it('passes the variants to each cell and puts them in the plan, trial and cell events, the config and the mix', async () => {
    const events: LabMatrixEvent[] = [];
    const variants = [ICE_VARIANT, ALL];
    const result = await runMatrix({
      types: ['port-restricted', 'symmetric'],
      runs: 2,
      variants,
      preflight: false,
      onEvent: (event) => events.push(event),
      runCell: async (p, options) => {
        expect(options.variants).toEqual(variants);
        options.onTrial?.('direct', { index: 1, connected: true, traversal: birthdayTraversal(10, 256, 'birthday') }, 'all');
        options.onTrial?.('direct', { index: 1, connected: false }, 'ice');
        const measured = variants.map((variant) => ({ variant, trials: variant.name === 'all' ? trials(2, p.id === 'symmetric~symmetric' ? 0 : 2) : trials(2, p.expectedDirect ? 2 : 0) }));
        return judgeCell(p, { detect: { a: rightDetect(p, 'a'), b: rightDetect(p, 'b') }, direct: measured[0]!.trials, variants: measured, timings: TIMINGS });
      },
    });
    expect(result.config).toMatchObject({ variants, baseline: 'ice' });
    expect(events[0]).toMatchObject({ type: 'lab-matrix-planned', variants: ['ice', 'all'] });
    const trialsSeen = events.filter((e) => e.type === 'lab-matrix-trial');
    expect(trialsSeen[0]).toMatchObject({ variant: 'all', winner: 'birthday', technique: 'birthday' });
    expect(trialsSeen[1]).not.toHaveProperty('variant');
    const prs = events.find((e) => e.type === 'lab-matrix-cell-done' && e.id === 'port-restricted~symmetric');
    expect(prs).toMatchObject({ variants: [{ name: 'ice', succeeded: 0, upliftPoints: null }, { name: 'all', succeeded: 2, upliftPoints: 100 }] });
    const ss = events.find((e) => e.type === 'lab-matrix-cell-done' && e.id === 'symmetric~symmetric');
    expect(ss).toMatchObject({ relayOnly: { reason: expect.stringContaining('no variant connected') } });
    expect(result.mix!.allOverIce).not.toBeNull();
    expect(result.mix!.variants.map((v) => v.name)).toEqual(['ice', 'all']);
  });

  it('without --strategy runs plain ICE and adds no variant fields to the events', async () => {
    const events: LabMatrixEvent[] = [];
    await runMatrix({
      types: ['none'],
      preflight: false,
      onEvent: (event) => events.push(event),
      runCell: async (p, options) => {
        expect(options.variants).toEqual([ICE_VARIANT]);
        return judgeCell(p, { detect: { a: rightDetect(p, 'a'), b: rightDetect(p, 'b') }, direct: trials(3, 3), timings: TIMINGS });
      },
    });
    expect(events[0]).not.toHaveProperty('variants');
    expect(events.at(-1)).not.toHaveProperty('variants');
  });
});
