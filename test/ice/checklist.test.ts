import { describe, expect, it } from 'vitest';
import { computePriority, prflxPriorityFor, type Candidate } from '../../src/ice/candidate.js';
import { Checklist, type PairState } from '../../src/ice/checklist.js';
import { UnknownPairError } from '../../src/ice/errors.js';
import { cand } from './helpers.js';

/**
 * Two local hosts (foundations L1, L2) × remotes on two IPs (foundations R1 with two ports, R2):
 * pair foundations L1:R1 (2 pairs), L1:R2, L2:R1 (2 pairs), L2:R2.
 */
function fixture(role: 'controlling' | 'controlled' = 'controlling') {
  const l1 = cand({ address: '10.0.0.1', port: 1000, foundation: 'L1', localPreference: 65535 });
  const l2 = cand({ address: '10.0.0.2', port: 1000, foundation: 'L2', localPreference: 65000 });
  const r1a = cand({ address: '192.0.2.1', port: 2000, foundation: 'R1', localPreference: 65535 });
  const r1b = cand({ address: '192.0.2.1', port: 2001, foundation: 'R1', localPreference: 65534 });
  const r2 = cand({ address: '192.0.2.2', port: 2000, foundation: 'R2', localPreference: 60000 });
  const transitions: Array<[string, PairState, PairState]> = [];
  const list = Checklist.fromCandidates([l1, l2], [r1a, r1b, r2], {
    role,
    observer: { onStateChange: (view, from, to) => transitions.push([view.pair.id, from, to]) },
  });
  return { list, l1, l2, r1a, r1b, r2, transitions };
}

const id = (local: Candidate, remote: Candidate): string => `${local.address}:${local.port}->${remote.address}:${remote.port}`;

function states(list: Checklist): Record<string, PairState> {
  return Object.fromEntries(list.pairs().map((v) => [v.pair.id, v.state]));
}

describe('Checklist: initial states (§6.1.2.6)', () => {
  it('starts every pair Frozen and unfreezes the highest-priority pair of each foundation', () => {
    const { list, l1, l2, r1a, r1b, r2 } = fixture();
    expect(list.size).toBe(6);
    expect(list.counts().frozen).toBe(6);
    list.unfreezeInitial();
    expect(states(list)).toEqual({
      [id(l1, r1a)]: 'waiting',
      [id(l1, r1b)]: 'frozen',
      [id(l1, r2)]: 'waiting',
      [id(l2, r1a)]: 'waiting',
      [id(l2, r1b)]: 'frozen',
      [id(l2, r2)]: 'waiting',
    });
  });

  it('lists pairs highest priority first and throws a typed error for an unknown id', () => {
    const { list } = fixture();
    const priorities = list.pairs().map((v) => v.pair.priority);
    expect([...priorities].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0))).toEqual(priorities);
    expect(() => list.get('nope')).toThrow(UnknownPairError);
  });
});

