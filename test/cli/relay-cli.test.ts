/**
 * TURN from the command line, as real processes against a real coturn on 127.0.0.1:
 * `serve --turn-url --turn-secret` hands each peer REST credentials coturn accepts, two
 * `peer --relay-only` processes connect relay↔relay with them, `trials --turn` relays through an
 * external coturn with the built-in servers, a wrong TURN password is reported while direct
 * still connects, and inconsistent TURN flags are usage errors (exit 2). No secret is printed.
 */
import type { ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { firstLine, runCli, spawnCli, stopProcess } from '../helpers/cli.js';
import { startCoturnTurn, type CoturnTurn } from '../helpers/coturn.js';
import { skipUnlessTools, toolGate } from '../helpers/tools.js';
import { RawPeer } from '../signaling/helpers.js';

const skip = skipUnlessTools(toolGate(['turnserver']), 'TURN flags of serve, peer and trials against coturn');

const SECRET = 'cli-relay-secret-5f2e';
const USER = { name: 'dave', password: 'dave-pass-77' };

/** The last stdout line is the report (NDJSON events before it). */
function report(stdout: string): Record<string, any> {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as Record<string, any>;
}

describe.skipIf(skip)('TURN on the command line (real coturn, real processes)', () => {
  let rest: CoturnTurn;
  let users: CoturnTurn;
  let serve: ChildProcess | undefined;
  const rawPeers: RawPeer[] = [];

  beforeAll(async () => {
    [rest, users] = await Promise.all([startCoturnTurn({ secret: SECRET }), startCoturnTurn({ users: [USER] })]);
  });
  afterAll(async () => {
    await rest?.stop();
    await users?.stop();
  });
  afterEach(async () => {
    for (const peer of rawPeers.splice(0)) peer.close();
    if (serve) await stopProcess(serve);
    serve = undefined;
  });

  async function startServe(extra: string[], env?: NodeJS.ProcessEnv): Promise<{ signalUrl: string; announced: Record<string, any>; stderr: () => string }> {
    serve = spawnCli(['serve', '--port', '0', '--no-alternate', '--signal-port', '0', '--json', ...extra], env === undefined ? {} : { env });
    let stderr = '';
    serve.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const announced = JSON.parse(await firstLine(serve)) as Record<string, any>;
    return { signalUrl: announced.signaling.url as string, announced, stderr: () => stderr };
  }

  it('serve hands each joining peer REST credentials for its TURN server, never the secret', async () => {
    const { signalUrl, announced } = await startServe(['--turn-url', rest.url, '--turn-secret', SECRET, '--turn-ttl', '600']);
    expect(announced.turn).toEqual({ url: rest.url, handedOut: true });
    expect(JSON.stringify(announced)).not.toContain(SECRET);
    const peer = await RawPeer.open(signalUrl);
    rawPeers.push(peer);
    peer.send({ type: 'join', seq: 0, room: 'creds' });
    const joined = await peer.nextOfType('joined');
    const config = await peer.nextOfType('config');
    expect(JSON.stringify(config)).not.toContain(SECRET);
    const [server] = config.iceServers as Array<{ urls: string[]; username: string; credential: string }>;
    expect(server!.urls).toEqual([rest.url]);
    const [expiry, user] = server!.username.split(':');
    expect(user).toBe(joined.peerId);
    const nowSeconds = Date.now() / 1000;
    expect(Number(expiry)).toBeGreaterThan(nowSeconds + 590);
    expect(Number(expiry)).toBeLessThan(nowSeconds + 610);
    // Checked independently of src/turn: the REST API password is base64(HMAC-SHA1(secret, username)).
    expect(server!.credential).toBe(createHmac('sha1', SECRET).update(server!.username).digest('base64'));
  });

  it('serve takes the secret from NAT_PROBE_TURN_SECRET, so it stays off the command line', async () => {
    const { signalUrl, announced } = await startServe(['--turn-url', rest.url], { NAT_PROBE_TURN_SECRET: SECRET });
    expect(announced.turn).toEqual({ url: rest.url, handedOut: true });
    expect(serve!.spawnargs.join(' ')).not.toContain(SECRET);
    const peer = await RawPeer.open(signalUrl);
    rawPeers.push(peer);
    peer.send({ type: 'join', seq: 0, room: 'env-creds' });
    await peer.nextOfType('joined');
    const config = await peer.nextOfType('config');
    const [server] = config.iceServers as Array<{ username: string; credential: string }>;
    expect(server!.credential).toBe(createHmac('sha1', SECRET).update(server!.username).digest('base64'));
  });

  it('two peer processes with --relay-only connect relay/relay on the handed-out credentials', async () => {
    const { signalUrl, stderr } = await startServe(['--turn-url', rest.url, '--turn-secret', SECRET]);
    const args = ['peer', '--signal', signalUrl, '--room', 'relay-cli', '--bind', '127.0.0.1', '--relay-only', '--json', '--timeout', '8000'];
    const [a, b] = await Promise.all([runCli(args), runCli(args)]);
    for (const run of [a, b]) {
      expect(run.code, run.stderr).toBe(0);
      const doc = report(run.stdout);
      expect(doc.connected).toBe(true);
      expect(doc.selectedPair.pairType).toBe('relay/relay');
      expect(doc.relays).toHaveLength(1);
      expect(doc.relays[0]).toMatchObject({ source: 'signaling', server: `${rest.url}?transport=udp` });
      expect(doc.localCandidates.map((c: { type: string }) => c.type)).toEqual(['relay']);
      expect(run.stdout + run.stderr).not.toContain(SECRET);
    }
    expect(stderr()).not.toContain(SECRET);
  });

  it('--direct-only ignores the handed-out TURN server', async () => {
    const { signalUrl } = await startServe(['--turn-url', rest.url, '--turn-secret', SECRET]);
    const args = ['peer', '--signal', signalUrl, '--room', 'direct-only', '--bind', '127.0.0.1', '--direct-only', '--json', '--timeout', '8000'];
    const [a, b] = await Promise.all([runCli(args), runCli(args)]);
    for (const run of [a, b]) {
      expect(run.code, run.stderr).toBe(0);
      const doc = report(run.stdout);
      expect(doc.relays).toEqual([]);
      expect(doc.localCandidates.map((c: { type: string }) => c.type)).not.toContain('relay');
    }
  });

  it('a wrong --turn-pass is reported as turn-auth-failed, the direct path connects, and the password is not printed', async () => {
    const { signalUrl } = await startServe([]);
    const base = ['peer', '--signal', signalUrl, '--room', 'bad-pass', '--bind', '127.0.0.1', '--json', '--timeout', '8000'];
    const [a, b] = await Promise.all([runCli([...base, '--turn', users.url, '--turn-user', USER.name, '--turn-pass', 'not-the-password']), runCli(base)]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const doc = report(a.stdout);
    expect(doc.selectedPair.pairType).toBe('host/host');
    expect(doc.relays[0].error.code).toBe('turn-auth-failed');
    expect(a.stdout).toContain('"type":"peer-relay"');
    expect(a.stdout + a.stderr).not.toContain('not-the-password');
  });

  it('trials without --signal relays through an external coturn (--turn-user/--turn-pass, --relay-only)', async () => {
    const run = await runCli(
      ['trials', '--runs', '2', '--concurrency', '1', '--bind', '127.0.0.1', '--turn', users.url, '--turn-user', USER.name, '--turn-pass', USER.password, '--relay-only', '--json'],
      { timeoutMs: 30_000 },
    );
    expect(run.code, run.stderr).toBe(0);
    const doc = report(run.stdout);
    expect(doc.summary.succeeded).toBe(2);
    expect(doc.summary.byPairType).toEqual([{ pairType: 'relay/relay', trials: 2, share: 1 }]);
    expect(doc.config.turnServers).toEqual([users.url]);
    expect(run.stdout + run.stderr).not.toContain(USER.password);
  });

  it('trials reads the TURN password (with --turn-user) and the REST secret from the environment', async () => {
    const longTerm = await runCli(['trials', '--runs', '1', '--concurrency', '1', '--bind', '127.0.0.1', '--turn', users.url, '--turn-user', USER.name, '--relay-only', '--json'], {
      timeoutMs: 30_000,
      env: { NAT_PROBE_TURN_PASSWORD: USER.password },
    });
    expect(longTerm.code, longTerm.stderr).toBe(0);
    expect(report(longTerm.stdout).summary.byPairType).toEqual([{ pairType: 'relay/relay', trials: 1, share: 1 }]);
    const restApi = await runCli(['trials', '--runs', '1', '--concurrency', '1', '--bind', '127.0.0.1', '--turn', rest.url, '--relay-only', '--json'], {
      timeoutMs: 30_000,
      env: { NAT_PROBE_TURN_SECRET: SECRET },
    });
    expect(restApi.code, restApi.stderr).toBe(0);
    expect(report(restApi.stdout).summary.succeeded).toBe(1);
    expect(longTerm.stdout + longTerm.stderr + restApi.stdout + restApi.stderr).not.toMatch(new RegExp(`${USER.password}|${SECRET}`));
  });

  it('trials --survey reports relay pair checks beside the direct ones', async () => {
    const run = await runCli(
      ['trials', '--runs', '1', '--bind', '127.0.0.1', '--survey', '--turn', users.url, '--turn-user', USER.name, '--turn-pass', USER.password, '--json'],
      { timeoutMs: 30_000 },
    );
    expect(run.code, run.stderr).toBe(0);
    const checks = report(run.stdout).summary.pairChecks as Array<{ pairType: string; succeeded: number }>;
    const succeeded = checks.filter((row) => row.succeeded > 0).map((row) => row.pairType);
    expect(succeeded).toEqual(expect.arrayContaining(['host/host', 'relay/host', 'host/relay', 'relay/relay']));
  });

  it('refuses inconsistent TURN flags with exit 2 and one line', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['peer', '--signal', 'ws://127.0.0.1:9/', '--room', 'r', '--turn', 'turn:127.0.0.1:3478'], /--turn needs credentials/],
      [['peer', '--signal', 'ws://127.0.0.1:9/', '--room', 'r', '--turn-secret', 's'], /need --turn/],
      [['peer', '--signal', 'ws://127.0.0.1:9/', '--room', 'r', '--turn', 'stun:127.0.0.1'], /--turn: .*turn:/],
      [['trials', '--turn', 'turn:127.0.0.1?transport=sctp', '--turn-secret', 's'], /transport "sctp"/],
      [['serve', '--no-alternate', '--port', '0', '--signal-port', '0', '--turn-url', 'turn:127.0.0.1'], /--turn-url and --turn-secret go together/],
    ];
    for (const [args, message] of cases) {
      const run = await runCli(args);
      expect(run.code, `${args.join(' ')}: ${run.stderr}`).toBe(2);
      expect(run.stderr).toMatch(message);
      expect(run.stderr).not.toMatch(/\n\s+at /);
    }
  });
});
