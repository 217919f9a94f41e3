import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';

/**
 * Holds a WebSocket's writes until the current burst of work is done, so that several frames for
 * one peer (a burst of trickled candidates relayed from one read) leave in one write syscall
 * instead of one each. On loopback and in VMs the syscall and the wake-up it causes cost more than
 * the rest of relaying a message, so this is what lets one process relay tens of thousands of
 * messages per second.
 *
 * ws has no public cork API; its underlying net.Socket (`_socket`, present since ws 1.x) is
 * corked directly. process.nextTick runs after the promise continuations of the current I/O
 * callback, so every frame relayed from one read is written together. Without a socket (ws
 * internals changed) frames are simply written one by one.
 */
export class WriteBatcher {
  private corked = false;
  private readonly socket: Socket | undefined;

  constructor(ws: WebSocket) {
    const socket = (ws as unknown as { _socket?: unknown })._socket;
    this.socket = isCorkable(socket) ? socket : undefined;
  }

  /** Call before each write; the socket is uncorked once the current tick's work is done. */
  hold(): void {
    if (this.corked || this.socket === undefined) return;
    this.corked = true;
    this.socket.cork();
    process.nextTick(() => {
      this.corked = false;
      this.socket!.uncork();
    });
  }
}

function isCorkable(value: unknown): value is Socket {
  return typeof (value as Socket | undefined)?.cork === 'function' && typeof (value as Socket).uncork === 'function';
}