describe('Checklist: choosing checks (§6.1.4.2)', () => {
  it('takes Waiting pairs by decreasing priority, moving them to In-Progress', () => {
    const { list, l1, l2, r1a, r2 } = fixture();
    list.unfreezeInitial();
    const order = [list.takeNextCheck(), list.takeNextCheck(), list.takeNextCheck(), list.takeNextCheck()].map((c) => c!.pair.id);
    // MIN(G, D) dominates (§6.1.2.3): L2 (lp 65000) with R1 beats L1 with R2 (lp 60000).
    expect(order).toEqual([id(l1, r1a), id(l2, r1a), id(l1, r2), id(l2, r2)]);
    expect(list.counts()['in-progress']).toBe(4);
    // Every remaining pair is Frozen and its foundation is busy: nothing to send.
    expect(list.takeNextCheck()).toBeUndefined();
  });

  it('unfreezes the remaining pairs of a foundation when one of its pairs succeeds (§7.2.5.3.3)', () => {
    const { list, l1, l2, r1a, r1b } = fixture();
    list.unfreezeInitial();
    list.takeNextCheck();
    list.markSucceeded(id(l1, r1a));
    expect(list.get(id(l1, r1b)).state).toBe('waiting');
    expect(list.get(id(l2, r1b)).state).toBe('frozen'); // other foundation L2:R1 stays frozen
    expect(list.takeNextCheck()!.pair.id).toBe(id(l1, r1b));
  });

  it('unfreezes one pair of a foundation that fell idle after a failure, once nothing is Waiting', () => {
    const { list, l1, l2, r1a, r1b, r2 } = fixture();
    list.unfreezeInitial();
    for (let i = 0; i < 4; i++) list.takeNextCheck();
    list.markFailed(id(l2, r1a), { reason: 'timeout' });
    expect(list.get(id(l2, r1b)).state).toBe('frozen');
    const next = list.takeNextCheck();
    expect(next!.pair.id).toBe(id(l2, r1b));
    expect(list.get(id(l2, r1b)).state).toBe('in-progress');
    // L1:R1 is still In-Progress, so its frozen pair must wait.
    expect(list.get(id(l1, r1b)).state).toBe('frozen');
    expect(list.takeNextCheck()).toBeUndefined();
    void r2;
  });

  it('serves the triggered-check queue first, in FIFO order (§7.3.1.4)', () => {
    const { list, l1, l2, r1a, r1b, r2 } = fixture();
    list.unfreezeInitial();
    list.requeue(id(l2, r2)); // the lowest-priority Waiting pair
    list.requeue(id(l1, r1b)); // a Frozen pair
    const first = list.takeNextCheck()!;
    expect(first).toMatchObject({ triggered: true, useCandidate: false });
    expect(first.pair.id).toBe(id(l2, r2));
    expect(list.takeNextCheck()!.pair.id).toBe(id(l1, r1b));
    const ordinary = list.takeNextCheck()!;
    expect(ordinary.triggered).toBe(false);
    expect(ordinary.pair.id).toBe(id(l1, r1a));
    void l2;
  });

  it('is settled only when every pair Succeeded or Failed', () => {
    const { list } = fixture();
    list.unfreezeInitial();
    let guard = 0;
    for (let next = list.takeNextCheck(); next !== undefined && guard < 20; next = list.takeNextCheck(), guard++) {
      expect(list.isSettled()).toBe(false);
      list.markSucceeded(next.pair.id);
    }
    expect(list.counts().succeeded).toBe(6);
    expect(list.isSettled()).toBe(true);
    expect(list.hasWork()).toBe(false);
  });
});

