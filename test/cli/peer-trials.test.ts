/**
 * `nat-probe peer` and `nat-probe trials` through main(), in process, on loopback: real peer
 * sessions, real signaling and STUN servers (built-in, or started here and closed afterwards).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runTrialsCommand } from '../../src/cli/commands/trials.js';
import { main } from '../../src/cli/main.js';
import { startSignalingServer, type SignalingServer } from '../../src/signaling/index.js';
import { fakeIo } from './fake-io.js';

let servers: SignalingServer[] = [];
let dirs: string[] = [];

afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs = [];
});

function ndjson(text: string): Array<Record<string, unknown>> {
  return text
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('nat-probe trials', () => {
  it('--json: one event per line, then the versioned report as the last line; exit 0 when every trial connects', async () => {
    const io = fakeIo();
    expect(await main(['trials', '--runs', '4', '--concurrency', '2', '--bind', '127.0.0.1', '--json'], io)).toBe(0);
    const lines = ndjson(io.out());
    const report = lines.at(-1)!;
    const events = lines.slice(0, -1);
    expect(events.filter((e) => e.type === 'trial-started')).toHaveLength(4);
    expect(events.filter((e) => e.type === 'trial-done')).toHaveLength(4);
    expect(events.every((e) => e.type === 'trial-started' || e.type === 'trial-done')).toBe(true); // no ICE events without --all-events
    expect(report).toMatchObject({ schema: 'nat-probe.trials/v2', exitCode: 0, threshold: { minSuccess: 1, met: true }, config: { runs: 4, concurrency: 2, builtInServers: true } });
    const summary = report.summary as Record<string, unknown>;
    expect(summary).toMatchObject({ runs: 4, succeeded: 4, successRate: 1, failureReasons: [] });
    expect((summary.timeToConnectMs as { count: number }).count).toBe(4);
    expect(io.err()).toBe('');
  });

  it('--all-events adds the first peer’s ICE events, tagged with their trial', async () => {
    const io = fakeIo();
    expect(await main(['trials', '--runs', '2', '--bind', '127.0.0.1', '--json', '--all-events'], io)).toBe(0);
    const events = ndjson(io.out()).slice(0, -1);
    const candidates = events.filter((e) => e.type === 'ice-candidate');
    expect(candidates.length).toBeGreaterThan(0);
    expect(new Set(candidates.map((e) => e.trial))).toEqual(new Set([1, 2]));
    expect(events.some((e) => e.type === 'ice-pair' && e.state === 'succeeded')).toBe(true);
  });

  it('plain output off a terminal: a line per trial, then the summary table; --junit writes one testcase per trial', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nat-probe-junit-'));
    dirs.push(dir);
    const file = join(dir, 'trials.xml');
    const io = fakeIo();
    expect(await main(['trials', '--runs', '3', '--concurrency', '3', '--bind', '127.0.0.1', '--junit', file], io)).toBe(0);
    const out = io.out();
    expect(out.match(/^trial [123]\/3 {2}connected {2}host\/host {2}[\d.]+ ms$/gm)).toHaveLength(3);
    expect(out).toContain('100% (3/3), 95% CI 43.9%–100%');
    expect(out).toContain('threshold met');
    const xml = readFileSync(file, 'utf8');
    expect(xml.match(/<testcase /g)).toHaveLength(3);
    expect(xml).toContain('failures="0"');
  });

  it('--min-success decides the exit status: 1 below it, 0 at it; failures are listed with their reason', async () => {
    // A server that holds one room: of two pairings started together, one gets the room and the
    // other is refused (too-many-rooms), so exactly half the trials connect.
    const server = await startSignalingServer({ port: 0, maxRooms: 1 });
    servers.push(server);
    const args = ['trials', '--runs', '2', '--concurrency', '2', '--signal', server.url, '--bind', '127.0.0.1'];
    const strict = fakeIo();
    expect(await main(args, strict)).toBe(1);
    expect(strict.out()).toMatch(/^trial [12]\/2 {2}FAILED {5}too-many-rooms$/m);
    expect(strict.out()).toMatch(/^trial [12]\/2 {2}connected/m);
    expect(strict.out()).toContain('50.0% (1/2)');
    expect(strict.out()).toContain('BELOW THRESHOLD');
    expect(strict.out()).toContain('too-many-rooms × 1');

    const lenient = fakeIo();
    expect(await main([...args, '--min-success', '0.5', '--json'], lenient)).toBe(0);
    expect(ndjson(lenient.out()).at(-1)).toMatchObject({ exitCode: 0, threshold: { minSuccess: 0.5, met: true }, summary: { succeeded: 1, failed: 1 } });
  });

  it('an interrupted run reports what ran and exits 1', async () => {
    const controller = new AbortController();
    const io = fakeIo();
    const options = { runs: 50, concurrency: 1, timeout: 5000, minSuccess: 0, bind: '127.0.0.1', json: true };
    // Interrupt once the first trial is done, as Ctrl-C would.
    io.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('"type":"trial-done"')) controller.abort();
    });
    expect(await runTrialsCommand(options, io, controller.signal)).toBe(1);
    const report = ndjson(io.out()).at(-1)!;
    expect(report).toMatchObject({ aborted: true, exitCode: 1, threshold: { minSuccess: 0, met: true }, summary: { runs: 1, succeeded: 1 } });
  });

  it('exits 2 when the signaling server cannot be reached, and says so', async () => {
    const closed = await startSignalingServer({ port: 0 });
    const url = closed.url;
    await closed.close();
    const io = fakeIo();
    expect(await main(['trials', '--runs', '1', '--signal', url, '--timeout', '2000', '--json'], io)).toBe(2);
    expect(io.err()).toContain('signaling-unreachable');
    expect(ndjson(io.out()).at(-1)).toMatchObject({ schema: 'nat-probe.trials/v2', summary: { succeeded: 0, failureReasons: [{ reason: 'signaling-unreachable', count: 1 }] } });
  });
});

describe('nat-probe peer', () => {
  it('exits 2 when the other peer never comes, and says what to do', async () => {
    const server = await startSignalingServer({ port: 0 });
    servers.push(server);
    const io = fakeIo();
    expect(await main(['peer', '--signal', server.url, '--room', 'alone', '--bind', '127.0.0.1', '--timeout', '300'], io)).toBe(2);
    expect(io.err()).toContain('[peer-never-came]');
    expect(io.err()).toContain('same --room');
  });

  it('two peers in one room connect: each exits 0 and reports the selected pair, every pair and time to connect', async () => {
    const server = await startSignalingServer({ port: 0 });
    servers.push(server);
    const a = fakeIo();
    const b = fakeIo();
    const args = ['peer', '--signal', server.url, '--room', 'cli-peer-test', '--bind', '127.0.0.1', '--timeout', '5000'];
    const [codeA, codeB] = await Promise.all([main([...args, '--json'], a), main(args, b)]);
    expect([codeA, codeB]).toEqual([0, 0]);

    const lines = ndjson(a.out());
    const report = lines.at(-1)!;
    expect(report).toMatchObject({ schema: 'nat-probe.peer/v2', room: 'cli-peer-test', connected: true, exitCode: 0, failureReason: null });
    expect((report.selectedPair as { pairType: string }).pairType).toBe('host/host');
    expect(typeof report.timeToConnectMs).toBe('number');
    expect((report.pairs as Array<{ state: string; attempts: number }>).some((p) => p.state === 'succeeded' && p.attempts >= 1)).toBe(true);
    expect(lines.slice(0, -1).some((e) => e.type === 'ice-candidate')).toBe(true);

    // The plain peer printed event lines, then the table.
    expect(b.out()).toMatch(/^candidate local\s+host\s+127\.0\.0\.1:\d+$/m);
    expect(b.out()).toContain('connected in');
    expect(b.out()).toMatch(/Selected pair\s+│ host\/host/);
  });
});
