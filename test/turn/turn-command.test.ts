/**
 * `nat-probe turn` end to end: the built CLI as a separate process against a real coturn on
 * 127.0.0.1 — exit codes, the JSON document, and that no password or secret is ever printed.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UdpEndpoint } from '../../src/transport/index.js';
import { createInterface } from 'node:readline';
import { runCli, spawnCli, stopProcess } from '../helpers/cli.js';
import { withinMs } from '../helpers/events.js';
import { startCoturnTurn, type CoturnTurn } from '../helpers/coturn.js';
import { makeSelfSignedCertificate, type TestCertificate } from '../helpers/tls-cert.js';
import { skipUnlessTools, toolGate } from '../helpers/tools.js';

const skip = skipUnlessTools(toolGate(['turnserver']), 'nat-probe turn against coturn');

const PASSWORD = 'Pa55-for-cli-test';
const SECRET = 'cli-rest-secret-42';
const NO_TTY = { CI: 'true', NO_COLOR: '1' };

describe.skipIf(skip)('nat-probe turn (process) against coturn', () => {
  let coturn: CoturnTurn;
  let coturnRest: CoturnTurn;

  beforeAll(async () => {
    [coturn, coturnRest] = await Promise.all([startCoturnTurn({ users: [{ name: 'carol', password: PASSWORD }], verbose: true }), startCoturnTurn({ secret: SECRET })]);
  });
  afterAll(async () => {
    await coturn?.stop();
    await coturnRest?.stop();
  });

  it('all six checks pass with --json: one document, schema nat-probe.turn/v1, exit 0, no password', async () => {
    const run = await runCli(['turn', '--server', coturn.url, '--user', 'carol', '--pass', PASSWORD, '--packets', '50', '--json'], { env: NO_TTY });
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const report = JSON.parse(lines[0]!);
    expect(report.schema).toBe('nat-probe.turn/v1');
    expect(report.steps.map((step: { step: string; status: string }) => `${step.step}:${step.status}`)).toEqual([
      'reachability:pass',
      'authentication:pass',
      'allocation:pass',
      'permission:pass',
      'channel:pass',
      'round-trip:pass',
    ]);
    expect(report.relayed).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(report.lifetimeSeconds).toBeGreaterThan(0);
    expect(report.channel).toBeGreaterThanOrEqual(0x4000);
    expect(report.roundTrip).toMatchObject({ sent: 50, received: 50, lost: 0 });
    expect(report.roundTrip.rttMs.median).toBeGreaterThan(0);
    expect(report.roundTrip.packetsPerSecond).toBeGreaterThan(0);
    expect(run.stdout + run.stderr).not.toContain(PASSWORD);
  });

  it('a wrong password exits 1 with the 401 message, authentication failed, and the password nowhere', async () => {
    const wrong = 'definitely-wrong-pw';
    const run = await runCli(['turn', '--server', coturn.url, '--user', 'carol', '--pass', wrong], { env: NO_TTY });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/FAIL Authentication: .*401 Unauthorized.*"carol"/);
    expect(run.stdout).toContain('[turn-auth-failed]');
    expect(run.stdout + run.stderr).not.toContain(wrong);
    const json = await runCli(['turn', '--server', coturn.url, '--user', 'carol', '--pass', wrong, '--json'], { env: NO_TTY });
    expect(json.code).toBe(1);
    const report = JSON.parse(json.stdout);
    expect(report.steps[1]).toMatchObject({ step: 'authentication', status: 'fail', code: 'turn-auth-failed' });
    expect(report.steps.slice(2).every((step: { status: string }) => step.status === 'skipped')).toBe(true);
    expect(json.stdout).not.toContain(wrong);
  });

  it('--secret makes REST-API credentials (user part from --user), over TCP; the secret and derived password are never printed', async () => {
    const run = await runCli(['turn', '--server', `${coturnRest.url}?transport=tcp`, '--secret', SECRET, '--user', 'probe', '--ttl', '600', '--json'], { env: NO_TTY });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report).toMatchObject({ transport: 'tcp', credentialKind: 'rest-api', passed: true });
    expect(report.username).toMatch(/^\d+:probe$/);
    expect(run.stdout + run.stderr).not.toContain(SECRET);
    // The derived password is base64(HMAC-SHA1(secret, username)); it must not leak either.
    const { createHmac } = await import('node:crypto');
    expect(run.stdout).not.toContain(createHmac('sha1', SECRET).update(report.username).digest('base64'));
  });

  it('the secret can come from NAT_PROBE_TURN_SECRET instead of the command line', async () => {
    const run = await runCli(['turn', '--server', coturnRest.url, '--packets', '10'], { env: { ...NO_TTY, NAT_PROBE_TURN_SECRET: SECRET } });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain('PASS Round trip: 10/10');
    expect(run.stdout).toContain('all checks passed');
  });

  it('an unreachable server exits 1 with reachability failed (turn-unreachable), quickly', async () => {
    const probe = await UdpEndpoint.bind({ address: '127.0.0.1' });
    const port = probe.local.port;
    await probe.close();
    const run = await runCli(['turn', '--server', `turn:127.0.0.1:${port}`, '--user', 'u', '--pass', 'p', '--timeout', '500', '--json'], { env: NO_TTY });
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout);
    expect(report.steps[0]).toMatchObject({ step: 'reachability', status: 'fail', code: 'turn-unreachable' });
  });

  it.each([
    [['turn', '--server', 'stun:127.0.0.1', '--user', 'u', '--pass', 'p'], /turn-bad-url|must start with "turn:"/],
    [['turn', '--server', 'turn:127.0.0.1:99999', '--user', 'u', '--pass', 'p'], /port "99999"/],
    [['turn', '--server', 'turn:127.0.0.1'], /Credentials are missing/],
    [['turn', '--server', 'turn:127.0.0.1', '--pass', 'p'], /--pass needs --user/],
    [['turn', '--server', 'turn:127.0.0.1', '--user', 'u', '--pass', 'p', '--secret', 's'], /not both/],
    [['turn', '--server', 'turn:127.0.0.1', '--user', 'u', '--pass', 'p', '--packets', '0'], /--packets must be a whole number/],
    [['turn', '--server', 'turn:no-such-host.invalid', '--user', 'u', '--pass', 'p'], /does not resolve/],
  ])('usage error %j exits 2 with one line and no stack', async (args, message) => {
    const run = await runCli(args, { env: NO_TTY });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it('Ctrl-C during the round trip stops it, still releases the allocation (Refresh 0) and exits 1 as interrupted', async () => {
    const child = spawnCli(['turn', '--server', coturn.url, '--user', 'carol', '--pass', PASSWORD, '--packets', '100000', '--timeout', '60000'], { env: NO_TTY });
    try {
      const lines = createInterface({ input: child.stdout! });
      const output: string[] = [];
      const channelBound = new Promise<void>((resolve) =>
        lines.on('line', (line) => {
          output.push(line);
          if (line.startsWith('PASS Channel bind')) resolve();
        }),
      );
      await withinMs(channelBound, 10_000, 'the channel-bind line');
      const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
      // Only a Refresh(0) logged after the interrupt counts (earlier tests released allocations too).
      const released = coturn.waitForLog(/refreshed, realm=<nat-probe.test>, username=<carol>, lifetime=0/, 10_000, true);
      child.kill('SIGINT');
      const code = await withinMs(exited, 10_000, 'exit after SIGINT');
      expect(code).toBe(1);
      expect(output.join('\n')).toMatch(/FAIL Round trip: .*interrupted/);
      expect(output.join('\n')).toContain('interrupted before every check ran');
      await released;
    } finally {
      await stopProcess(child);
    }
  });

  it('--help shows examples and exit codes', async () => {
    const run = await runCli(['turn', '--help'], { env: NO_TTY });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Examples:');
    expect(run.stdout).toContain('--secret');
    expect(run.stdout).toContain('Exit codes: 0 every check passed');
  });
});

const skipTls = skipUnlessTools(toolGate(['turnserver', 'openssl'], 'apt-get install coturn openssl'), 'nat-probe turn over TLS against coturn');

describe.skipIf(skipTls)('nat-probe turn --server turns: (process) against coturn with a self-signed certificate', () => {
  let certificate: TestCertificate;
  let coturn: CoturnTurn;

  beforeAll(async () => {
    certificate = await makeSelfSignedCertificate();
    coturn = await startCoturnTurn({ users: [{ name: 'carol', password: PASSWORD }], tls: { certFile: certificate.certFile, keyFile: certificate.keyFile } });
  });
  afterAll(async () => {
    await coturn?.stop();
    certificate?.remove();
  });

  it('--turn-ca with the certificate: all six checks pass over TLS, exit 0', async () => {
    const run = await runCli(['turn', '--server', coturn.tlsUrl!, '--turn-ca', certificate.certFile, '--user', 'carol', '--pass', PASSWORD, '--packets', '20', '--json'], { env: NO_TTY });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report).toMatchObject({ server: coturn.tlsUrl, transport: 'tls', passed: true });
    expect(run.stdout + run.stderr).not.toContain(PASSWORD);
  });

  it('without --turn-ca: exit 1, reachability fails with turn-tls-failed, saying self-signed and --turn-ca', async () => {
    const run = await runCli(['turn', '--server', coturn.tlsUrl!, '--user', 'carol', '--pass', PASSWORD], { env: NO_TTY });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/FAIL Reachability: .*self-signed certificate.*--turn-ca FILE/);
    expect(run.stdout).toContain('[turn-tls-failed]');
  });

  it.each([
    [['--turn-ca', join(tmpdir(), 'nat-probe-no-such-dir', 'missing.pem')], /--turn-ca: cannot read ".*missing\.pem" \(ENOENT\)/],
    [['--server', 'turns:127.0.0.1?transport=udp'], /DTLS, which nat-probe does not support/],
  ])('usage error %j exits 2 with one line and no stack', async (extra, message) => {
    const args = ['turn', '--server', coturn.tlsUrl!, '--user', 'u', '--pass', 'p', ...extra];
    const run = await runCli(args, { env: NO_TTY });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });
});
