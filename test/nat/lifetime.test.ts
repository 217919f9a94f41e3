/**
 * The mapping-lifetime search. The pure planning against hand-made outcomes, and the engine end
 * to end on loopback against a small server that honours RESPONSE-PORT (RFC 5780 §7.5) and
 * plays a NAT: it delivers to a port only while that port has been active within LIFETIME_MS
 * (requests from it and answers to it both refresh it, as conntrack does). The kernel NAT
 * version of this is test/lab/lifetime.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { bracketLifetime, keepaliveAdvice, lifetimeGrid, measureLifetime, nextSequentialWait, type LifetimeEvent } from '../../src/nat/index.js';
import { attr, decodeMessage, encodeMessage, getAttribute, type StunMessage } from '../../src/stun/index.js';
import { UdpEndpoint } from '../../src/transport/index.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('lifetime planning (pure)', () => {
  it('spaces waits 2 s apart while short, then 12 % apart, up to the maximum', () => {
    const grid = lifetimeGrid(300_000);
    expect(grid.slice(0, 9)).toEqual([2000, 4000, 6000, 8000, 10000, 12000, 14000, 16000, 18000]);
    expect(grid.at(-1)).toBe(300_000);
    // A 30 s lifetime falls between two waits at most 3.4 s apart: ±2 s.
    const above = grid.find((w) => w >= 30_000)!;
    const below = [...grid].reverse().find((w) => w < 30_000)!;
    expect(above - below).toBeLessThanOrEqual(4000);
    expect(grid.length).toBeLessThanOrEqual(35);
  });

  it('brackets the lifetime between the longest survival and the shortest loss', () => {
    expect(bracketLifetime([{ waitMs: 18_000, alive: true }, { waitMs: 20_200, alive: false }, { waitMs: 16_000, alive: true }])).toEqual({
      status: 'measured', lowerMs: 18_000, upperMs: 20_200, estimateMs: 19_100, resolutionMs: 1100,
    });
    // A loss that a longer survival contradicts was a lost answer: it is ignored.
    expect(bracketLifetime([{ waitMs: 4000, alive: false }, { waitMs: 6000, alive: true }, { waitMs: 8000, alive: false }])).toMatchObject({ lowerMs: 6000, upperMs: 8000 });
    expect(bracketLifetime([{ waitMs: 4000, alive: false }, { waitMs: 6000, alive: true }])).toEqual({ status: 'above-max', lowerMs: 6000 });
    expect(bracketLifetime([{ waitMs: 2000, alive: true }])).toEqual({ status: 'above-max', lowerMs: 2000 });
    expect(bracketLifetime([{ waitMs: 2000, alive: false }])).toEqual({ status: 'below-min', upperMs: 2000 });
  });

  it('plans the sequential baseline: doubling to the first loss, then bisecting to ±resolution', () => {
    const plan = { firstMs: 2000, maxMs: 300_000, resolutionMs: 2000 };
    const lifetime = 30_000;
    const tests: { waitMs: number; alive: boolean }[] = [];
    for (let wait = nextSequentialWait(tests, plan); wait !== undefined; wait = nextSequentialWait(tests, plan)) tests.push({ waitMs: wait, alive: wait < lifetime });
    expect(tests.map((t) => t.waitMs)).toEqual([2000, 4000, 8000, 16_000, 32_000, 24_000, 28_000]);
    expect(tests.reduce((sum, t) => sum + t.waitMs, 0)).toBe(114_000); // waiting alone; the parallel search needs ~32 s
  });

  it('turns the lower bound into keepalive advice for ICE consent, TURN and a 120 s backoff', () => {
    const short = keepaliveAdvice(20_000);
    expect(short).toMatchObject({ maxIntervalMs: 16_000, iceConsentEnough: true, turnRefreshEnough: false, backoffCapEnough: false });
    expect(short.text).toContain('cap the backoff at 13.9 s');
    const tiny = keepaliveAdvice(5000);
    expect(tiny.iceConsentEnough).toBe(false);
    expect(keepaliveAdvice(300_000)).toMatchObject({ turnRefreshEnough: true, backoffCapEnough: true });
  });
});

/** A loopback STUN server that honours RESPONSE-PORT and forgets ports idle for `lifetimeMs`. */
async function forgetfulServer(lifetimeMs: number, honourResponsePort = true): Promise<UdpEndpoint> {
  const server = await UdpEndpoint.bind({ address: '127.0.0.1' });
  const lastActive = new Map<number, number>();
  server.onDatagram(({ data, from }) => {
    const request = decodeMessage(data);
    lastActive.set(from.port, performance.now());
    const wanted = honourResponsePort ? getAttribute(request, 'RESPONSE-PORT') : undefined;
    const to = { address: from.address, port: wanted ?? from.port };
    const seen = lastActive.get(to.port);
    if (seen === undefined || performance.now() - seen > lifetimeMs) return; // "expired": dropped
    lastActive.set(to.port, performance.now());
    const response: StunMessage = { class: 'successResponse', method: request.method, transactionId: request.transactionId, attributes: [attr('XOR-MAPPED-ADDRESS', { family: 4, address: from.address, port: from.port })] };
    void server.send(encodeMessage(response), to);
  });
  cleanups.push(() => server.close());
  return server;
}

