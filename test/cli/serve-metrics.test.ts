/** `serve --metrics` (Prometheus text) and `--log-level/--log-format` (pino) as a real process. */
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mintAuthToken } from '../../src/signaling/index.js';
import { firstLine, runCli, spawnCli, stopProcess } from '../helpers/cli.js';
import { redisGate, RedisProcess } from '../helpers/redis.js';
import { skipUnlessTools } from '../helpers/tools.js';
import { RawPeer } from '../signaling/helpers.js';

const skip = skipUnlessTools(redisGate, 'serve metrics with Redis');
const SECRET = 'metrics-test-secret-0123456789';

let redis: RedisProcess | undefined;
let child: ChildProcess | undefined;
beforeAll(async () => {
  if (!skip) redis = await RedisProcess.start();
});
afterAll(async () => {
  await redis?.stop();
});
afterEach(async () => {
  if (child) await stopProcess(child);
  child = undefined;
});

describe.skipIf(skip)('serve --metrics and structured logs', () => {
  it('serves Prometheus text with STUN, signaling, Redis latency and process metrics; logs JSON without tokens', async () => {
    child = spawnCli([
      'serve', '--port', '0', '--no-alternate', '--signal-port', '0', '--json',
      '--redis', redis!.url, '--metrics', '127.0.0.1:0', '--log-level', 'debug', '--log-format', 'json', '--auth-secret', SECRET,
    ]);
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const announced = JSON.parse(await firstLine(child)) as { signaling: { url: string }; metrics: { url: string } };
    expect(announced.metrics.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);

    const token = mintAuthToken(SECRET, { room: 'm1', ttlSeconds: 60, nowSeconds: Math.floor(Date.now() / 1000) });
    const peer = await RawPeer.open(announced.signaling.url);
    try {
      expect(await peer.join('m1', { auth: token })).toMatchObject({ type: 'joined' });
      expect(await peer.join('m1')).toMatchObject({ code: 'already-joined' });
    } finally {
      peer.close();
    }
    const response = await fetch(announced.metrics.url);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    expect(text).toMatch(/^natprobe_signaling_joins_total 1$/m);
    expect(text).toMatch(/^natprobe_signaling_rooms 1$/m);
    expect(text).toMatch(/^natprobe_signaling_errors_total\{code="already-joined"\} 1$/m);
    expect(text).toMatch(/^natprobe_redis_command_duration_seconds_count\{command="addPeer"\} 1$/m);
    expect(text).toContain('# TYPE natprobe_stun_requests_total counter');
    expect(text).toContain('natprobe_process_resident_memory_bytes');
    expect(text).not.toContain(token);
    expect((await fetch(announced.metrics.url.replace('/metrics', '/'))).status).toBe(404);

    const lines = stderr.trim().split('\n').map((line) => JSON.parse(line) as { msg: string; level: number; room?: string });
    expect(lines.some((line) => line.msg === 'session started' && line.room === 'm1')).toBe(true);
    expect(stderr).not.toContain(token);
    expect(stderr).not.toContain(SECRET);
  });

  it('names the metrics port and what to do when it is taken', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as { port: number }).port;
    try {
      const run = await runCli(['serve', '--port', '0', '--no-alternate', '--signal-port', '0', '--metrics', `127.0.0.1:${port}`]);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(`cannot serve metrics on TCP 127.0.0.1:${port}: the port is already in use`);
      expect(run.stderr).not.toContain('Please report');
    } finally {
      await new Promise<void>((resolve) => holder.close(() => resolve()));
    }
  });

  it.each([
    [['serve', '--metrics', 'nope'], '--metrics takes HOST:PORT'],
    [['serve', '--log-level', 'loud'], '--log-level must be one of'],
    [['serve', '--log-format', 'xml'], '--log-format must be one of'],
  ])('%j is a usage error', async (args, text) => {
    const run = await runCli(args);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(text);
  });
});
