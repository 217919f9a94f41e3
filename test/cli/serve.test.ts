/** `nat-probe serve` as a real process: announces its URLs, answers STUN, accepts signaling, stops cleanly. */
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { newTransactionId, StunMethod, getAttribute } from '../../src/stun/index.js';
import { StunTransactions, UdpEndpoint } from '../../src/transport/index.js';
import { firstLine, runCli, spawnCli, stopProcess } from '../helpers/cli.js';
import { withinMs } from '../helpers/events.js';
import { freePort } from '../helpers/redis.js';

let child: ChildProcess | undefined;
afterEach(async () => {
  if (child) await stopProcess(child);
  child = undefined;
});

describe('nat-probe serve', () => {
  it('serves RFC 5780 STUN and WebSocket signaling, and prints counters on SIGTERM', async () => {
    child = spawnCli(['serve', '--port', '0', '--signal-port', '0', '--json']);
    const announced = JSON.parse(await firstLine(child)) as { schema: string; stun: { primary: string; alternate: string; rfc5780: boolean }; signaling: { url: string } };
    expect(announced.schema).toBe('nat-probe.serve/v1');
    expect(announced.stun.rfc5780).toBe(true);
    expect(announced.stun.alternate).toMatch(/^127\.0\.0\.2:\d+$/);

    const [host, port] = announced.stun.primary.split(':');
    const endpoint = await UdpEndpoint.bind({ address: '127.0.0.1' });
    const transactions = new StunTransactions(endpoint);
    try {
      const answer = await transactions.request({ class: 'request', method: StunMethod.binding, transactionId: newTransactionId(), attributes: [] }, { address: host!, port: Number(port) });
      expect(getAttribute(answer.response, 'XOR-MAPPED-ADDRESS')).toMatchObject({ address: '127.0.0.1', port: endpoint.local.port });
      expect(getAttribute(answer.response, 'OTHER-ADDRESS')?.address).toBe('127.0.0.2');
    } finally {
      transactions.close();
      await endpoint.close();
    }

    const socket = new WebSocket(announced.signaling.url, 'nat-probe-signaling.v1');
    await withinMs(new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject)), 5000, 'the signaling WebSocket to open');
    socket.close();

    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await withinMs(exited, 5000, 'serve to exit')).toBe(0);
    expect(stderr).toContain('"requests":1');
  });

  it('refuses a non-IP primary address with exit 2', async () => {
    const run = await runCli(['serve', '--primary', 'not-an-ip', '--no-signal']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('is not an IP address');
  });

  it('says what to do when the port is taken', async () => {
    const holder = await UdpEndpoint.bind({ address: '127.0.0.1' });
    try {
      const run = await runCli(['serve', '--port', String(holder.local.port), '--no-alternate', '--no-signal']);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/nat-probe: .+\[server-bind-failed\]/);
      expect(run.stderr).not.toMatch(/\n\s+at /);
    } finally {
      await holder.close();
    }
  });

  it('names the signaling port and what to do when it is taken', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as { port: number }).port;
    try {
      const run = await runCli(['serve', '--port', '0', '--no-alternate', '--signal-port', String(port)]);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(`cannot start signaling on TCP 127.0.0.1:${port}: the port is already in use`);
      expect(run.stderr).toContain('--signal-port');
      expect(run.stderr).not.toContain('Please report');
    } finally {
      await new Promise<void>((resolve) => holder.close(() => resolve()));
    }
  });

  it('exits 2 with the reason when Redis is unreachable at start', async () => {
    const port = await freePort();
    const run = await runCli(['serve', '--port', '0', '--no-alternate', '--signal-port', '0', '--redis', `redis://:hunter2@127.0.0.1:${port}`]);
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/cannot start signaling: Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+ is unreachable.*ECONNREFUSED.*\[redis-unreachable\]/);
    expect(run.stderr).not.toContain('hunter2');
  });

  it('refuses a --redis that is not a redis:// URL', async () => {
    const run = await runCli(['serve', '--redis', 'http://127.0.0.1:6379']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('redis://');
  });
});
