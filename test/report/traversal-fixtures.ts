/**
 * A hand-made traversal run for the reporters and views: a port-restricted side (this one)
 * against a symmetric, random-allocating side, rescued by birthday probing, with a relay ladder
 * whose UDP rung failed and TCP rung worked. Shapes follow src/traversal/types.ts.
 */
import type { PeerEvent } from '../../src/events.js';
import type { PeerSessionOutcome } from '../../src/peer/trials-types.js';
import type { NatBehaviour, StrategyAttempt, TraversalPlan, TraversalReport } from '../../src/traversal/types.js';
import { cand, pair } from '../peer/trials-fixtures.js';

export const LOCAL_BEHAVIOUR: NatBehaviour = {
  mapping: 'endpoint-independent',
  filtering: 'address-and-port-dependent',
  allocation: 'preserved',
  publicAddress: '198.51.100.2',
  strategies: ['predict', 'birthday', 'relay-ladder'],
};

export const REMOTE_BEHAVIOUR: NatBehaviour = {
  mapping: 'address-and-port-dependent',
  filtering: 'address-and-port-dependent',
  allocation: 'random',
  publicAddress: '203.0.113.7',
  strategies: ['birthday'],
};

export const BIRTHDAY_PLAN: TraversalPlan = {
  technique: 'birthday',
  localDuty: 'prober',
  remoteDuty: 'opener',
  reason: 'the other side maps per destination with random ports and this side keeps one mapping: it opens 256 sockets, this side probes random ports',
  probability: 0.98765,
};

export const BIRTHDAY_ATTEMPT: StrategyAttempt = {
  strategy: 'birthday',
  duty: 'prober',
  startedAtMs: 120.04,
  endedAtMs: 1320.06,
  probesSent: 300,
  socketsOpened: 0,
  hit: true,
  stopReason: 'hit',
};

export function birthdayTraversal(overrides: Partial<TraversalReport> = {}): TraversalReport {
  return {
    requested: ['predict', 'birthday', 'relay-ladder'],
    localBehaviour: LOCAL_BEHAVIOUR,
    remoteBehaviour: REMOTE_BEHAVIOUR,
    plan: BIRTHDAY_PLAN,
    attempts: [BIRTHDAY_ATTEMPT],
    ladder: [
      { rung: 'relay-udp', startedAtMs: 10.04, endedAtMs: 5010.02, ok: false, detail: 'no answer from turn:203.0.113.1:3478?transport=udp' },
      { rung: 'relay-tcp', startedAtMs: 10.04, endedAtMs: 42.56, ok: true },
    ],
    winner: 'birthday',
    ...overrides,
  };
}

/** A connected session whose selected pair is the prflx path birthday probing opened. */
export function birthdaySession(traversal: TraversalReport = birthdayTraversal()): PeerSessionOutcome {
  const local = cand('srflx', '198.51.100.2', 40000);
  const remote = cand('prflx', '203.0.113.7', 51234);
  return {
    state: 'connected',
    selectedPair: { local, remote, rttMs: 21.04 },
    timeToConnectMs: 1300.04,
    pairs: [pair(local, remote, 'Succeeded', { rttMs: 21.04, attempts: 2 })],
    localCandidates: [local],
    remoteCandidates: [cand('srflx', '203.0.113.7', 61000), remote],
    role: 'controlling',
    peerId: 'p-a',
    signalingMs: 3,
    totalMs: 1400,
    traversal,
  };
}

/** The traversal events of that session, in order. */
export function birthdayEvents(trial = 0): PeerEvent[] {
  return [
    { type: 'traversal-plan', at: 110, trial, plan: BIRTHDAY_PLAN, local: LOCAL_BEHAVIOUR, remote: REMOTE_BEHAVIOUR },
    { type: 'traversal-progress', at: 440, trial, strategy: 'birthday', probesSent: 64, budget: 1024, socketsOpened: 0 },
    { type: 'traversal-progress', at: 760, trial, strategy: 'birthday', probesSent: 256, budget: 1024, socketsOpened: 0 },
    { type: 'traversal-done', at: 1320, trial, attempt: BIRTHDAY_ATTEMPT },
  ];
}
