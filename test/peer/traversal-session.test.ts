/**
 * Traversal negotiation between two real peer sessions on loopback: a real signaling server and
 * an RFC 5780 STUN server (127.0.0.1 / 127.0.0.2) in this process. On loopback there is no NAT,
 * so the plan must be plain ICE and no probe may be sent; the strategies themselves are proven
 * through real kernel NAT in test/lab/strategies.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { PeerEvent } from '../../src/events.js';
import { runPeerSession, type PeerResult, type PeerSessionOptions } from '../../src/peer/session.js';
import { startStunServer } from '../../src/server/index.js';
import { startSignalingServer } from '../../src/signaling/index.js';
import type { TraversalOptions } from '../../src/traversal/types.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function base(room: string): Promise<Omit<PeerSessionOptions, 'traversal'>> {
  const signaling = await startSignalingServer({ host: '127.0.0.1', port: 0 });
  cleanups.push(() => signaling.close());
  const stun = await startStunServer({ primary: '127.0.0.1', alternate: '127.0.0.2', port: 0, rateLimit: false });
  cleanups.push(() => stun.close());
  return { signalUrl: signaling.url, room, mode: 'connect', timeoutMs: 10_000, bindAddress: '127.0.0.1', stunServer: stun.addresses.primary };
}

async function pair(options: Omit<PeerSessionOptions, 'traversal'>, a: TraversalOptions | undefined, b: TraversalOptions | undefined): Promise<Array<{ result: PeerResult; events: PeerEvent[] }>> {
  const run = (traversal: TraversalOptions | undefined): Promise<{ result: PeerResult; events: PeerEvent[] }> => {
    const events: PeerEvent[] = [];
    return runPeerSession({ ...options, ...(traversal !== undefined ? { traversal } : {}), onEvent: (e) => events.push(e) }).then((result) => ({ result, events }));
  };
  return Promise.all([run(a), run(b)]);
}

const ALL: TraversalOptions = { strategies: ['predict', 'birthday'] };

describe('traversal negotiation between two sessions', () => {
  it('exchanges behaviour, agrees on plain ICE where there is no NAT, and sends no probe', async () => {
    const sides = await pair(await base('negotiate'), ALL, ALL);
    for (const { result, events } of sides) {
      expect(result.state).toBe('connected');
      const traversal = result.traversal!;
      expect(traversal.requested).toEqual(['predict', 'birthday']);
      expect(traversal.localBehaviour).toMatchObject({ mapping: 'endpoint-independent', publicAddress: '127.0.0.1' });
      expect(traversal.remoteBehaviour).toMatchObject({ mapping: 'endpoint-independent', strategies: ['predict', 'birthday'] });
      expect(traversal.plan.technique).toBe('ice');
      expect(traversal.plan.reason).toMatch(/plain ICE connects/);
      expect(traversal.attempts).toEqual([]);
      expect(traversal.winner).toBe('ice');
      const plans = events.filter((e) => e.type === 'traversal-plan');
      expect(plans).toHaveLength(1);
    }
  }, 20_000);

  it('falls back to plain ICE against a peer that sends no behaviour (an older nat-probe)', async () => {
    const [withStrategies, plain] = await pair(await base('older-peer'), ALL, undefined);
    expect(withStrategies!.result.state).toBe('connected');
    expect(plain!.result.state).toBe('connected');
    expect(plain!.result.traversal).toBeUndefined();
    const traversal = withStrategies!.result.traversal!;
    expect(traversal.remoteBehaviour).toBeUndefined();
    expect(traversal.plan.technique).toBe('unknown');
    expect(traversal.plan.reason).toMatch(/the other peer sent no NAT behaviour/);
    expect(traversal.winner).toBe('ice');
  }, 20_000);

  it('says so when there is no STUN server to measure the behaviour against', async () => {
    const options = await base('no-stun');
    const { stunServer: _none, ...withoutStun } = options;
    const sides = await pair(withoutStun, ALL, ALL);
    for (const { result } of sides) {
      expect(result.state).toBe('connected');
      expect(result.traversal!.plan.technique).toBe('unknown');
      expect(result.traversal!.plan.reason).toMatch(/measured no NAT behaviour|mapping behaviour is unknown/);
    }
  }, 20_000);
});
