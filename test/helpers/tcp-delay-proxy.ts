/**
 * A TCP relay on 127.0.0.1 that holds every chunk for `delayMs` in each direction, in order:
 * a slow network (or a slow Redis) for fault tests. Stopped by close(); bounded by its sockets.
 */
import { createServer, Socket, type Server } from 'node:net';

export class TcpDelayProxy {
  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly sockets: Set<Socket>,
  ) {}

  static async start(targetPort: number, delayMs: number): Promise<TcpDelayProxy> {
    const sockets = new Set<Socket>();
    const server = createServer((inbound) => {
      const outbound = new Socket();
      outbound.connect(targetPort, '127.0.0.1');
      for (const socket of [inbound, outbound]) {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        socket.on('error', () => undefined);
      }
      // Equal delays keep the order: timers of one duration fire in the order they were set.
      const relay = (from: Socket, to: Socket): void => {
        from.on('data', (chunk) => setTimeout(() => to.destroyed || to.write(chunk), delayMs));
        from.on('close', () => setTimeout(() => to.destroy(), delayMs));
      };
      relay(inbound, outbound);
      relay(outbound, inbound);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new TcpDelayProxy(server, (server.address() as { port: number }).port, sockets);
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
