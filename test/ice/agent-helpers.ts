/** Shared set-up for the agent tests: two agents on loopback that learn each other in-process. */
import type { PeerEvent } from '../../src/events.js';
import { IceAgent, type IceAgentOptions } from '../../src/ice/agent.js';
import type { FakeClock } from '../../src/transport/fake-clock.js';

export interface AgentUnderTest {
  readonly agent: IceAgent;
  readonly events: PeerEvent[];
  /** Resolves with the first event (already recorded or still to come) that matches. */
  waitFor(match: (event: PeerEvent) => boolean): Promise<PeerEvent>;
}

const open: IceAgent[] = [];

/** An agent on 127.0.0.1 that records its events; closed by closeAgents(). */
export async function loopbackAgent(options: Partial<IceAgentOptions> & Pick<IceAgentOptions, 'role'>): Promise<AgentUnderTest> {
  const events: PeerEvent[] = [];
  const waiters = new Set<{ match: (event: PeerEvent) => boolean; resolve: (event: PeerEvent) => void }>();
  const agent = await IceAgent.create({
    bindAddress: '127.0.0.1',
    mode: 'connect',
    ...options,
    onEvent: (event) => {
      events.push(event);
      for (const waiter of [...waiters]) {
        if (!waiter.match(event)) continue;
        waiters.delete(waiter);
        waiter.resolve(event);
      }
    },
  });
  open.push(agent);
  return {
    agent,
    events,
    waitFor: (match) => {
      const seen = events.find(match);
      return seen !== undefined ? Promise.resolve(seen) : new Promise((resolve) => waiters.add({ match, resolve }));
    },
  };
}

/** Gathers both and hands each the other's parameters and candidates, ready to start. */
export async function exchange(a: IceAgent, b: IceAgent): Promise<void> {
  const [aCandidates, bCandidates] = await Promise.all([a.gather(), b.gather()]);
  a.setRemoteParameters(b.localParameters);
  b.setRemoteParameters(a.localParameters);
  for (const c of bCandidates) a.addRemoteCandidate(c);
  for (const c of aCandidates) b.addRemoteCandidate(c);
  a.endOfRemoteCandidates();
  b.endOfRemoteCandidates();
}

/** Gathers both, hands each the other's parameters and candidates, and starts both. */
export async function introduce(a: IceAgent, b: IceAgent): Promise<void> {
  await exchange(a, b);
  a.start();
  b.start();
}

export async function closeAgents(): Promise<void> {
  await Promise.all(open.splice(0).map((agent) => agent.close()));
}

/** Lets the event loop run a few turns, so loopback datagrams in flight are delivered and handled. */
export async function ioTurns(turns = 6): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * Advances a FakeClock in steps, letting real loopback I/O run between steps, until `until`
 * settles. Bounded in simulated time: throws if it has not settled by then.
 */
export async function drive<T>(clock: FakeClock, until: Promise<T>, options: { stepMs?: number; maxSimulatedMs?: number } = {}): Promise<T> {
  const stepMs = options.stepMs ?? 5;
  const maxSimulatedMs = options.maxSimulatedMs ?? 60_000;
  let settled = false;
  const watched = until.finally(() => {
    settled = true;
  });
  await ioTurns();
  for (let elapsed = 0; !settled && elapsed < maxSimulatedMs; elapsed += stepMs) {
    await clock.advanceAsync(stepMs);
    await ioTurns();
  }
  if (!settled) throw new Error(`did not settle within ${maxSimulatedMs} simulated ms`);
  return watched;
}
