/**
 * `nat-probe turn`'s Ink view in a real terminal: the built CLI runs in a detached tmux session
 * on a socket of its own (a pseudo-terminal, so Ink renders), against a real coturn; the pane
 * signals a tmux channel when the CLI exits and the test reads the last frame with capture-pane.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, BIN } from '../helpers/cli.js';
import { startCoturnTurn, type CoturnTurn } from '../helpers/coturn.js';
import { skipUnlessTools, toolGate } from '../helpers/tools.js';

const run = promisify(execFile);
const skip = skipUnlessTools(toolGate(['tmux', 'turnserver'], 'apt-get install tmux coturn'), 'turn live view under tmux');

const SOCKET = `nat-probe-turn-e2e-${process.pid}-${randomBytes(3).toString('hex')}`;
const SESSION = 'turn';
const DONE_CHANNEL = 'nat-probe-turn-done';
const EXIT_MARK = 'nat-probe exited with';
const BOUND_MS = 20_000;
const PASSWORD = 'tmux-secret-pw';

const tmux = (...args: string[]) => run('tmux', ['-L', SOCKET, ...args], { timeout: 5_000 });
const screen = async (): Promise<string> => (await tmux('capture-pane', '-p', '-t', SESSION)).stdout;

describe.skipIf(skip)('nat-probe turn in a terminal (tmux)', () => {
  let coturn: CoturnTurn;
  let started = false;
  beforeAll(async () => {
    coturn = await startCoturnTurn({ users: [{ name: 'frank', password: PASSWORD }], tcp: false });
  });
  afterAll(async () => {
    if (started) {
      // Our own server on our own socket: this ends only the session this test created.
      await tmux('kill-session', '-t', SESSION).catch(() => undefined);
      await tmux('kill-server').catch(() => undefined);
    }
    await coturn?.stop();
  });

  it('draws the six checks with ✔ and the verdict box, then exits 0; the password is not on screen', async () => {
    assertBuilt();
    // The password comes from the environment, as the README suggests, so it is not in the command line either.
    const command =
      `env -u CI -u GITHUB_ACTIONS -u NO_COLOR TERM=xterm-256color NAT_PROBE_TURN_PASSWORD=${PASSWORD} ` +
      `${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} turn --server ${coturn.url} --user frank --packets 200; ` +
      `echo "${EXIT_MARK} $?"; tmux wait-for -S ${DONE_CHANNEL}; exec cat`;
    await tmux('new-session', '-d', '-s', SESSION, '-x', '130', '-y', '30', command);
    started = true;
    try {
      await run('tmux', ['-L', SOCKET, 'wait-for', DONE_CHANNEL], { timeout: BOUND_MS });
    } catch {
      throw new Error(`the CLI did not exit within ${BOUND_MS} ms; the screen was:\n${await screen().catch(() => '')}`);
    }
    const last = await screen();
    expect(last).toContain(`nat-probe turn · ${coturn.url}`);
    for (const label of ['Reachability', 'Authentication', 'Allocation', 'Permission', 'Channel bind', 'Round trip']) {
      expect(last).toMatch(new RegExp(`✔ ${label}`));
    }
    expect(last).toContain('TURN server works: relayed data flows');
    expect(last).toMatch(/╭─+/);
    expect(last).toMatch(/RTT median [\d.]+ ms · p95 [\d.]+ ms · \d+ packets\/s · 200\/200 echoed/);
    expect(last).not.toContain('PASS Reachability'); // the Ink view, not the plain lines
    expect(last.split(PASSWORD).length - 1).toBe(0);
    expect(last).toContain(`${EXIT_MARK} 0`);
  });
});
