/**
 * detectNat end to end on loopback: real sockets against our own RFC 5780 server and against
 * coturn. On loopback the host's own address comes back, so the right verdict is "no NAT,
 * open internet" with every behaviour endpoint-independent.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { DetectEvent } from '../../src/events.js';
import { detectNat } from '../../src/nat/index.js';
import { startStunServer, type StunServer } from '../../src/server/index.js';
import { UdpEndpoint } from '../../src/transport/index.js';
import { FakeClock } from '../../src/transport/fake-clock.js';
import { driveUntilSettled } from '../helpers/drive-clock.js';
import { startCoturn, skipUnlessTools, toolGate, type Coturn } from '../helpers/coturn.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function ourServer(options: Parameters<typeof startStunServer>[0] = {}): Promise<StunServer> {
  const server = await startStunServer({ primary: '127.0.0.1', alternate: '127.0.0.2', port: 0, rateLimit: false, ...options });
  cleanups.push(() => server.close());
  return server;
}

describe('detectNat against the built-in server', () => {
  it('finds no NAT on loopback, validates the server, and emits the same story as events', async () => {
    const server = await ourServer();
    const events: DetectEvent[] = [];
    const result = await detectNat({ servers: [{ label: 'ours', address: server.addresses.primary }], onEvent: (e) => events.push(e) });
    expect(result.verdict).toMatchObject({
      kind: 'no-nat',
      classicName: 'open-internet',
      mapping: 'endpoint-independent',
      filtering: 'endpoint-independent',
      confidence: 'high',
      publicAddresses: ['127.0.0.1'],
    });
    expect(result.verdict.portAllocation.kind).toBe('preserved');
    expect(result.servers[0]).toMatchObject({ rfc5780: 'valid', reachable: true, alternate: server.addresses.alternateIpAndPort });
    // Every probe sent is reported, and the last event is the verdict.
    const sent = events.filter((e) => e.type === 'probe-sent').length;
    expect(events.filter((e) => e.type === 'probe-result')).toHaveLength(sent);
    expect(sent).toBe(result.observations.length);
    expect(events.at(-1)).toMatchObject({ type: 'verdict', verdict: { classicName: 'open-internet' } });
    // Mapping: 3 sockets × 4 server addresses; filtering: 2 tests × 2 sockets × (control + test).
    expect(result.observations.filter((o) => o.section === 'mapping')).toHaveLength(12);
    expect(result.observations.filter((o) => o.section === 'filtering')).toHaveLength(8);
  });

  it('tests hairpinning when asked (loopback hairpins trivially)', async () => {
    const server = await ourServer();
    const result = await detectNat({ servers: [{ label: 'ours', address: server.addresses.primary }], hairpin: true });
    expect(result.verdict.hairpinning).toBe('supported');
  });

  it('reports filtering as untested, not guessed, when the server has no alternate address', async () => {
    const server = await ourServer({ alternate: undefined });
    const result = await detectNat({ servers: [{ label: 'plain', address: server.addresses.primary }] });
    expect(result.servers[0]!.rfc5780).toBe('absent');
    expect(result.verdict.filtering).toBe('unknown');
    expect(result.verdict.kind).toBe('no-nat');
    expect(result.verdict.classicName).toBe('unknown');
    expect(result.verdict.reasons.join(' ')).toContain('no server offers RFC 5780');
  });

  it('uses a second server to check whether mapping depends on the destination', async () => {
    const a = await ourServer({ alternate: undefined });
    const b = await startStunServer({ primary: '127.0.0.3', port: 0, rateLimit: false });
    cleanups.push(() => b.close());
    const result = await detectNat({
      servers: [
        { label: 'a', address: a.addresses.primary },
        { label: 'b', address: b.addresses.primary },
      ],
    });
    expect(result.verdict.mapping).toBe('endpoint-independent');
    expect(result.servers.map((s) => s.reachable)).toEqual([true, true]);
  });

  it('says UDP blocked within the discovery schedule when nothing answers', async () => {
    const silent = await UdpEndpoint.bind({ address: '127.0.0.1' });
    cleanups.push(() => silent.close());
    let requests = 0;
    silent.onDatagram(() => requests++);
    // Simulated time (real sockets, fake clock): the schedule, not the machine's speed, sets the duration.
    const clock = new FakeClock();
    const { value: result, simulatedMs } = await driveUntilSettled(clock, detectNat({ servers: [{ label: 'silent', address: silent.local }], discoveryRtoMs: 20, clock }));
    expect(result.verdict.kind).toBe('udp-blocked');
    expect(result.servers[0]!.reachable).toBe(false);
    // 4 sends at 0, 20, 60, 140 ms, then 8 × 20 ms: 300 ms, well inside the 5 s cap.
    expect(result.durationMs).toBe(simulatedMs);
    expect(simulatedMs).toBeGreaterThanOrEqual(300);
    expect(simulatedMs).toBeLessThan(400);
    expect(result.verdict.reasons.join(' ')).not.toContain('overall timeout');
    // The first mapping probe from each of the 3 sockets, each sent 4 times; nothing more once none answered.
    expect(requests).toBe(12);
  });

  it('does not wait for a dead server once another has answered', async () => {
    const server = await ourServer();
    const silent = await UdpEndpoint.bind({ address: '127.0.0.1' });
    cleanups.push(() => silent.close());
    const clock = new FakeClock();
    const running = detectNat({
      servers: [
        { label: 'ours', address: server.addresses.primary },
        { label: 'dead', address: silent.local },
      ],
      stragglerGraceMs: 100,
      clock,
    });
    const { value: result, simulatedMs } = await driveUntilSettled(clock, running);
    expect(result.verdict.classicName).toBe('open-internet');
    expect(result.servers.find((s) => s.label === 'dead')!.reachable).toBe(false);
    // The dead server gets the straggler grace after the first answers, not the 5 s overall cap.
    expect(simulatedMs).toBeLessThan(1500);
    expect(result.verdict.reasons.join(' ')).not.toContain('overall timeout');
  });

  it('marks the verdict inconclusive, not wrong, when the overall timeout cuts probing short', async () => {
    const silent = await UdpEndpoint.bind({ address: '127.0.0.1' });
    cleanups.push(() => silent.close());
    const result = await detectNat({ servers: [{ label: 'silent', address: silent.local }], timeoutMs: 100 });
    expect(['udp-blocked', 'inconclusive']).toContain(result.verdict.kind);
    expect(result.verdict.reasons.join(' ')).toContain('overall timeout');
  });
});

describe('detectNat over IPv6 loopback', () => {
  it('probes ::1 when the host has IPv6 loopback', async (context) => {
    let server: StunServer;
    try {
      server = await startStunServer({ primary: '::1', port: 0, rateLimit: false });
    } catch (error) {
      context.skip(`::1 is not available here: ${(error as Error).message}`);
      return;
    }
    cleanups.push(() => server.close());
    const result = await detectNat({ servers: [{ label: 'v6', address: server.addresses.primary }] });
    expect(result.family).toBe(6);
    expect(result.verdict.kind).toBe('no-nat');
    expect(result.verdict.publicAddresses).toEqual(['::1']);
  });
});

const coturnGate = toolGate(['turnserver']);
const skipCoturn = skipUnlessTools(coturnGate, 'detectNat against coturn');

describe.skipIf(skipCoturn)('detectNat against coturn (interop)', () => {
  let coturn: Coturn | undefined;
  afterEach(async () => {
    await coturn?.stop();
    coturn = undefined;
  });

  it('validates coturn as an RFC 5780 server and reaches the same verdict', async () => {
    coturn = await startCoturn({ listen: ['127.0.0.1', '127.0.0.2'] });
    const result = await detectNat({ servers: [{ label: 'coturn', address: { family: 4, address: '127.0.0.1', port: coturn.port } }] });
    expect(result.servers[0]).toMatchObject({ rfc5780: 'valid', alternate: { address: '127.0.0.2', port: coturn.altPort } });
    expect(result.verdict).toMatchObject({ kind: 'no-nat', classicName: 'open-internet', filtering: 'endpoint-independent', confidence: 'high' });
  });
});
