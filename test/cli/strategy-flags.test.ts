/**
 * The strategy flags of `peer` and `trials`: parsing, defaults from TRAVERSAL_DEFAULTS, ranges
 * and inconsistent combinations (exit 2 with the flag named), the --help warning about birthday
 * probing, and a real `trials --strategy all` run on loopback.
 */
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { MAX_PREDICT_REPEATS, strategyListOption, traversalFromFlags } from '../../src/cli/strategy-flags.js';
import { TRAVERSAL_DEFAULTS } from '../../src/traversal/types.js';
import { fakeIo } from './fake-io.js';

const PEER = ['peer', '--signal', 'ws://127.0.0.1:1/', '--room', 'x'];

describe('traversalFromFlags', () => {
  it('is undefined for plain ICE: no --strategy, or only ice', () => {
    expect(traversalFromFlags({})).toBeUndefined();
    expect(traversalFromFlags({ strategy: strategyListOption('ice') })).toBeUndefined();
  });

  it('fills every figure from TRAVERSAL_DEFAULTS, for the strategies asked for only', () => {
    expect(traversalFromFlags({ strategy: strategyListOption('all') })).toEqual({
      strategies: ['predict', 'birthday', 'relay-ladder', 'portmap'],
      predict: { window: TRAVERSAL_DEFAULTS.predictWindow, repeats: TRAVERSAL_DEFAULTS.predictRepeats, ratePerSecond: TRAVERSAL_DEFAULTS.predictRatePerSecond },
      birthday: { sockets: TRAVERSAL_DEFAULTS.birthdaySockets, budget: TRAVERSAL_DEFAULTS.birthdayBudget, ratePerSecond: TRAVERSAL_DEFAULTS.birthdayRatePerSecond, allowRandomPair: false },
    });
    expect(traversalFromFlags({ strategy: ['relay-ladder'] })).toEqual({ strategies: ['relay-ladder'] });
    expect(TRAVERSAL_DEFAULTS).toMatchObject({ predictWindow: 50, predictRepeats: 2, birthdaySockets: 256, birthdayBudget: 1024, birthdayRatePerSecond: 200 });
  });

  it('takes the given figures; --probe-rate paces both prober strategies', () => {
    expect(traversalFromFlags({ strategy: ['predict', 'birthday'], predictWindow: 8, predictRepeats: 3, birthdaySockets: 64, birthdayBudget: 4096, probeRate: 500, allowRandomPair: true })).toEqual({
      strategies: ['predict', 'birthday'],
      predict: { window: 8, repeats: 3, ratePerSecond: 500 },
      birthday: { sockets: 64, budget: 4096, ratePerSecond: 500, allowRandomPair: true },
    });
  });

  it('--strategy lists add up when the flag is repeated, in the engine’s order, duplicates once', () => {
    expect(strategyListOption('relay-ladder', strategyListOption('birthday,ice'))).toEqual(['birthday', 'relay-ladder']);
    expect(strategyListOption(' predict , predict ')).toEqual(['predict']);
  });
});

