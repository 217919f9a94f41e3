/**
 * A UDP forwarder that holds every datagram for a fixed time in each direction, so a bench can
 * give a loopback server a path with a real round-trip time. This kernel has no netem (see
 * LAB-NOTES), so the delay is made here, in user space: each client source gets its own upstream
 * socket (the server sees one 5-tuple per client, as through a NAT), and datagrams are replayed
 * after `delayMs` in arrival order. Loopback only; every socket is closed by close().
 */
import { UdpEndpoint } from '../src/transport/index.js';

export interface DelayProxy {
  /** Where clients send: 127.0.0.1:port reaches the target after delayMs. */
  readonly port: number;
  close(): Promise<void>;
}

export async function startDelayProxy(target: { address: string; port: number }, delayMs: number): Promise<DelayProxy> {
  const front = await UdpEndpoint.bind({ address: '127.0.0.1' });
  const upstreams = new Map<string, Promise<UdpEndpoint>>();
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;
  const later = (send: () => Promise<void>): void => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!closed) send().catch(() => undefined);
    }, delayMs);
    timers.add(timer);
  };
  front.onDatagram(({ data, from }) => {
    const key = `${from.address}:${from.port}`;
    let upstream = upstreams.get(key);
    if (upstream === undefined) {
      upstream = UdpEndpoint.bind({ address: '127.0.0.1' }).then((socket) => {
        socket.onDatagram((reply) => later(() => front.send(reply.data, from)));
        return socket;
      });
      upstreams.set(key, upstream);
    }
    const copy = Buffer.from(data);
    later(async () => (await upstream).send(copy, target));
  });
  return {
    port: front.local.port,
    async close() {
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      const sockets = await Promise.all(upstreams.values());
      await Promise.all([front.close(), ...sockets.map((socket) => socket.close())]);
    },
  };
}
