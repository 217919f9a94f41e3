/**
 * The trials dashboard end to end, in a real terminal: the built CLI runs inside a detached tmux
 * session of a fixed size (a pseudo-terminal, so stdout is a TTY and Ink renders), and the pane
 * signals a tmux channel when the CLI exits, and the test reads the screen with `capture-pane`.
 *
 * The tmux server runs on a socket of its own (-L), so the test never touches anyone's tmux, and
 * it is killed afterwards. Needs `npm run build` (npm test does it) and tmux: required in CI.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { assertBuilt, BIN } from '../helpers/cli.js';
import { skipUnlessTools, toolGate } from '../helpers/tools.js';

const run = promisify(execFile);
const gate = toolGate(['tmux'], 'apt-get install tmux');
const skip = skipUnlessTools(gate, 'dashboard under tmux');

const SOCKET = `nat-probe-e2e-${process.pid}-${randomBytes(3).toString('hex')}`;
const SESSION = 'dashboard';
const WIDTH = 120;
const HEIGHT = 50;
const EXIT_MARK = 'nat-probe exited with';
/** tmux channel the pane signals when the CLI has exited (tmux remembers a signal nobody waits for yet). */
const DONE_CHANNEL = 'nat-probe-done';
const BOUND_MS = 20_000;

const tmux = (...args: string[]) => run('tmux', ['-L', SOCKET, ...args], { timeout: 5_000 });
const screen = async (): Promise<string> => (await tmux('capture-pane', '-p', '-t', SESSION)).stdout;

/** Awaits the pane's "done" signal — an event, bounded — then reads the final screen once. */
async function finalScreen(): Promise<string> {
  try {
    await run('tmux', ['-L', SOCKET, 'wait-for', DONE_CHANNEL], { timeout: BOUND_MS });
  } catch {
    throw new Error(`the CLI did not exit within ${BOUND_MS} ms; the screen was:\n${await screen().catch(() => '')}`);
  }
  return screen();
}

describe.skipIf(skip)('trials dashboard in a terminal (tmux)', () => {
  let started = false;

  afterEach(async () => {
    if (!started) return;
    started = false;
    // Our own server on our own socket: killing it ends only the session this test created.
    await tmux('kill-session', '-t', SESSION).catch(() => undefined);
    await tmux('kill-server').catch(() => undefined);
  });

  it('renders progress, success rate, histogram and the final summary, then exits 0', async () => {
    assertBuilt();
    // CI variables would make the CLI print plain lines (as it should in CI); this test wants the
    // terminal path, so it clears them for the child only. `exec cat` keeps the pane open after
    // the CLI exits, until the session is killed, so the last frame can be read.
    const command = `env -u CI -u GITHUB_ACTIONS -u NO_COLOR TERM=xterm-256color ${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} trials --runs 5 --concurrency 2; echo "${EXIT_MARK} $?"; tmux wait-for -S ${DONE_CHANNEL}; exec cat`;
    await tmux('new-session', '-d', '-s', SESSION, '-x', String(WIDTH), '-y', String(HEIGHT), command);
    started = true;

    const last = await finalScreen();
    // The Ink dashboard, not the plain-line output (which prints "trial 1/5  connected" lines).
    expect(last).toContain('nat-probe trials · 5/5 done');
    expect(last).toMatch(/█{30} 5\/5/); // full progress bar
    expect(last).toContain('Success 100% (5/5) · 95% CI 56.6%–100%');
    expect(last).toContain('Time to connect');
    expect(last).toMatch(/ms █+ \d/); // histogram rows
    expect(last).toMatch(/recent [▁▂▃▄▅▆▇█]{5}/); // sparkline of the five trials
    // The last watched trial's candidates and pair table stay on screen.
    // The watched trial shows both of its peers (each session's events carry `peer`).
    expect(last).toMatch(/Trial [1-5] · done/);
    expect(last).toMatch(/peer [01] · connected in [\d.]+ ms · (controlling|controlled)/);
    expect(last).toMatch(/Local candidates \(\d+\)\s+Remote candidates \(\d+\)/);
    expect(last).toMatch(/Pair\s+Local\s+Remote\s+State\s+RTT\s+Tries/);
    expect(last).toMatch(/host\/host\s+\S+\s+\S+\s+succeeded ★\s+[\d.]+ ms\s+\d/);
    expect(last).toContain('Summary: 100% connected (5/5)');
    expect(last).toContain('threshold met');
    expect(last).toMatch(/╭─+/); // the summary box
    expect(last).not.toMatch(/trial\s+1\/5\s+connected/);
    expect(last).toContain(`${EXIT_MARK} 0`);
  });
});