describe('Checklist: valid list and peer-reflexive learning', () => {
  it('uses the checked pair as the valid pair when the mapped address is the local candidate (§7.2.5.3.2)', () => {
    const { list, l1, r1a } = fixture();
    list.unfreezeInitial();
    list.takeNextCheck();
    const result = list.markSucceeded(id(l1, r1a), { mappedAddress: { address: '10.0.0.1', port: 1000 } });
    expect(result.validPair).toBe(list.get(id(l1, r1a)).pair);
    expect(result.learnedLocal).toBeUndefined();
    expect(list.validPairs().map((v) => v.pair.id)).toEqual([id(l1, r1a)]);
  });

  it('learns a local prflx candidate from an unknown mapped address (§7.2.5.3.1)', () => {
    const { list, l1, r1a } = fixture();
    list.unfreezeInitial();
    list.takeNextCheck();
    const result = list.markSucceeded(id(l1, r1a), { mappedAddress: { address: '198.51.100.77', port: 61000 } });
    expect(result.learnedLocal).toMatchObject({
      type: 'prflx',
      address: '198.51.100.77',
      port: 61000,
      relatedAddress: '10.0.0.1',
      relatedPort: 1000,
      priority: prflxPriorityFor(l1),
    });
    expect(result.validPair.local).toBe(result.learnedLocal);
    expect(result.validPair.localBase).toEqual({ address: '10.0.0.1', port: 1000 });
    expect(list.localCandidates).toContain(result.learnedLocal);
    // Learned locals are not paired: the checklist did not grow.
    expect(list.size).toBe(6);
  });

  it('uses a known local candidate (e.g. srflx) matching the mapped address', () => {
    const host = cand({ address: '10.0.0.1', port: 1000, foundation: 'H' });
    const srflx = cand({ type: 'srflx', address: '198.51.100.1', port: 40000, foundation: 'S', relatedAddress: '10.0.0.1', relatedPort: 1000 });
    const remote = cand({ address: '192.0.2.1', port: 2000, foundation: 'R' });
    const list = Checklist.fromCandidates([host, srflx], [remote], { role: 'controlling' });
    expect(list.size).toBe(1); // the srflx pair was pruned
    list.unfreezeInitial();
    const next = list.takeNextCheck()!;
    const result = list.markSucceeded(next.pair.id, { mappedAddress: { address: '198.51.100.1', port: 40000 } });
    expect(result.validPair.local).toBe(srflx);
    expect(result.learnedLocal).toBeUndefined();
  });

  it('learns a remote prflx candidate from an unknown source and queues a triggered check (§7.3.1.3–4)', () => {
    const { list, l1 } = fixture();
    list.unfreezeInitial();
    const priority = computePriority('prflx', 65535, 1);
    const result = list.handleIncomingCheck({
      localBase: { address: '10.0.0.1', port: 1000 },
      source: { address: '203.0.113.50', port: 3333 },
      priority,
      useCandidate: false,
    });
    expect(result.created).toBe(true);
    expect(result.enqueued).toBe(true);
    expect(result.learnedRemote).toMatchObject({ type: 'prflx', address: '203.0.113.50', port: 3333, priority });
    expect(list.remoteCandidates.map((c) => c.foundation)).not.toContain(undefined);
    expect(new Set(list.remoteCandidates.map((c) => c.foundation)).size).toBe(3); // R1, R2 and the new one
    expect(result.view.state).toBe('waiting');
    expect(result.view.pair.local).toBe(l1);
    const next = list.takeNextCheck()!;
    expect(next.triggered).toBe(true);
    expect(next.pair.id).toBe('10.0.0.1:1000->203.0.113.50:3333');
  });

  it('re-checks a Failed pair and leaves a Succeeded pair alone on an incoming check (§7.3.1.4)', () => {
    const { list, l1, r1a, r2 } = fixture();
    list.unfreezeInitial();
    list.takeNextCheck();
    list.takeNextCheck();
    list.markSucceeded(id(l1, r1a));
    list.markFailed(id(l1, r2), { reason: 'unreachable' });
    const onSucceeded = list.handleIncomingCheck({ localBase: l1, source: r1a, priority: 1, useCandidate: false });
    expect(onSucceeded).toMatchObject({ created: false, enqueued: false, previousState: 'succeeded' });
    const onFailed = list.handleIncomingCheck({ localBase: l1, source: r2, priority: 1, useCandidate: false });
    expect(onFailed).toMatchObject({ created: false, enqueued: true, previousState: 'failed' });
    expect(onFailed.view.state).toBe('waiting');
    expect(onFailed.view.failure).toBeUndefined();
  });
});

