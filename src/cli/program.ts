import { Command } from 'commander';
import { VERSION } from '../version.js';
import type { CliIo } from './io.js';

type RunCode = (code: Promise<number>) => void;
type Register = (program: Command, io: CliIo, run: RunCode) => void;

/**
 * Each command's registration, loaded on demand: a command's module pulls in its whole engine
 * (signaling and zod, TURN, the lab…), and loading all of them cost ~150 ms of start-up on every
 * run — a third of a whole `detect`. The order is the order of `--help`.
 */
const COMMANDS: ReadonlyArray<readonly [name: string, load: () => Promise<Register>]> = [
  ['detect', async () => (await import('./commands/detect.js')).registerDetect],
  ['serve', async () => (await import('./commands/serve.js')).registerServe],
  ['peer', async () => (await import('./commands/peer.js')).registerPeer],
  ['trials', async () => (await import('./commands/trials.js')).registerTrials],
  ['turn', async () => (await import('./commands/turn.js')).registerTurn],
  ['token', async () => (await import('./commands/token.js')).registerToken],
  ['lab', async () => (await import('./commands/lab.js')).registerLab],
  ['field', async () => (await import('./commands/field.js')).registerField],
];
export const COMMAND_NAMES: readonly string[] = COMMANDS.map(([name]) => name);
const TOP_LEVEL_FLAGS = new Set(['-h', '--help', '-V', '--version']);

/**
 * The commands an invocation needs: the one it names; detect (the default command) when it names
 * none and asks for neither help nor the version; otherwise every one, so `--help`, `help`, and
 * an unknown word (commander suggests the closest command) behave exactly as with all loaded.
 */
export function commandsFor(argv: readonly string[]): readonly string[] {
  const first = argv[0];
  if (first !== undefined && COMMAND_NAMES.includes(first)) return [first];
  const namesNone = first === undefined || first.startsWith('-');
  if (namesNone && !argv.some((arg) => TOP_LEVEL_FLAGS.has(arg))) return ['detect'];
  return COMMAND_NAMES;
}

/**
 * The commander program with the given commands (default all). Each command registers itself
 * from its own file and hands its promise of an exit code to `run`, so main.ts owns the only
 * process.exit.
 */
export async function buildProgram(io: CliIo, run: RunCode, commands: readonly string[] = COMMAND_NAMES): Promise<Command> {
  const program = new Command('nat-probe')
    .version(VERSION, '-V, --version')
    .description(
      'NAT traversal diagnostics for WebRTC and P2P engineers: what NAT am I behind, and will two peers connect?',
    )
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    })
    .exitOverride();
  const registrations = await Promise.all(COMMANDS.filter(([name]) => commands.includes(name)).map(([, load]) => load()));
  for (const register of registrations) register(program, io, run);
  program.addHelpText(
    'after',
    `
Exit codes: 0 ok, 1 the probe found a failure or missed a threshold, 2 usage or environment error.
Docs: README.md in the package.`,
  );
  return program;
}
