import type { ProbeObservation, ProbeTest, ServerReport } from '../../src/nat/types.js';
import type { TransportAddress } from '../../src/stun/index.js';

/** Builders for synthetic observations: a server at 203.0.113.1:3478 with alternate 203.0.113.2:3479. */
export const PRIMARY: TransportAddress = { family: 4, address: '203.0.113.1', port: 3478 };
export const ALTERNATE: TransportAddress = { family: 4, address: '203.0.113.2', port: 3479 };
export const TARGETS = {
  pp: PRIMARY,
  ap: { ...ALTERNATE, port: PRIMARY.port },
  aa: ALTERNATE,
  pa: { ...PRIMARY, port: ALTERNATE.port },
};

export const validServer: ServerReport = {
  label: 'lab',
  primary: PRIMARY,
  alternate: ALTERNATE,
  reachable: true,
  rfc5780: 'valid',
  problems: [],
  rttMs: 1,
  stray: { malformed: 0, oversized: 0, unmatched: 0 },
};

let seq = 0;
export function resetSeq(): void {
  seq = 0;
}

export function answered(
  section: ProbeObservation['section'],
  socket: number,
  localPort: number,
  target: TransportAddress,
  mapped: TransportAddress,
  test: ProbeTest = 'binding',
  from: TransportAddress = target,
): ProbeObservation {
  return {
    seq: seq++,
    section,
    socket,
    local: { family: 4, address: '0.0.0.0', port: localPort },
    server: 'lab',
    target,
    test,
    outcome: { kind: 'answered', mapped, from, rttMs: 1, attempts: 1 },
  };
}

export function unanswered(
  section: ProbeObservation['section'],
  socket: number,
  localPort: number,
  target: TransportAddress,
  test: ProbeTest,
  complete = true,
): ProbeObservation {
  return {
    seq: seq++,
    section,
    socket,
    local: { family: 4, address: '0.0.0.0', port: localPort },
    server: 'lab',
    target,
    test,
    outcome: { kind: 'timeout', attempts: 4, waitedMs: 150, complete },
  };
}

const wan = (port: number): TransportAddress => ({ family: 4, address: '198.51.100.200', port });

/**
 * Observations a NAT with the given behaviour would produce: three mapping sockets probing all
 * four server addresses, and two filtering sockets per CHANGE-REQUEST test.
 */
export function simulate(behaviour: {
  mapping: 'EIM' | 'ADM' | 'APDM';
  filtering: 'EIF' | 'ADF' | 'APDF';
  preservePorts?: boolean;
  sequentialFrom?: number;
}): ProbeObservation[] {
  resetSeq();
  const observations: ProbeObservation[] = [];
  let next = behaviour.sequentialFrom ?? 40000;
  const allocate = (localPort: number): number => (behaviour.preservePorts ? localPort : behaviour.sequentialFrom !== undefined ? next++ : 20000 + Math.floor(Math.random() * 40000));
  for (let socket = 0; socket < 3; socket++) {
    const localPort = 50000 + socket;
    const byKey = new Map<string, number>();
    for (const target of [TARGETS.pp, TARGETS.ap, TARGETS.aa, TARGETS.pa]) {
      const key = behaviour.mapping === 'EIM' ? 'all' : behaviour.mapping === 'ADM' ? target.address : `${target.address}:${target.port}`;
      if (!byKey.has(key)) byKey.set(key, allocate(localPort));
      observations.push(answered('mapping', socket, localPort, target, wan(byKey.get(key)!)));
    }
  }
  let socket = 0;
  for (const test of ['change-ip-and-port', 'change-port'] as const) {
    for (let i = 0; i < 2; i++, socket++) {
      const localPort = 51000 + socket;
      const mapped = wan(allocate(localPort));
      observations.push(answered('filtering', socket, localPort, PRIMARY, mapped));
      const passes = behaviour.filtering === 'EIF' || (behaviour.filtering === 'ADF' && test === 'change-port');
      const source = test === 'change-ip-and-port' ? ALTERNATE : TARGETS.pa;
      observations.push(passes ? answered('filtering', socket, localPort, PRIMARY, mapped, test, source) : unanswered('filtering', socket, localPort, PRIMARY, test));
    }
  }
  return observations;
}
