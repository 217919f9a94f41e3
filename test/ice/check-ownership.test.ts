/**
 * One owner of check state: the scheduler alone decides which check a response answers. The
 * case that went wrong at 400 ms RTT: a check in progress is cancelled by a triggered check
 * (§7.3.1.4); its late answer makes the pair valid and the nomination goes out; then the answer
 * to the triggered re-check arrives. Reported by pair, that answer was credited to the nomination
 * check in flight, and the pair was "nominated" one RTT before the nomination could have reached
 * the peer. Reported by transaction, it is stale. On a FakeClock, in the scheduler and through a
 * real agent (STUN transaction IDs mapped to the scheduler's transactions) against a hand-driven
 * peer socket.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { encodeCheckRequest, encodeCheckSuccess } from '../../src/ice/check-codec.js';
import { Checklist } from '../../src/ice/checklist.js';
import { IceScheduler, type CheckAttempt, type IceSchedulerEvent } from '../../src/ice/scheduler.js';
import { decodeMessage, getAttribute, newTransactionId, shortTermKey, type DecodedStunMessage } from '../../src/stun/index.js';
import { FakeClock } from '../../src/transport/fake-clock.js';
import { UdpEndpoint } from '../../src/transport/index.js';
import { closeAgents, ioTurns, loopbackAgent } from './agent-helpers.js';
import { cand } from './helpers.js';

const RTT = 400;

describe('IceScheduler: responses are credited by transaction', () => {
  it(`at ${RTT} ms RTT, a late answer to an earlier ordinary check is not taken as the answer to the pair's nomination check`, () => {
    const clock = new FakeClock();
    const sent: { at: number; attempt: CheckAttempt }[] = [];
    const events: IceSchedulerEvent[] = [];
    const checklist = Checklist.fromCandidates([cand({ address: '10.0.0.1', port: 1000 })], [cand({ address: '192.0.2.1', port: 2000 })], { role: 'controlling' });
    const pair = checklist.pairs()[0]!.pair;
    const scheduler = new IceScheduler(checklist, {
      clock,
      mode: 'connect',
      taMs: 5,
      sendCheck: (_pair, attempt) => sent.push({ at: clock.now(), attempt }),
      listener: (event) => events.push(event),
    });
    scheduler.start();
    expect(sent[0]).toMatchObject({ at: 0, attempt: { transaction: 1, useCandidate: false } });
    clock.advance(100);
    // The peer's check arrives: the check in progress is cancelled, a triggered check follows.
    scheduler.onIncomingCheck({ localBase: pair.localBase, source: pair.remote, priority: pair.remote.priority, useCandidate: false });
    clock.advance(5);
    expect(sent.at(-1)).toMatchObject({ at: 100, attempt: { transaction: 2, triggered: true, useCandidate: false } });
    clock.advance(RTT - 105);
    // The cancelled transaction 1 is answered after all (it still counts): the pair is valid and,
    // with nothing better pending, nominated at once.
    expect(scheduler.onResponse(1)).toBe(true);
    expect(checklist.get(pair.id).state).toBe('succeeded');
    clock.advance(5);
    const nomination = sent.find((s) => s.attempt.useCandidate)!;
    expect(nomination.attempt.transaction).toBe(3);
    expect(nomination.at).toBeLessThanOrEqual(RTT + 5);
    // Transaction 2's answer arrives one RTT after it left (at 500): stale, it must not count as the nomination's.
    clock.advance(100 + RTT - clock.now());
    expect(scheduler.onResponse(2)).toBe(false);
    expect(events.some((e) => e.type === 'nominated')).toBe(false);
    expect(scheduler.running).toBe(true);
    // The nomination's own answer, one RTT after it left.
    clock.advance(nomination.at + RTT - clock.now());
    expect(scheduler.onResponse(3)).toBe(true);
    const nominated = events.find((e) => e.type === 'nominated')!;
    expect(nominated.at).toBe(nomination.at + RTT);
    expect(scheduler.outcome).toBe('connected');
    // Requests and RTT are counted once, here.
    expect(scheduler.pairStats(pair.id)).toMatchObject({ requestsSent: 3, rttMs: RTT });
  });

  it('a failure reported for a cancelled transaction does not fail the pair (§7.3.1.4)', () => {
    const clock = new FakeClock();
    const checklist = Checklist.fromCandidates([cand({ address: '10.0.0.1', port: 1000 })], [cand({ address: '192.0.2.1', port: 2000 })], { role: 'controlled' });
    const pair = checklist.pairs()[0]!.pair;
    const scheduler = new IceScheduler(checklist, { clock, mode: 'connect', taMs: 5, sendCheck: () => undefined });
    scheduler.start();
    scheduler.onIncomingCheck({ localBase: pair.localBase, source: pair.remote, priority: pair.remote.priority, useCandidate: false });
    clock.advance(5); // transaction 2, the triggered check, is now the open one
    expect(scheduler.onFailure(1, 'unreachable')).toBe(false);
    expect(checklist.get(pair.id).state).toBe('in-progress');
    expect(scheduler.onFailure(2, 'unreachable')).toBe(true);
    expect(checklist.get(pair.id).state).toBe('failed');
  });

  it('fails the pair as integrity after two unauthenticated responses to its open transaction, and counts them in the report', () => {
    const clock = new FakeClock();
    const checklist = Checklist.fromCandidates([cand({ address: '10.0.0.1', port: 1000 })], [cand({ address: '192.0.2.1', port: 2000 })], { role: 'controlling' });
    const pair = checklist.pairs()[0]!.pair;
    const scheduler = new IceScheduler(checklist, { clock, mode: 'survey', taMs: 5, sendCheck: () => undefined });
    scheduler.start();
    expect(scheduler.onUnauthenticatedResponse(1, 'MESSAGE-INTEGRITY mismatch')).toBe(true);
    expect(checklist.get(pair.id).state).toBe('in-progress');
    scheduler.onUnauthenticatedResponse(1, 'MESSAGE-INTEGRITY mismatch');
    expect(scheduler.report()[0]).toMatchObject({ state: 'failed', failure: { reason: 'integrity' }, unauthenticatedResponses: 2 });
  });
});

describe('IceAgent: responses are mapped to the scheduler by STUN transaction ID', () => {
  const sockets: UdpEndpoint[] = [];
  afterEach(async () => {
    await closeAgents();
    await Promise.all(sockets.splice(0).map((socket) => socket.close()));
  });

  it(`at ${RTT} ms RTT, the answer to a triggered re-check that arrives after the nomination left does not select the pair`, async () => {
    const clock = new FakeClock();
    const a = await loopbackAgent({ role: 'controlling', clock, scheduler: { taMs: 5 }, consent: false });
    const peer = await UdpEndpoint.bind({ address: '127.0.0.1', port: 0 });
    sockets.push(peer);
    const peerParams = { ufrag: 'peer', pwd: 'peerpeerpeerpeerpeerpeer' };
    const requests: DecodedStunMessage[] = [];
    peer.onDatagram((datagram) => {
      const message = decodeMessage(datagram.data);
      if (message.class === 'request') requests.push(message);
    });
    await a.agent.gather();
    const local = a.agent.localCandidates[0]!;
    const to = { address: local.address, port: local.port };
    const answer = (request: DecodedStunMessage): Promise<void> =>
      peer.send(encodeCheckSuccess(request, { family: 4, address: to.address, port: to.port }, shortTermKey(peerParams.pwd)), to);
    a.agent.setRemoteParameters(peerParams);
    a.agent.addRemoteCandidate({ foundation: 'p', component: 1, transport: 'udp', priority: 2_130_706_431, address: '127.0.0.1', port: peer.local.port, type: 'host', family: 4 });
    a.agent.endOfRemoteCandidates();
    a.agent.start();
    await ioTurns();
    expect(requests).toHaveLength(1);
    clock.advance(100);
    // The peer's own check: the agent cancels its check in progress and sends a triggered one.
    await peer.send(
      encodeCheckRequest({
        transactionId: newTransactionId(),
        localUfrag: peerParams.ufrag,
        remoteUfrag: a.agent.localParameters.ufrag,
        remoteKey: shortTermKey(a.agent.localParameters.pwd),
        priority: 1_853_824_767,
        role: 'controlled',
        tieBreaker: 1n,
        useCandidate: false,
      }),
      to,
    );
    await ioTurns();
    await clock.advanceAsync(5);
    await ioTurns();
    expect(requests).toHaveLength(2);
    expect(getAttribute(requests[1]!, 'USE-CANDIDATE')).toBeUndefined();
    // At 400: the answer to the first (cancelled) check. The pair is valid; the nomination leaves.
    await clock.advanceAsync(RTT - clock.now());
    await answer(requests[0]!);
    await ioTurns();
    await clock.advanceAsync(5);
    await ioTurns();
    const nomination = requests.find((r) => getAttribute(r, 'USE-CANDIDATE') !== undefined);
    expect(nomination).toBeDefined();
    const nominationSentAt = clock.now();
    // At 505: the answer to the triggered check. Stale: the agent is still waiting for the nomination's answer.
    await clock.advanceAsync(100);
    await answer(requests[1]!);
    await ioTurns(10);
    expect(a.agent.state).toBe('checking');
    expect(a.events.some((e) => e.type === 'ice-selected-pair')).toBe(false);
    // One RTT after it left, the nomination's answer: now the pair is selected.
    await clock.advanceAsync(nominationSentAt + RTT - clock.now());
    await answer(nomination!);
    const result = await a.agent.done;
    expect(result.state).toBe('connected');
    const selected = a.events.find((e) => e.type === 'ice-selected-pair')!;
    expect(selected.at).toBeGreaterThanOrEqual(nominationSentAt + RTT - 1);
    expect(result.pairs[0]).toMatchObject({ attempts: 3, nominated: true });
  });
});