describe('Checklist: nomination bookkeeping', () => {
  it('controlled: USE-CANDIDATE on a valid pair nominates it now (§7.3.1.5)', () => {
    const { list, l1, r1a } = fixture('controlled');
    list.unfreezeInitial();
    list.takeNextCheck();
    list.markSucceeded(id(l1, r1a));
    const result = list.handleIncomingCheck({ localBase: l1, source: r1a, priority: 1, useCandidate: true });
    expect(result.nominatedNow).toBe(true);
    expect(list.nominatedPair()?.pair.id).toBe(id(l1, r1a));
  });

  it('controlled: USE-CANDIDATE before success nominates the pair when its check succeeds', () => {
    const { list, l2, r2 } = fixture('controlled');
    list.unfreezeInitial();
    const result = list.handleIncomingCheck({ localBase: l2, source: r2, priority: 1, useCandidate: true });
    expect(result.nominatedNow).toBe(false);
    expect(list.nominatedPair()).toBeUndefined();
    expect(list.takeNextCheck()!.pair.id).toBe(id(l2, r2));
    expect(list.markSucceeded(id(l2, r2)).view.nominated).toBe(true);
    expect(list.nominatedPair()?.pair.id).toBe(id(l2, r2));
  });

  it('controlling: USE-CANDIDATE in a request is ignored; nomination is a triggered repeat with USE-CANDIDATE (§8.1.1)', () => {
    const { list, l1, r1a } = fixture('controlling');
    list.unfreezeInitial();
    list.takeNextCheck();
    list.markSucceeded(id(l1, r1a));
    expect(list.handleIncomingCheck({ localBase: l1, source: r1a, priority: 1, useCandidate: true }).nominatedNow).toBe(false);
    list.enqueueNomination(id(l1, r1a));
    const next = list.takeNextCheck()!;
    expect(next).toMatchObject({ triggered: true, useCandidate: true });
    expect(list.get(id(l1, r1a)).state).toBe('succeeded');
    list.markNominated(id(l1, r1a));
    expect(list.nominatedPair()?.pair.id).toBe(id(l1, r1a));
  });

  it('only Succeeded pairs can be nominated; failure removes a pair from the valid list', () => {
    const { list, l1, r1a } = fixture();
    expect(() => list.enqueueNomination(id(l1, r1a))).toThrow(/only a Succeeded pair/);
    list.unfreezeInitial();
    list.takeNextCheck();
    list.markSucceeded(id(l1, r1a));
    expect(list.bestValidPair()?.pair.id).toBe(id(l1, r1a));
    list.markFailed(id(l1, r1a), { reason: 'timeout' });
    expect(list.bestValidPair()).toBeUndefined();
  });
});

describe('Checklist: role switch, trickle, pending pairs', () => {
  it('re-prioritises every pair when the role changes (§6.1.2.3)', () => {
    const { list, l1, r2 } = fixture('controlling');
    const before = list.get(id(l1, r2)).pair.priority;
    list.setRole('controlled');
    expect(list.role).toBe('controlled');
    const after = list.get(id(l1, r2)).pair.priority;
    expect(after).not.toBe(before);
    const priorities = list.pairs().map((v) => v.pair.priority);
    expect([...priorities].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0))).toEqual(priorities);
  });

  it('adds pairs for a trickled remote candidate, Frozen, unfrozen when their foundation is idle', () => {
    const { list, l1, l2 } = fixture();
    list.unfreezeInitial();
    for (let i = 0; i < 4; i++) list.takeNextCheck();
    const late = cand({ address: '192.0.2.3', port: 2000, foundation: 'R3' });
    const added = list.addRemoteCandidate(late);
    expect(added.map((p) => p.id).sort()).toEqual([id(l1, late), id(l2, late)].sort());
    expect(list.get(id(l1, late)).state).toBe('frozen');
    expect(list.takeNextCheck()!.pair.id).toBe(id(l1, late));
    expect(list.addRemoteCandidate(late)).toEqual([]);
  });

  it('reports whether a higher-priority pair may still succeed', () => {
    const { list, l1, r1a, l2, r2 } = fixture();
    list.unfreezeInitial();
    expect(list.hasPendingAbove(list.get(id(l2, r2)).pair.priority)).toBe(true);
    expect(list.hasPendingAbove(list.get(id(l1, r1a)).pair.priority)).toBe(false);
  });

  it('reports every state change to its observers', () => {
    const { list, transitions, l1, r1a } = fixture();
    list.unfreezeInitial();
    expect(transitions.filter(([, from, to]) => from === 'frozen' && to === 'waiting')).toHaveLength(4);
    list.takeNextCheck();
    expect(transitions.at(-1)).toEqual([id(l1, r1a), 'waiting', 'in-progress']);
  });
});
