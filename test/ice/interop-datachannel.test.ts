/**
 * Interop with an independent ICE implementation: libjuice, inside node-datachannel. Our agent and
 * theirs exchange credentials and candidates in-process (their SDP and candidate callbacks, our
 * minimal SDP) and must both reach ICE "connected", with each side controlling in turn. In WebRTC
 * the offerer is the controlling agent (RFC 8445 §6.1.1 with RFC 8829's offer/answer), so "they
 * control" means they offer, and "we control" means we offer.
 * Loopback only: no STUN servers on their side, both bound to 127.0.0.1.
 */
import ndc from 'node-datachannel';
import { afterEach, describe, expect, it } from 'vitest';
import { parseCandidate } from '../../src/ice/sdp-candidate.js';
import { closeAgents, loopbackAgent } from './agent-helpers.js';
import { dataChannelSdp, iceParametersOf } from './webrtc-sdp.js';

/** Bound on each wait: on loopback both sides connect in milliseconds. */
const WAIT_MS = 5_000;
const peers: ndc.PeerConnection[] = [];

afterEach(async () => {
  for (const pc of peers.splice(0)) pc.close();
  await closeAgents();
});

function theirPeer(name: string): ndc.PeerConnection {
  const pc = new ndc.PeerConnection(name, { iceServers: [], bindAddress: '127.0.0.1', enableIceUdpMux: false });
  peers.push(pc);
  return pc;
}

/** Resolves when their ICE state is connected or completed; rejects on failed or after WAIT_MS. */
function theirIceConnected(pc: ndc.PeerConnection): Promise<string> {
  return bounded(
    new Promise<string>((resolve, reject) => {
      pc.onIceStateChange((state) => {
        if (state === 'connected' || state === 'completed') resolve(state);
        if (state === 'failed') reject(new Error('libjuice reported ICE failed'));
      });
    }),
    'their ICE connected',
  );
}

function bounded<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: not within ${WAIT_MS} ms`)), WAIT_MS);
    }),
  ]).finally(() => clearTimeout(timer));
}

describe('interop with libjuice (node-datachannel 0.33.4)', () => {
  it('connects when they are controlling (they offer, we answer)', async () => {
    const { agent, events } = await loopbackAgent({ role: 'controlled', scheduler: { taMs: 5 } });
    const pc = theirPeer('they-control');
    const connected = theirIceConnected(pc);
    const offer = bounded(new Promise<string>((resolve) => pc.onLocalDescription((sdp) => resolve(sdp))), 'their offer');
    pc.onLocalCandidate((candidate) => agent.addRemoteCandidate(parseCandidate(candidate)));
    pc.createDataChannel('interop');

    agent.setRemoteParameters(iceParametersOf(await offer));
    const ours = await agent.gather();
    pc.setRemoteDescription(dataChannelSdp(agent.localParameters, ours, 'answer'), 'answer');
    agent.start();

    const [result, theirState] = await Promise.all([bounded(agent.done, 'our agent'), connected]);
    expect(theirState).toMatch(/connected|completed/);
    expect(result.state).toBe('connected');
    expect(result.role).toBe('controlled');
    expect(result.selectedPair).toMatchObject({ nominated: true, local: { address: '127.0.0.1', type: 'host' }, remote: { address: '127.0.0.1' } });
    // They nominated (USE-CANDIDATE on their check, §7.3.1.5); our side saw their checks and answered them.
    expect(result.counters.requestsReceived).toBeGreaterThan(0);
    expect(result.counters.requestsRejected).toBe(0);
    expect(events.some((e) => e.type === 'ice-selected-pair')).toBe(true);
    // Their selected pair is our candidate.
    const selected = pc.getSelectedCandidatePair();
    expect(selected?.remote.port).toBe(result.selectedPair!.local.port);
  });

  it('connects when we are controlling (we offer, they answer)', async () => {
    const { agent } = await loopbackAgent({ role: 'controlling', scheduler: { taMs: 5 } });
    const pc = theirPeer('we-control');
    const connected = theirIceConnected(pc);
    const answer = bounded(new Promise<string>((resolve) => pc.onLocalDescription((sdp) => resolve(sdp))), 'their answer');
    pc.onLocalCandidate((candidate) => agent.addRemoteCandidate(parseCandidate(candidate)));

    const ours = await agent.gather();
    pc.setRemoteDescription(dataChannelSdp(agent.localParameters, ours, 'offer'), 'offer');
    agent.setRemoteParameters(iceParametersOf(await answer));
    agent.start();

    const [result, theirState] = await Promise.all([bounded(agent.done, 'our agent'), connected]);
    expect(theirState).toMatch(/connected|completed/);
    expect(result.state).toBe('connected');
    expect(result.role).toBe('controlling');
    expect(result.selectedPair).toMatchObject({ nominated: true, remote: { address: '127.0.0.1' } });
    const nominatedPair = result.pairs.find((p) => p.nominated);
    expect(nominatedPair?.state).toBe('succeeded');
    // libjuice accepted our nomination: it reports the same pair.
    const selected = pc.getSelectedCandidatePair();
    expect(selected?.local.port).toBe(result.selectedPair!.remote.port);
    expect(selected?.remote.port).toBe(result.selectedPair!.local.port);
  });
});
