/**
 * The race the agent meets on the wire (RFC 8445 §7.2.5.1 with §7.3.1.1): a check goes out as
 * controlled, an incoming request then switches this agent to controlling, and only afterwards
 * does the 487 for the first check arrive. The role to take follows from the request that got the
 * 487 (it carried ICE-CONTROLLED, so: controlling), not from flipping the current role.
 */
import { describe, expect, it } from 'vitest';
import { Checklist } from '../../src/ice/checklist.js';
import { IceScheduler, type CheckAttempt } from '../../src/ice/scheduler.js';
import { FakeClock } from '../../src/transport/fake-clock.js';
import { cand } from './helpers.js';

describe('scheduler: a 487 after the role already changed', () => {
  it('keeps the role the request implies, and re-checks the pair with it', () => {
    const clock = new FakeClock();
    const sent: CheckAttempt[] = [];
    const local = cand({ address: '10.0.0.1', port: 1000 });
    const remote = cand({ address: '192.0.2.1', port: 2000 });
    const checklist = Checklist.fromCandidates([local], [remote], { role: 'controlled' });
    const scheduler = new IceScheduler(checklist, { clock, mode: 'connect', taMs: 5, sendCheck: (_pair, attempt) => sent.push(attempt) });
    scheduler.start();
    expect(sent[0]).toMatchObject({ role: 'controlled', attempt: 1 });

    scheduler.setRole('controlling'); // an incoming ICE-CONTROLLED request with a smaller tie-breaker (§7.3.1.1)
    clock.advance(500); // the initial RTO
    expect(sent.at(-1)).toMatchObject({ role: 'controlled', attempt: 2 }); // a retransmission repeats its request
    expect(scheduler.onRoleConflict(sent[0]!.transaction)).toBe(true);
    expect(scheduler.role).toBe('controlling');
    clock.advance(5);
    expect(sent.at(-1)).toMatchObject({ role: 'controlling', attempt: 1, triggered: true });
    scheduler.stop();
  });
});