describe('measureLifetime on loopback', () => {
  // Waits 200, 400 … 1800, 2016, 2258 …: each lifetime below lies between two of them, 100 ms from
  // both, so a loaded machine that delivers a test a few ms late cannot flip its outcome.
  const grid = { firstMs: 200, stepMs: 200, relativeStep: 0.12 };

  it('finds a 1.1 s "mapping" lifetime within the grid resolution, one-way, and stops soon after the first loss', async () => {
    const server = await forgetfulServer(1100);
    const events: LifetimeEvent[] = [];
    const result = await measureLifetime({ server: { label: 'forgetful', address: server.local }, maxMs: 3000, cases: ['one-way'], grid, onEvent: (e) => events.push(e) });
    const [oneWay] = result.results;
    expect(oneWay!.bracket.status).toBe('measured');
    if (oneWay!.bracket.status !== 'measured') return;
    expect(oneWay!.bracket.lowerMs).toBeLessThanOrEqual(1100);
    expect(oneWay!.bracket.upperMs).toBeGreaterThanOrEqual(1100);
    expect(oneWay!.bracket.resolutionMs).toBeLessThanOrEqual(150);
    // Tests already under way when the first loss was decided still finish (a dead one takes three
    // requests 250 ms apart, then 500 ms), and a longer one confirms it; none after that.
    const firstLoss = Math.min(...oneWay!.tests.filter((t) => !t.alive).map((t) => t.waitMs));
    expect(Math.max(...oneWay!.tests.map((t) => t.waitMs))).toBeLessThan(firstLoss + 1250 + 100);
    expect(oneWay!.tests.length).toBeLessThan(lifetimeGrid(3000, grid).length);
    expect(events.filter((e) => e.type === 'lifetime-test')).toHaveLength(oneWay!.tests.length);
    expect(oneWay!.keepalive?.maxIntervalMs).toBe(Math.floor(oneWay!.bracket.lowerMs * 0.8));
  });

  it('measures silence from the second exchange in the two-way case', async () => {
    const server = await forgetfulServer(900);
    const result = await measureLifetime({ server: { label: 'forgetful', address: server.local }, maxMs: 2000, cases: ['two-way'], grid, twoWayGapMs: 300 });
    const bracket = result.results[0]!.bracket;
    expect(bracket.status).toBe('measured');
    if (bracket.status === 'measured') expect(bracket.lowerMs <= 900 && bracket.upperMs >= 900).toBe(true);
  });

  it('says so, exit-worthy, when the server ignores RESPONSE-PORT', async () => {
    const server = await forgetfulServer(10_000, false);
    await expect(measureLifetime({ server: { label: 'plain', address: server.local }, maxMs: 1000, grid })).rejects.toMatchObject({ code: 'lifetime-no-response-port' });
  });

  it('stops at once when interrupted and reports what it has', async () => {
    const server = await forgetfulServer(60_000);
    const stop = new AbortController();
    const events: LifetimeEvent[] = [];
    const measuring = measureLifetime({
      server: { label: 'forgetful', address: server.local },
      maxMs: 60_000,
      cases: ['one-way'],
      grid,
      signal: stop.signal,
      // Interrupt once the first mapping has been tested.
      onEvent: (e) => {
        events.push(e);
        if (e.type === 'lifetime-test') stop.abort();
      },
    });
    const result = await measuring;
    expect(result.interrupted).toBe(true);
    // It did not go on through the 60 s grid: the mappings still waiting were never tested.
    expect(result.results[0]!.tests.length).toBeLessThan(lifetimeGrid(60_000, grid).length / 2);
    expect(result.results[0]!.bracket.status).toBe('above-max');
    expect(events.filter((e) => e.type === 'lifetime-test').length).toBeGreaterThanOrEqual(1);
  });

  it('reports above-max when nothing expires within --lifetime-max', async () => {
    const server = await forgetfulServer(60_000);
    const result = await measureLifetime({ server: { label: 'forgetful', address: server.local }, maxMs: 600, cases: ['one-way'], grid });
    expect(result.results[0]!.bracket).toMatchObject({ status: 'above-max' });
  });
});
