import { Command } from 'commander';
import { VERSION } from '../version.js';
import { registerDetect } from './commands/detect.js';
import { registerLab } from './commands/lab.js';
import { registerPeer } from './commands/peer.js';
import { registerServe } from './commands/serve.js';
import { registerTrials } from './commands/trials.js';
import { registerTurn } from './commands/turn.js';
import type { CliIo } from './io.js';

/**
 * The commander program. Each command registers itself from its own file and hands its
 * promise of an exit code to `run`, so main.ts owns the only process.exit.
 */
export function buildProgram(io: CliIo, run: (code: Promise<number>) => void): Command {
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
  registerDetect(program, io, run);
  registerServe(program, io, run);
  registerPeer(program, io, run);
  registerTrials(program, io, run);
  registerTurn(program, io, run);
  registerLab(program, io, run);
  program.addHelpText(
    'after',
    `
Exit codes: 0 ok, 1 the probe found a failure or missed a threshold, 2 usage or environment error.
Docs: README.md in the package.`,
  );
  return program;
}
