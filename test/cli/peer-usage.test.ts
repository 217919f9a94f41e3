import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { fakeIo } from './fake-io.js';

describe('peer and trials: help and usage errors', () => {
  it('lists peer and trials in the top-level help', async () => {
    const io = fakeIo();
    expect(await main(['--help'], io)).toBe(0);
    expect(io.out()).toMatch(/^\s+peer \[options\]/m);
    expect(io.out()).toMatch(/^\s+trials \[options\]/m);
  });

  it('teaches peer in --help, with examples and exit codes', async () => {
    const io = fakeIo();
    expect(await main(['peer', '--help'], io)).toBe(0);
    expect(io.out()).toContain('--signal <url>');
    expect(io.out()).toContain('--survey');
    expect(io.out()).toContain('RFC 8445');
    expect(io.out()).toContain('Exit codes: 0 connected, 1 not connected, 2 usage or environment error');
  });

  it('teaches trials in --help: the interval, the NDJSON contract, examples and exit codes', async () => {
    const io = fakeIo();
    expect(await main(['trials', '--help'], io)).toBe(0);
    const help = io.out();
    expect(help).toContain('95% Wilson score interval');
    expect(help).toContain('nat-probe.trials/v2');
    expect(help).toContain('tail -n1');
    expect(help).toContain('--min-success <ratio>');
    expect(help).toContain('--junit <file>');
    expect(help).toMatch(/Exit codes: 0 success rate at or above --min-success/);
  });

  it.each([
    [['peer', '--room', 'x'], "required option '--signal <url>' not specified"],
    [['peer', '--signal', 'ws://127.0.0.1:1/'], "required option '--room <name>' not specified"],
    [['peer', '--signal', 'http://127.0.0.1/', '--room', 'x'], '--signal must start with ws:// or wss://'],
    [['peer', '--signal', 'not a url', '--room', 'x'], '--signal must be a WebSocket URL'],
    [['peer', '--signal', 'ws://127.0.0.1:1/', '--room', 'no spaces'], '--room must be 1–128 characters'],
    [['peer', '--signal', 'ws://127.0.0.1:1/', '--room', 'x', '--timeout', '5'], '--timeout must be a whole number from 100'],
    [['trials', '--runs', '0'], '--runs must be a whole number from 1'],
    [['trials', '--concurrency', 'lots'], '--concurrency must be a whole number'],
    [['trials', '--min-success', '95'], '--min-success must be a ratio from 0 to 1'],
    [['trials', '--min-success', ''], '--min-success must be a ratio from 0 to 1'],
    [['trials', '--signal', 'ftp://x/'], '--signal must start with ws:// or wss://'],
    [['trials', '--signal', 'ws://127.0.0.1:1/,ftp://x/'], '--signal must start with ws:// or wss://'],
    [['peer', '--signal', 'ws://127.0.0.1:1/', '--signal', 'nope', '--room', 'x'], '--signal must be a WebSocket URL'],
    [['peer', '--signal', ',', '--room', 'x'], '--signal needs a WebSocket URL'],
    [['peer', '--signal', 'ws://127.0.0.1:1/', '--room', 'x', '--hold', '0'], '--hold must be a whole number from 1 to 3600'],
    // A check made in the action (not by a flag's parser) is said too, not swallowed.
    [['peer', '--signal', 'ws://127.0.0.1:1/', '--room', 'x', '--mapping-lifetime', '30'], '--mapping-lifetime is judged against the consent traffic of a held path: add --hold'],
  ])('%j exits 2 with a clear message', async (argv, message) => {
    const io = fakeIo();
    expect(await main(argv, io)).toBe(2);
    expect(io.err()).toContain(message);
    expect(io.err()).not.toMatch(/\n\s+at /);
  });

  it('rejects a malformed --stun with exit 2 before anything starts', async () => {
    const io = fakeIo();
    expect(await main(['trials', '--stun', 'host:99999', '--runs', '1'], io)).toBe(2);
    expect(io.err()).toContain('[bad-server]');
    expect(io.out()).toBe('');
  });
});
