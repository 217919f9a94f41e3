/**
 * An unreachable UDP TURN server fails at once (issue 13): the client's socket is connected to
 * the server, so the ICMP port unreachable for a closed port ends the Allocate with
 * `turn-unreachable` instead of retransmitting until the timeout. Loopback, a closed port.
 * Simulated time (FakeClock driven beside the real socket): the first retransmission would be
 * due at 100 ms, so an answer before it shows that ICMP, not a timer, ended the request.
 */
import { describe, expect, it } from 'vitest';
import { allocate, parseTurnUrl } from '../../src/turn/index.js';
import { UdpEndpoint } from '../../src/transport/index.js';
import { FakeClock } from '../../src/transport/fake-clock.js';
import { driveUntilSettled } from '../helpers/drive-clock.js';

async function closedPort(): Promise<number> {
  const endpoint = await UdpEndpoint.bind({ address: '127.0.0.1', port: 0 });
  const port = endpoint.local.port;
  await endpoint.close();
  return port;
}

describe('TURN over UDP to a closed port', () => {
  it('fails with turn-unreachable on the ICMP error, before any retransmission', async () => {
    const port = await closedPort();
    const clock = new FakeClock();
    const attempt = allocate({ server: parseTurnUrl(`turn:127.0.0.1:${port}`), credentials: { username: 'u', password: 'p' }, timeoutMs: 5000, clock }).then(
      () => undefined,
      (error: unknown) => error as { code?: string; message?: string },
    );
    const { value: failure, simulatedMs } = await driveUntilSettled(clock, attempt, { maxSimulatedMs: 10_000 });
    expect(failure).toMatchObject({ code: 'turn-unreachable' });
    expect(failure!.message).toMatch(/TURN server turn:127\.0\.0\.1:\d+\?transport=udp is unreachable: ICMP port unreachable/);
    expect(simulatedMs).toBeLessThan(100);
  });

  it('a silent server (bound, never answers) still costs the timeout: no ICMP, no shortcut', async () => {
    const silent = await UdpEndpoint.bind({ address: '127.0.0.1', port: 0 });
    let requests = 0;
    silent.onDatagram(() => requests++);
    try {
      const clock = new FakeClock();
      const attempt = allocate({ server: parseTurnUrl(`turn:127.0.0.1:${silent.local.port}`), credentials: { username: 'u', password: 'p' }, timeoutMs: 1000, clock }).then(
        () => undefined,
        (error: unknown) => error as { code?: string; message?: string },
      );
      const { value: failure, simulatedMs } = await driveUntilSettled(clock, attempt, { stepMs: 5, maxSimulatedMs: 10_000 });
      expect(failure).toMatchObject({ code: 'turn-unreachable' });
      expect(failure!.message).toMatch(/no answer to allocate/i);
      expect(simulatedMs).toBeGreaterThanOrEqual(1000);
      expect(requests).toBeGreaterThan(1);
    } finally {
      await silent.close();
    }
  });
});
