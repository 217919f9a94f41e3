/** `nat-probe token`, `serve --auth-secret` and `peer --auth-token` as real processes. */
import type { ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyAuthToken } from '../../src/signaling/index.js';
import { firstLine, runCli, spawnCli, stopProcess } from '../helpers/cli.js';
import { RawPeer } from '../signaling/helpers.js';

const SECRET = 'cli-test-secret-0123456789';
let child: ChildProcess | undefined;
afterEach(async () => {
  if (child) await stopProcess(child);
  child = undefined;
});

async function serve(extra: string[], env: NodeJS.ProcessEnv = {}): Promise<{ url: string; stderr: () => string }> {
  child = spawnCli(['serve', '--port', '0', '--no-alternate', '--signal-port', '0', '--json', ...extra], { env });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const announced = JSON.parse(await firstLine(child)) as { signaling: { url: string; auth: boolean } };
  expect(announced.signaling.auth).toBe(extra.includes('--auth-secret') || env.NAT_PROBE_AUTH_SECRET !== undefined);
  return { url: announced.signaling.url, stderr: () => stderr };
}

describe('operator tokens on the command line', () => {
  it('token mints a token the server secret verifies, from the environment secret', async () => {
    const run = await runCli(['token', '--room', 'lab-1', '--ttl', '120', '--json'], { env: { NAT_PROBE_AUTH_SECRET: SECRET } });
    expect(run.code, run.stderr).toBe(0);
    const doc = JSON.parse(run.stdout) as { schema: string; token: string; room: string; expires: string };
    expect(doc).toMatchObject({ schema: 'nat-probe.token/v1', room: 'lab-1' });
    expect(Object.keys(doc).sort()).toEqual(['expires', 'room', 'schema', 'token']);
    expect(verifyAuthToken(SECRET, doc.token, 'lab-1', Math.floor(Date.now() / 1000))).toMatchObject({ ok: true });
    expect(run.stdout + run.stderr).not.toContain(SECRET);
  });

  it.each([
    [['token', '--room', 'x'], {}, 'NAT_PROBE_AUTH_SECRET'],
    [['token'], { NAT_PROBE_AUTH_SECRET: SECRET }, 'exactly one of --room and --room-prefix'],
    [['token', '--room', 'x', '--room-prefix', 'y'], { NAT_PROBE_AUTH_SECRET: SECRET }, 'exactly one of --room and --room-prefix'],
    // Tokens carry no role: nothing would enforce it.
    [['token', '--room', 'x', '--role', 'support'], { NAT_PROBE_AUTH_SECRET: SECRET }, "unknown option '--role'"],
    [['serve', '--auth-secret', 'short', '--port', '0'], {}, 'at least 16 characters'],
  ])('%j exits 2 with a precise message', async (args, env, text) => {
    const run = await runCli(args, { env });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(text);
  });

  it('serve --auth-secret refuses a peer without a token (exit 2, unauthorized) and never prints the secret or the token', async () => {
    const { url, stderr } = await serve(['--auth-secret', SECRET]);
    const refused = await runCli(['peer', '--signal', url, '--room', 'r1', '--bind', '127.0.0.1', '--timeout', '3000', '--json']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('[unauthorized]');
    const minted = await runCli(['token', '--room', 'r1'], { env: { NAT_PROBE_AUTH_SECRET: SECRET } });
    const token = minted.stdout.trim();
    const peer = await RawPeer.open(url);
    try {
      expect(await peer.join('r1', { auth: token })).toMatchObject({ type: 'joined' });
    } finally {
      peer.close();
    }
    expect(stderr()).not.toContain(SECRET);
    expect(stderr()).not.toContain(token);
  });

  it('serve --turn-secret without --auth-secret warns that it hands out TURN credentials to anyone; with it, no warning', async () => {
    const open = await serve(['--turn-url', 'turn:127.0.0.1:3478', '--turn-secret', 'turn-secret-xyz']);
    await expect.poll(() => open.stderr(), { timeout: 5_000 }).toContain('hands TURN credentials');
    expect(open.stderr()).not.toContain('turn-secret-xyz');
    await stopProcess(child!);
    const guarded = await serve(['--turn-url', 'turn:127.0.0.1:3478', '--turn-secret', 'turn-secret-xyz'], { NAT_PROBE_AUTH_SECRET: SECRET });
    // The default credential lifetime is a session's bound (600 s), not a day.
    const peer = await RawPeer.open(guarded.url);
    try {
      const minted = await runCli(['token', '--room', 'r2'], { env: { NAT_PROBE_AUTH_SECRET: SECRET } });
      peer.send({ type: 'join', seq: 0, room: 'r2', auth: minted.stdout.trim() });
      await peer.nextOfType('joined');
      const config = await peer.nextOfType('config');
      const expiry = Number(String(config.iceServers[0].username).split(':')[0]);
      expect(expiry - Date.now() / 1000).toBeGreaterThan(500);
      expect(expiry - Date.now() / 1000).toBeLessThanOrEqual(600);
    } finally {
      peer.close();
    }
    expect(guarded.stderr()).not.toContain('hands TURN credentials');
  });
});
