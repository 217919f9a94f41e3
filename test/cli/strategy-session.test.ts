/**
 * `peer` and `trials` hand the strategy flags to every session as `traversal`, and print what
 * the session reports: a stand-in for runPeerSession (no sockets) returns a hand-made
 * TraversalReport and emits its events, so the plain lines, the table, the v2 JSON and JUnit can
 * be checked end to end through main().
 *
 * `trials` gets the stand-in through runTrials' own `runSession` injection point rather than a
 * module mock of session.js: vitest hands the real module to the second of two concurrent
 * dynamic imports of a mocked one, and a trial starts its two sessions at once.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { PeerEvent } from '../../src/events.js';
import type { PeerSessionOutcome } from '../../src/peer/trials-types.js';
import { birthdayEvents, birthdaySession } from '../report/traversal-fixtures.js';
import { connectedSession } from '../peer/trials-fixtures.js';
import { fakeIo } from './fake-io.js';

interface SessionCall {
  traversal?: unknown;
  onEvent?: (event: PeerEvent) => void;
  room: string;
}

const calls: SessionCall[] = [];
let result: () => PeerSessionOutcome = () => birthdaySession();

async function fakeSession(options: SessionCall): Promise<PeerSessionOutcome & { room: string }> {
  calls.push(options);
  for (const event of birthdayEvents()) options.onEvent?.(event);
  return { ...result(), room: options.room };
}

vi.mock('../../src/peer/session.js', () => ({ runPeerSession: fakeSession }));
vi.mock('../../src/peer/trials.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../src/peer/trials.js')>();
  return { ...actual, runTrials: (options: Parameters<typeof actual.runTrials>[0]) => actual.runTrials({ ...options, runSession: fakeSession as never }) };
});

const { main } = await import('../../src/cli/main.js');

const PEER = ['peer', '--signal', 'ws://127.0.0.1:1/', '--room', 'lab'];
const TRIALS = ['trials', '--signal', 'ws://127.0.0.1:1/', '--runs', '3', '--concurrency', '1'];
let dirs: string[] = [];

beforeEach(() => {
  calls.length = 0;
  result = () => birthdaySession();
});
afterEach(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs = [];
});

describe('peer --strategy', () => {
  it('passes the strategies and figures to the session as traversal', async () => {
    const io = fakeIo();
    expect(await main([...PEER, '--strategy', 'birthday,predict', '--birthday-sockets', '128', '--probe-rate', '300', '--json'], io)).toBe(0);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.traversal).toEqual({
      strategies: ['predict', 'birthday'],
      predict: { window: 50, repeats: 2, ratePerSecond: 300 },
      birthday: { sockets: 128, budget: 1024, ratePerSecond: 300, allowRandomPair: false },
    });
  });

  it('passes no traversal for plain ICE (no flag, or --strategy ice)', async () => {
    result = () => connectedSession();
    expect(await main([...PEER, '--json'], fakeIo())).toBe(0);
    expect(await main([...PEER, '--strategy', 'ice', '--json'], fakeIo())).toBe(0);
    expect(calls.map((call) => 'traversal' in call)).toEqual([false, false]);
  });

  it('--json: the traversal events as NDJSON, then the v2 report with its traversal object', async () => {
    const io = fakeIo();
    expect(await main([...PEER, '--strategy', 'all', '--json'], io)).toBe(0);
    const lines = io.out().trim().split('\n').map((line) => JSON.parse(line) as Record<string, any>);
    expect(lines.slice(0, -1).map((e) => e.type)).toEqual(['traversal-plan', 'traversal-progress', 'traversal-progress', 'traversal-done']);
    const report = lines.at(-1)!;
    expect(report.schema).toBe('nat-probe.peer/v2');
    expect(report.traversal).toMatchObject({ requested: ['predict', 'birthday', 'relay-ladder'], plan: { technique: 'birthday' }, winner: 'birthday' });
    expect(report.selectedPair).toMatchObject({ pairType: 'srflx/prflx', foundBy: 'birthday' });
  });

  it('plain output: one line per traversal event, then the table with its traversal section', async () => {
    const io = fakeIo();
    expect(await main([...PEER, '--strategy', 'birthday'], io)).toBe(0);
    const out = io.out();
    expect(out).toMatch(/^traversal plan birthday · this side probes, the other opens · P≈98\.8%: the other side maps per destination/m);
    expect(out).toMatch(/^traversal birthday 64\/1024 probes, 0 sockets$/m);
    expect(out).toMatch(/^traversal birthday 256\/1024 probes, 0 sockets$/m);
    expect(out).toMatch(/^traversal birthday \(probes\): 300 probes, 0 sockets, hit · stopped: hit/m);
    expect(out).toMatch(/Path won by\s+│ birthday probing \(birthday\)/);
    expect(out).toContain('prflx path found by birthday probing (birthday)');
  });
});

describe('trials --strategy', () => {
  it('gives every session of every trial the same traversal, and counts the wins in the table', async () => {
    const io = fakeIo();
    const code = await main([...TRIALS, '--strategy', 'birthday', '--birthday-budget', '2048', '--allow-random-pair'], io);
    expect(code, io.err() + io.out()).toBe(0);
    expect(calls).toHaveLength(6);
    for (const call of calls) expect(call.traversal).toEqual({ strategies: ['birthday'], birthday: { sockets: 256, budget: 2048, ratePerSecond: 200, allowRandomPair: true } });
    const out = io.out();
    expect(out.match(/^trial [123]\/3 {2}connected {2}srflx\/prflx {2}1\.30 s {2}via birthday$/gm)).toHaveLength(3);
    const flat = out.replace(/\s*│\s*/g, ' ').replace(/\s+/g, ' ');
    expect(flat).toContain('Strategies birthday (256 sockets, budget 2048, random pair allowed) · 200 probes/s');
    expect(flat).toContain('Won by ice 0 · predict 0 · birthday 3 · portmap 0 · relay-udp 0 · relay-tcp 0 · relay-tls 0');
    expect(flat).toContain('Traversal cost 1800 probes, 0 sockets over 3 trial(s), both peers');
  });

  it('--json and --junit: the v2 document with config, summary and per-trial traversal, and the wins as JUnit properties', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nat-probe-strategy-junit-'));
    dirs.push(dir);
    const file = join(dir, 'trials.xml');
    const io = fakeIo();
    expect(await main([...TRIALS, '--strategy', 'all', '--json', '--junit', file], io)).toBe(0);
    const report = JSON.parse(io.out().trim().split('\n').at(-1)!) as Record<string, any>;
    expect(report.schema).toBe('nat-probe.trials/v2');
    expect(report.config.traversal.strategies).toEqual(['predict', 'birthday', 'relay-ladder', 'portmap']);
    expect(report.summary.traversal).toMatchObject({ trials: 3, wins: { birthday: 3, ice: 0 }, byTechnique: [{ technique: 'birthday', trials: 3 }], probesSent: 1800, socketsOpened: 0 });
    expect(report.trials[0].traversal).toEqual({ winner: 'birthday', plan: expect.objectContaining({ technique: 'birthday' }), probesSent: 600, socketsOpened: 0 });
    const xml = readFileSync(file, 'utf8');
    expect(xml).toContain('<property name="traversalWins.birthday" value="3"/>');
    expect(xml).toContain('<property name="strategies" value="predict,birthday,relay-ladder,portmap"/>');
  });
});