describe('strategy flags on the command line', () => {
  it.each([['peer'], ['trials']])('%s --help lists the flags with their defaults and says why birthday probing is opt-in', async (command) => {
    const io = fakeIo();
    expect(await main([command, '--help'], io)).toBe(0);
    const help = io.out();
    for (const flag of ['--strategy <list>', '--predict-window <n>', '--predict-repeats <n>', '--birthday-sockets <k>', '--birthday-budget <n>', '--probe-rate <pps>', '--allow-random-pair']) {
      expect(help).toContain(flag);
    }
    const flat = help.replace(/\s+/g, ' ');
    expect(flat).toContain('ice, predict, birthday, relay-ladder, portmap, all (default: ice)');
    expect(flat).toContain('(default 50, at most 1024)');
    expect(flat).toContain('(default 2, at most 10)');
    expect(flat).toContain('(default 256, at most 1024)');
    expect(flat).toContain('(default 1024, at most 65535)');
    expect(flat).toContain('(default 200, at most 1000)');
    expect(flat).toContain("sends hundreds of datagrams to random ports of the other peer's public address, which intrusion detection sees as a port scan");
    expect(flat).toContain('opens up to --birthday-sockets (k) sockets at once, which puts pressure on the session table of small NATs');
    expect(flat).toContain('Birthday probing is opt-in for a reason');
    expect(flat).toContain(command === 'peer' ? 'nat-probe.peer/v2' : 'nat-probe.trials/v2');
  });

  it.each([
    [[...PEER, '--strategy', 'turbo'], '--strategy: Unknown strategy "turbo": use ice, predict, birthday, relay-ladder, portmap or all, separated by commas.'],
    [['trials', '--strategy', 'predict,bday'], 'Unknown strategy "bday"'],
    [[...PEER, '--strategy', 'birthday', '--birthday-sockets', '1025'], '--birthday-sockets must be a whole number from 1 to 1024, got "1025".'],
    [[...PEER, '--strategy', 'birthday', '--birthday-sockets', '0'], '--birthday-sockets must be a whole number from 1 to 1024'],
    [['trials', '--strategy', 'birthday', '--birthday-budget', '65536'], '--birthday-budget must be a whole number from 1 to 65535, got "65536".'],
    [['trials', '--strategy', 'birthday', '--probe-rate', '1001'], '--probe-rate must be a whole number from 1 to 1000, got "1001".'],
    [[...PEER, '--strategy', 'predict', '--probe-rate', '2.5'], '--probe-rate must be a whole number from 1 to 1000'],
    [[...PEER, '--strategy', 'predict', '--predict-window', 'wide'], '--predict-window must be a whole number from 1 to 1024, got "wide".'],
    [['trials', '--strategy', 'predict', '--predict-repeats', String(MAX_PREDICT_REPEATS + 1)], `--predict-repeats must be a whole number from 1 to ${MAX_PREDICT_REPEATS}`],
  ])('%j exits 2 naming the flag and its range', async (argv, message) => {
    const io = fakeIo();
    expect(await main(argv, io)).toBe(2);
    expect(io.err()).toContain(message);
    expect(io.out()).toBe('');
  });

  it.each([
    [[...PEER, '--birthday-sockets', '64'], '--birthday-sockets needs --strategy birthday (or all)'],
    [[...PEER, '--strategy', 'predict', '--allow-random-pair'], '--allow-random-pair needs --strategy birthday (or all)'],
    [['trials', '--strategy', 'birthday', '--predict-window', '8'], '--predict-window needs --strategy predict (or all)'],
    [['trials', '--strategy', 'relay-ladder', '--probe-rate', '100'], '--probe-rate needs --strategy predict or birthday (or all)'],
  ])('%j: a tuning flag without its strategy would do nothing, so it exits 2 before anything starts', async (argv, message) => {
    const io = fakeIo();
    expect(await main(argv, io)).toBe(2);
    expect(io.err()).toContain(message);
    expect(io.err()).toContain('[strategy-bad-flags]');
    expect(io.out()).toBe('');
  });
});

describe('trials --strategy on loopback (built-in servers, real sessions)', () => {
  it('every trial reports its traversal; plain ICE wins on loopback, no probe is sent, and the v2 summary counts it', async () => {
    const io = fakeIo();
    expect(await main(['trials', '--runs', '2', '--concurrency', '2', '--bind', '127.0.0.1', '--strategy', 'all', '--json'], io)).toBe(0);
    const report = JSON.parse(io.out().trim().split('\n').at(-1)!) as Record<string, any>;
    expect(report.schema).toBe('nat-probe.trials/v2');
    expect(report.config.traversal.strategies).toEqual(['predict', 'birthday', 'relay-ladder', 'portmap']);
    expect(report.summary.traversal).toMatchObject({ trials: 2, wins: { ice: 2, predict: 0, birthday: 0 }, probesSent: 0, socketsOpened: 0 });
    for (const trial of report.trials) expect(trial.traversal).toMatchObject({ winner: 'ice', probesSent: 0, socketsOpened: 0 });
    // portmap was asked for, but the servers are on loopback: the gateway is never asked (the rule detect follows).
    for (const trial of report.trials) {
      expect(trial.traversal.portmap).toEqual([
        { protocol: 'nat-pmp', skipped: 'every server is a loopback address', mapped: false, renewals: 0, advertised: false, deleted: false },
        { protocol: 'nat-pmp', skipped: 'every server is a loopback address', mapped: false, renewals: 0, advertised: false, deleted: false },
      ]);
    }
  });
});
