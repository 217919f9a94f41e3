/**
 * The relay ladder's TLS rung against a real coturn on 127.0.0.1 with a self-signed certificate
 * the suite makes: allocateRelay over turns: with the server's `ca` (relay-tls), the reason when
 * the CA is missing, and a relay-only peer session that connects through the TLS allocation.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { allocateRelay, relayLadderRungs, relayRungOf, type PeerTurnServer } from '../../src/peer/relay.js';
import { runPeerSession, type PeerResult, type PeerSessionOptions } from '../../src/peer/session.js';
import { startSignalingServer, type SignalingServer } from '../../src/signaling/index.js';
import { systemClock } from '../../src/transport/index.js';
import type { TurnAllocation } from '../../src/turn/index.js';
import { startCoturnTurn, type CoturnTurn } from '../helpers/coturn.js';
import { withinMs } from '../helpers/events.js';
import { makeSelfSignedCertificate, type TestCertificate } from '../helpers/tls-cert.js';
import { skipUnlessTools, toolGate } from '../helpers/tools.js';

const skip = skipUnlessTools(toolGate(['turnserver', 'openssl'], 'apt-get install coturn openssl'), 'the relay ladder over TLS against coturn');

const ALICE = { name: 'alice', password: 'alice-tls-1' };
const BOB = { name: 'bob', password: 'bob-tls-2' };

describe.skipIf(skip)('relay ladder: the TLS rung (real coturn)', () => {
  let certificate: TestCertificate;
  let coturn: CoturnTurn;
  let signaling: SignalingServer | undefined;
  const allocations: TurnAllocation[] = [];
  let room = 0;

  beforeAll(async () => {
    certificate = await makeSelfSignedCertificate();
    coturn = await startCoturnTurn({ users: [ALICE, BOB], tls: { certFile: certificate.certFile, keyFile: certificate.keyFile } });
  });
  afterAll(async () => {
    await coturn?.stop();
    certificate?.remove();
  });
  afterEach(async () => {
    await Promise.all(allocations.splice(0).map((allocation) => allocation.close()));
    await signaling?.close();
    signaling = undefined;
  });

  const tlsServer = (who: typeof ALICE, trustCa = true): PeerTurnServer => ({
    url: coturn.tlsUrl!,
    username: who.name,
    credential: who.password,
    ...(trustCa ? { ca: certificate.certPem } : {}),
  });

  it('allocateRelay over turns: with the server CA: transport tls, rung relay-tls', async () => {
    const { result, allocation } = await allocateRelay(tlsServer(ALICE), 'options', { clock: systemClock, timeoutMs: 3000 });
    if (allocation) allocations.push(allocation);
    expect(result.error).toBeUndefined();
    expect(result).toMatchObject({ server: `turns:127.0.0.1:${coturn.tlsPort}`, transport: 'tls', source: 'options' });
    expect(result.relayed).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(relayRungOf(result)).toBe('relay-tls');
    expect(JSON.stringify(result)).not.toContain(ALICE.password);
    expect(JSON.stringify(result)).not.toContain('BEGIN CERTIFICATE');
  });

  it('without the CA the rung reports turn-tls-failed (self-signed certificate) and no allocation', async () => {
    const { result, allocation } = await allocateRelay(tlsServer(ALICE, false), 'options', { clock: systemClock, timeoutMs: 3000 });
    if (allocation) allocations.push(allocation);
    expect(allocation).toBeUndefined();
    expect(result).toMatchObject({ transport: 'tls', error: { code: 'turn-tls-failed', message: expect.stringContaining('self-signed certificate') } });
  });

  it('each rung of a turn: + turns: configuration allocates on its own transport', async () => {
    const rungs = relayLadderRungs([tlsServer(ALICE), { url: coturn.url, username: ALICE.name, credential: ALICE.password }]);
    const results = [];
    for (const rung of rungs) {
      const { result, allocation } = await allocateRelay(rung, 'options', { clock: systemClock, timeoutMs: 3000 });
      if (allocation) allocations.push(allocation);
      results.push(result);
    }
    expect(results.map((result) => `${relayRungOf(result)}:${result.error?.code ?? 'ok'}`)).toEqual(['relay-udp:ok', 'relay-tcp:ok', 'relay-tls:ok']);
  });

  it('a relay-only peer session connects relay↔relay through the TLS allocation', async () => {
    signaling ??= await startSignalingServer({ host: '127.0.0.1', port: 0 });
    const base = { signalUrl: signaling.url, room: `relay-tls-${++room}`, mode: 'connect' as const, timeoutMs: 8_000, bindAddress: '127.0.0.1' };
    let joined!: () => void;
    const aJoined = new Promise<void>((resolve) => (joined = resolve));
    const optionsA: PeerSessionOptions = {
      ...base,
      turnServers: [tlsServer(ALICE)],
      relayOnly: true,
      onEvent: (event) => {
        if (event.type === 'peer-phase' && event.phase === 'joined') joined();
      },
    };
    const first = runPeerSession(optionsA);
    first.catch(() => joined());
    await withinMs(aJoined, 5_000, 'the first peer to join');
    const second = runPeerSession({ ...base, turnServers: [tlsServer(BOB)], relayOnly: true });
    const [a, b]: [PeerResult, PeerResult] = await withinMs(Promise.all([first, second]), 15_000, 'both sessions');
    expect(a.relays[0]).toMatchObject({ transport: 'tls', server: `turns:127.0.0.1:${coturn.tlsPort}` });
    expect(a.relays[0]!.error).toBeUndefined();
    expect(a.state).toBe('connected');
    expect(b.state).toBe('connected');
    expect(`${a.selectedPair?.local.type}/${a.selectedPair?.remote.type}`).toBe('relay/relay');
  });

  /** Two sessions with the relay-ladder strategy; the first joins before the second starts. */
  async function ladderPair(relayOnly: boolean): Promise<[PeerResult, PeerResult]> {
    signaling ??= await startSignalingServer({ host: '127.0.0.1', port: 0 });
    const base = { signalUrl: signaling.url, room: `ladder-${++room}`, mode: 'connect' as const, timeoutMs: 8_000, bindAddress: '127.0.0.1', relayOnly, traversal: { strategies: ['relay-ladder' as const] } };
    const servers = (who: typeof ALICE): PeerTurnServer[] => [{ url: coturn.url, username: who.name, credential: who.password }, tlsServer(who)];
    let joined!: () => void;
    const aJoined = new Promise<void>((resolve) => (joined = resolve));
    const first = runPeerSession({
      ...base,
      turnServers: servers(ALICE),
      onEvent: (event) => {
        if (event.type === 'peer-phase' && event.phase === 'joined') joined();
      },
    });
    first.catch(() => joined());
    await withinMs(aJoined, 5_000, 'the first peer to join');
    const second = runPeerSession({ ...base, turnServers: servers(BOB) });
    return withinMs(Promise.all([first, second]), 15_000, 'both sessions');
  }

  it('relay ladder, relay only: every rung allocates, the report times each, and ICE picks the UDP rung', async () => {
    const [a, b] = await ladderPair(true);
    for (const side of [a, b]) {
      expect(side.state).toBe('connected');
      // All three rungs are in the ladder from their start; the direct checks do not wait for
      // them, so a slower rung (TLS) may still be allocating when ICE has connected on UDP.
      const ladder = side.traversal!.ladder;
      expect(ladder.map((r) => r.rung)).toEqual(['direct', 'relay-udp', 'relay-tcp', 'relay-tls']);
      expect(ladder[0]!.ok).toBe(false);
      expect(ladder[1]).toMatchObject({ rung: 'relay-udp', ok: true });
      for (const rung of ladder.slice(1)) {
        if (rung.endedAtMs !== undefined) expect(rung.endedAtMs).toBeGreaterThanOrEqual(rung.startedAtMs);
        else expect(rung.detail).toMatch(/still allocating when the session ended/);
      }
      expect(side.relays.some((r) => r.transport === 'udp' && r.error === undefined)).toBe(true);
      expect(side.traversal!.winner).toBe('relay-udp');
    }
  });

  it('relay ladder with direct paths: the direct rung wins and the relays were allocated beside it', async () => {
    const [a, b] = await ladderPair(false);
    for (const side of [a, b]) {
      expect(side.state).toBe('connected');
      expect(side.traversal!.ladder[0]).toMatchObject({ rung: 'direct', ok: true });
      expect(side.traversal!.winner).toBe('ice');
      expect(side.selectedPair!.local.type).not.toBe('relay');
    }
  });
});
