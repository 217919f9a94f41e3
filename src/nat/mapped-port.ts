/**
 * `detect --map`: does a port mapped on the gateway let an unsolicited answer in? A socket that
 * has never sent anything gets a NAT-PMP mapping (RFC 6886 §3.3, 60 s); another socket asks the
 * STUN server, with RESPONSE-PORT (RFC 5780 §7.5) set to the mapped external port, to answer
 * there. Only the port mapping can deliver that answer. The mapping is deleted afterwards
 * (§3.4), and would expire within its short lifetime if the deletion failed.
 */
import { mapUdpPort, unmapUdpPort } from '../gateway/index.js';
import { attr, encodeMessage, newTransactionId, StunMethod, transactionKey, type StunMessage } from '../stun/index.js';
import { StunTransactions, SystemClock, UdpEndpoint, type Clock, type TimerHandle } from '../transport/index.js';
import type { ResolvedServer } from './servers.js';

export interface MappedPortReport {
  protocol: 'nat-pmp';
  created: boolean;
  internalPort?: number;
  externalPort?: number;
  lifetimeSeconds?: number;
  /** An unsolicited STUN answer arrived through the mapping. */
  reachable?: boolean;
  /** The mapping was deleted after the test (lifetime 0 accepted). */
  deleted?: boolean;
  error?: string;
  /** The NAT-PMP result code of a refused mapping (RFC 6886 §3.5), e.g. 3 Network Failure. */
  resultCode?: number;
}

const ATTEMPTS = 3;
const GAP_MS = 250;

export async function checkMappedPort(options: {
  gateway: string;
  server: ResolvedServer;
  bindAddress?: string;
  natPmpPort?: number;
  lifetimeSeconds?: number;
  clock?: Clock;
}): Promise<MappedPortReport> {
  const clock = options.clock ?? new SystemClock();
  const listener = await UdpEndpoint.bind({ family: 4, address: options.bindAddress });
  const tester = await UdpEndpoint.bind({ family: 4, address: options.bindAddress });
  const mapping = { gateway: options.gateway, internalPort: listener.local.port, port: options.natPmpPort, bindAddress: options.bindAddress, lifetimeSeconds: options.lifetimeSeconds, clock };
  try {
    const mapped = await mapUdpPort(mapping);
    if (!mapped.ok) return { protocol: 'nat-pmp', created: false, internalPort: listener.local.port, error: mapped.error, ...(mapped.resultCode !== undefined ? { resultCode: mapped.resultCode } : {}) };
    const reachable = await answerArrives(listener, tester, options.server, mapped.externalPort, clock);
    const unmapped = await unmapUdpPort(mapping);
    return {
      protocol: 'nat-pmp',
      created: true,
      internalPort: listener.local.port,
      externalPort: mapped.externalPort,
      lifetimeSeconds: mapped.lifetimeSeconds,
      reachable,
      deleted: unmapped.ok,
      ...(unmapped.ok ? {} : { error: `deleting the mapping failed (${unmapped.error}); it expires after ${mapped.lifetimeSeconds} s` }),
    };
  } finally {
    await Promise.all([listener.close(), tester.close()]);
  }
}

function answerArrives(listener: UdpEndpoint, tester: UdpEndpoint, server: ResolvedServer, externalPort: number, clock: Clock): Promise<boolean> {
  const listening = new StunTransactions(listener, { clock });
  const ids = new Set<string>();
  return new Promise<boolean>((resolve) => {
    let timer: TimerHandle | undefined;
    const done = (value: boolean): void => {
      if (timer) clock.clearTimeout(timer);
      listening.close();
      resolve(value);
    };
    listening.onUnmatched((_datagram, message) => {
      if (message?.class === 'successResponse' && ids.has(transactionKey(message.transactionId))) done(true);
    });
    const send = (attempt: number): void => {
      const request: StunMessage = { class: 'request', method: StunMethod.binding, transactionId: newTransactionId(), attributes: [attr('RESPONSE-PORT', externalPort)] };
      ids.add(transactionKey(request.transactionId));
      tester.send(encodeMessage(request, { fingerprint: true }), server.address).catch(() => undefined);
      timer = clock.setTimeout(() => (attempt < ATTEMPTS ? send(attempt + 1) : done(false)), attempt < ATTEMPTS ? GAP_MS : 2 * GAP_MS);
    };
    send(1);
  });
}
