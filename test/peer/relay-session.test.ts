/**
 * Peer sessions with relayed candidates against a real coturn on 127.0.0.1 (RFC 8656, RFC 8445
 * §5.1.1.2): two sessions in this process with an in-process signaling server, as in
 * session.test.ts. coturn runs with --allow-loopback-peers so relays can reach 127.0.0.1 peers.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { PeerEvent } from '../../src/events.js';
import { runPeerSession, type PeerResult, type PeerSessionOptions, type PeerTurnServer } from '../../src/peer/session.js';
import { startSignalingServer, type SignalingServer, type SignalingServerOptions } from '../../src/signaling/index.js';
import { restApiCredentials } from '../../src/turn/index.js';
import { startCoturnTurn, type CoturnTurn } from '../helpers/coturn.js';
import { withinMs } from '../helpers/events.js';
import { skipUnlessTools, toolGate } from '../helpers/tools.js';

const skip = skipUnlessTools(toolGate(['turnserver']), 'peer sessions through coturn');

const ALICE = { name: 'alice', password: 'alice-pass-1' };
const BOB = { name: 'bob', password: 'bob-pass-2' };
/** Used by one test only, so coturn's log lines about this user are that test's. */
const CAROL = { name: 'carol', password: 'carol-pass-3' };
const SECRET = 'relay-session-secret';

