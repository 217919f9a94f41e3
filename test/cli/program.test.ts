/** Which command modules an invocation loads (src/cli/program.ts): only what it runs, everything for help. */
import { describe, expect, it } from 'vitest';
import { buildProgram, COMMAND_NAMES, commandsFor } from '../../src/cli/program.js';
import { fakeIo } from './fake-io.js';

describe('commandsFor', () => {
  it('loads just the command that is named', () => {
    expect(commandsFor(['serve', '--port', '0'])).toEqual(['serve']);
    expect(commandsFor(['lab', 'exec', 'a', '--', 'nat-probe', 'detect'])).toEqual(['lab']);
  });

  it('loads detect, the default command, when none is named', () => {
    expect(commandsFor([])).toEqual(['detect']);
    expect(commandsFor(['-s', 'stun.example.net', '--json'])).toEqual(['detect']);
  });

  it('loads every command for top-level help and version, the help command, and unknown words', () => {
    for (const argv of [['--help'], ['-h'], ['--version'], ['-V'], ['help', 'lab'], ['bogus']]) expect(commandsFor(argv)).toEqual(COMMAND_NAMES);
  });
});

describe('buildProgram', () => {
  it('registers the commands asked for, in help order', async () => {
    const io = fakeIo();
    expect((await buildProgram(io, () => undefined)).commands.map((c) => c.name())).toEqual(['detect', 'serve', 'peer', 'trials', 'turn', 'token', 'lab', 'field']);
    expect((await buildProgram(io, () => undefined, ['turn'])).commands.map((c) => c.name())).toEqual(['turn']);
  });
});
