import { SocketError, UdpEndpoint } from '../transport/index.js';
import { StunServerError } from './errors.js';
import type { ResolvedServerOptions } from './options.js';
import type { SocketRole } from './roles.js';

export type ServerSockets = Partial<Record<SocketRole, UdpEndpoint>> & { primary: UdpEndpoint };

/** How many (P1, P2) pairs to try when the ports are ours to pick. */
export const MAX_PORT_PAIR_ATTEMPTS = 20;

async function closeAll(endpoints: Iterable<UdpEndpoint | undefined>): Promise<void> {
  await Promise.all([...endpoints].map((endpoint) => endpoint?.close()));
}

function bindFailed(error: unknown, what: string): StunServerError {
  const detail = error instanceof Error ? error.message : String(error);
  return new StunServerError('server-bind-failed', `Cannot start the STUN server: ${what}. ${detail}`, error);
}

/**
 * Binds the server's sockets. Without an alternate address that is one socket. With one, it is
 * four (RFC 5780 §6: the same two ports on both addresses). When the caller let us pick the
 * ports (port 0), a pair that is free on both addresses is searched for: the kernel picks P1
 * on A1, then A2:P1, A1:P2 and A2:P2 must also be free, else everything is released and the
 * search starts over, at most MAX_PORT_PAIR_ATTEMPTS times.
 */
export async function bindServerSockets(options: ResolvedServerOptions): Promise<ServerSockets> {
  const { family, primary, alternate } = options;
  if (alternate === undefined) {
    try {
      return { primary: await UdpEndpoint.bind({ address: primary, port: options.port, family }) };
    } catch (error) {
      throw bindFailed(error, `UDP ${primary} port ${options.port} is unavailable`);
    }
  }

  const portsArePicked = options.port === 0 || options.alternatePort === 0;
  const attempts = portsArePicked ? MAX_PORT_PAIR_ATTEMPTS : 1;
  let lastError: unknown;
  for (let attempt = 0; attempt < attempts; attempt++) {
    const bound: UdpEndpoint[] = [];
    const bind = async (address: string, port: number): Promise<UdpEndpoint> => {
      const endpoint = await UdpEndpoint.bind({ address, port, family });
      bound.push(endpoint);
      return endpoint;
    };
    try {
      const primarySocket = await bind(primary, options.port);
      const p1 = primarySocket.local.port;
      const alternateIp = await bind(alternate, p1);
      let p2 = options.alternatePort ?? p1 + 1;
      if (p2 > 0xffff) throw new SocketError('socket-bind-failed', `the kernel picked port ${p1}, leaving no port + 1`);
      const alternatePort = await bind(primary, p2);
      p2 = alternatePort.local.port;
      if (p2 === p1) throw new SocketError('socket-bind-failed', 'both ports came out equal');
      const alternateIpAndPort = await bind(alternate, p2);
      return { primary: primarySocket, alternateIp, alternatePort, alternateIpAndPort };
    } catch (error) {
      await closeAll(bound);
      if (!(error instanceof SocketError)) throw error;
      lastError = error;
    }
  }
  const ports = portsArePicked
    ? `no port pair free on both ${primary} and ${alternate} after ${attempts} attempts`
    : `ports ${options.port} and ${options.alternatePort} are not both free on ${primary} and ${alternate}`;
  throw bindFailed(lastError, `${ports}; check that both addresses belong to this host (on loopback, all of 127.0.0.0/8 does) or choose other ports`);
}