describe.skipIf(skip)('peer sessions with TURN relayed candidates (real coturn)', () => {
  let coturn: CoturnTurn;
  let coturnRest: CoturnTurn;
  let signaling: SignalingServer | undefined;
  let room = 0;

  beforeAll(async () => {
    // Verbose: coturn logs each allocation's deletion, which shows the sessions free theirs.
    [coturn, coturnRest] = await Promise.all([
      startCoturnTurn({ users: [ALICE, BOB, CAROL], verbose: true }),
      startCoturnTurn({ secret: SECRET }),
    ]);
  });
  afterAll(async () => {
    await coturn?.stop();
    await coturnRest?.stop();
  });
  afterEach(async () => {
    await signaling?.close();
    signaling = undefined;
  });

  const user = (who: typeof ALICE, url = coturn.url): PeerTurnServer => ({ url, username: who.name, credential: who.password });

  /** Two sessions in one fresh room; the first joins before the second starts (roles fixed). */
  async function pair(
    a: Partial<PeerSessionOptions>,
    b: Partial<PeerSessionOptions>,
    serverOptions: SignalingServerOptions = {},
  ): Promise<{ a: PeerResult; b: PeerResult; eventsA: PeerEvent[]; eventsB: PeerEvent[] }> {
    signaling ??= await startSignalingServer({ host: '127.0.0.1', port: 0, ...serverOptions });
    const name = `relay-${++room}`;
    const eventsA: PeerEvent[] = [];
    const eventsB: PeerEvent[] = [];
    const base = { signalUrl: signaling.url, room: name, mode: 'connect' as const, timeoutMs: 8_000, bindAddress: '127.0.0.1' };
    let joined!: () => void;
    const aJoined = new Promise<void>((resolve) => (joined = resolve));
    const first = runPeerSession({
      ...base,
      ...a,
      onEvent: (event) => {
        eventsA.push(event);
        if (event.type === 'peer-phase' && event.phase === 'joined') joined();
      },
    });
    first.catch(() => joined());
    await withinMs(aJoined, 5_000, 'the first peer to join');
    const second = runPeerSession({ ...base, ...b, onEvent: (event) => eventsB.push(event) });
    const [ra, rb] = await withinMs(Promise.all([first, second]), 15_000, 'both sessions');
    return { a: ra, b: rb, eventsA, eventsB };
  }

  it('relay-only on both sides connects relay↔relay through coturn, and reports the allocation', async () => {
    const { a, b, eventsA } = await pair({ turnServers: [user(ALICE)], relayOnly: true }, { turnServers: [user(BOB)], relayOnly: true });
    expect(a.state).toBe('connected');
    expect(b.state).toBe('connected');
    expect(a.selectedPair?.local.type).toBe('relay');
    expect(a.selectedPair?.remote.type).toBe('relay');
    expect(a.localCandidates.map((c) => c.type)).toEqual(['relay']);
    expect(a.remoteCandidates.every((c) => c.type === 'relay' || c.type === 'prflx')).toBe(true);
    expect(a.relays).toHaveLength(1);
    expect(a.relays[0]).toMatchObject({ server: `${coturn.url}?transport=udp`, transport: 'udp', source: 'options' });
    expect(a.relays[0]!.relayed).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(a.relays[0]!.error).toBeUndefined();
    const relayEvent = eventsA.find((e) => e.type === 'peer-relay');
    expect(relayEvent).toMatchObject({ state: 'allocated', relayed: a.relays[0]!.relayed });
    expect(JSON.stringify(eventsA)).not.toContain(ALICE.password);
    expect(JSON.stringify(a)).not.toContain(ALICE.password);
  });

  it('frees the allocation when the session ends (Refresh with LIFETIME 0, RFC 8656 §7.2)', async () => {
    const { a } = await pair({ turnServers: [user(CAROL)], relayOnly: true }, { turnServers: [user(BOB)] });
    expect(a.relays[0]!.error).toBeUndefined();
    expect(a.state).toBe('connected');
    // coturn's default lifetime is 600 s: a deletion within seconds means the session sent Refresh(0).
    const deleted = await coturn.waitForLog(/delete: realm=<[^>]*>, username=<carol>/, 5_000);
    expect(deleted).toContain('carol');
  });

  it('survey mode reports relay pairs beside the direct ones', async () => {
    const { a } = await pair({ turnServers: [user(ALICE)], mode: 'survey' }, { mode: 'survey' });
    expect(a.state).toBe('connected');
    const succeeded = new Set(a.pairs.filter((p) => p.state === 'succeeded').map((p) => `${p.local.type}/${p.remote.type}`));
    expect(succeeded).toContain('host/host');
    expect(succeeded).toContain('relay/host');
    // Direct wins when it works: host pairs outrank relayed ones (type preference 126 vs 0).
    expect(a.selectedPair?.local.type).toBe('host');
  });

  it('relays over TCP to the TURN server (?transport=tcp)', async () => {
    const { a, b } = await pair({ turnServers: [user(ALICE, `${coturn.url}?transport=tcp`)], relayOnly: true }, {});
    expect(a.relays[0]).toMatchObject({ transport: 'tcp', server: `${coturn.url}?transport=tcp` });
    expect(a.relays[0]!.error).toBeUndefined();
    expect(a.state).toBe('connected');
    expect(a.selectedPair?.local.type).toBe('relay');
    expect(b.selectedPair?.remote.type).toBe('relay');
  });

  it('a wrong TURN password is reported (turn-auth-failed) and the direct path still connects', async () => {
    const { a, eventsA } = await pair({ turnServers: [{ url: coturn.url, username: ALICE.name, credential: 'wrong-password' }] }, {});
    expect(a.state).toBe('connected');
    expect(a.selectedPair?.local.type).toBe('host');
    expect(a.relays).toHaveLength(1);
    expect(a.relays[0]!.error?.code).toBe('turn-auth-failed');
    expect(a.relays[0]!.relayed).toBeUndefined();
    expect(eventsA.find((e) => e.type === 'peer-relay')).toMatchObject({ state: 'failed', errorCode: 'turn-auth-failed' });
    expect(JSON.stringify(a)).not.toContain('wrong-password');
  });

  it('a TURN server that does not answer does not hold up the direct checks: direct connects, and the allocation is reported as still pending', async () => {
    // A bound socket that never answers: the Allocate goes unanswered, as behind a firewall.
    const { UdpEndpoint } = await import('../../src/transport/index.js');
    const silent = await UdpEndpoint.bind({ address: '127.0.0.1', port: 0 });
    try {
      // The bound is far longer than a loopback session: had the checks waited for the
      // allocation, it would have ended (turn-timeout) before the session did.
      const { a } = await pair({ turnServers: [{ url: `turn:127.0.0.1:${silent.local.port}`, username: 'u', credential: 'p' }], turnTimeoutMs: 8_000 }, {});
      expect(a.state).toBe('connected');
      expect(`${a.selectedPair?.local.type}/${a.selectedPair?.remote.type}`).toBe('host/host');
      expect(a.relays).toEqual([
        { server: `turn:127.0.0.1:${silent.local.port}?transport=udp`, transport: 'udp', source: 'options', error: { code: 'turn-pending', message: expect.stringContaining('the checks did not wait for it') } },
      ]);
    } finally {
      await silent.close();
    }
  });

  it('uses the TURN credentials the signaling server hands out in config (REST API secret)', async () => {
    const handedOut: string[] = [];
    const iceServersFor = (peerId: string) => {
      const credentials = restApiCredentials(SECRET, { user: peerId, ttlSeconds: 600 });
      handedOut.push(credentials.username);
      return [{ urls: [coturnRest.url], username: credentials.username, credential: credentials.password }];
    };
    const { a, b } = await pair({ relayOnly: true }, { relayOnly: true }, { iceServersFor });
    expect(handedOut).toHaveLength(2);
    expect(a.relays[0]).toMatchObject({ source: 'signaling', server: `${coturnRest.url}?transport=udp` });
    expect(a.relays[0]!.error).toBeUndefined();
    expect(a.state).toBe('connected');
    expect(b.state).toBe('connected');
    expect(`${a.selectedPair?.local.type}/${a.selectedPair?.remote.type}`).toBe('relay/relay');
  });

  it('options override the signaled servers, and useSignaledIceServers: false ignores them', async () => {
    const iceServersFor = () => [{ urls: ['turn:127.0.0.1:9'], username: 'x', credential: 'y' }];
    const { a, b } = await pair({ turnServers: [user(ALICE)] }, { useSignaledIceServers: false }, { iceServersFor });
    expect(a.relays.map((r) => r.source)).toEqual(['options']);
    expect(b.relays).toEqual([]);
    expect(a.state).toBe('connected');
  });
});
