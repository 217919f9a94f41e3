/**
 * The signaling server's HTTP side: a WebSocket endpoint on its own HTTP server
 * (startSignalingServer) or on one the caller already runs (attachSignalingServer).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { SIGNALING_SUBPROTOCOL } from './protocol.js';
import { resolveServerOptions, type SignalingServerOptions } from './server-options.js';
import { SignalingHub, type SignalingServerStats } from './signaling-hub.js';

export interface AttachedSignalingServer {
  /** Closes every signaling connection (with `server-shutdown`) and stops listening for upgrades; leaves the HTTP server running. */
  close(): Promise<void>;
  stats(): Promise<SignalingServerStats>;
}

export interface SignalingServer extends AttachedSignalingServer {
  /** e.g. `ws://127.0.0.1:40123/`. */
  readonly url: string;
  readonly port: number;
}

/**
 * ws closes a connection, without a word, on a frame larger than its maxPayload. The server
 * checks the configured limit itself, so it can answer with `message-too-large`; ws's cap sits
 * above it and only guards memory against far larger frames.
 */
const HARD_PAYLOAD_FACTOR = 4;
/** How long close() waits for clients to answer the close handshake before cutting them off. */
const CLOSE_WAIT_MS = 2_000;

/** Starts a signaling server on its own HTTP server, listening on host:port (default 127.0.0.1, any free port). */
export async function startSignalingServer(options: SignalingServerOptions = {}): Promise<SignalingServer> {
  const resolved = resolveServerOptions(options);
  const http = createServer((_request, response) => {
    response.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' });
    response.end(`nat-probe signaling: connect with a WebSocket using subprotocol ${SIGNALING_SUBPROTOCOL}\n`);
  });
  const attached = attach(http, resolved, true);
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(resolved.port, resolved.host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const port = (http.address() as AddressInfo).port;
  const host = resolved.host.includes(':') ? `[${resolved.host}]` : resolved.host;
  return {
    url: `ws://${host}:${port}${resolved.path ?? '/'}`,
    port,
    stats: attached.stats,
    async close() {
      await attached.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

/**
 * Serves signaling on an HTTP server the caller runs. With `options.path`, upgrades to other
 * paths are left to the server's other `upgrade` listeners; without it, every upgrade is taken.
 * `host` and `port` are ignored: the caller listens.
 */
export function attachSignalingServer(server: Server, options: SignalingServerOptions = {}): AttachedSignalingServer {
  return attach(server, resolveServerOptions(options), false);
}

function attach(server: Server, options: ReturnType<typeof resolveServerOptions>, ownsServer: boolean): AttachedSignalingServer {
  const hub = new SignalingHub(options);
  const wss = new WebSocketServer({
    noServer: true,
    clientTracking: true,
    perMessageDeflate: false,
    maxPayload: options.maxPayloadBytes * HARD_PAYLOAD_FACTOR,
    // RFC 6455 §4.2.2: select our subprotocol if offered; otherwise none, and the hub refuses.
    handleProtocols: (protocols) => (protocols.has(SIGNALING_SUBPROTOCOL) ? SIGNALING_SUBPROTOCOL : false),
  });
  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (options.path !== undefined && pathOf(request) !== options.path) {
      if (ownsServer) {
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      }
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws: WebSocket) => hub.accept(ws));
  };
  server.on('upgrade', onUpgrade);

  let closing: Promise<void> | undefined;
  return {
    stats: () => hub.stats(),
    close() {
      closing ??= (async () => {
        server.off('upgrade', onUpgrade);
        hub.close();
        await waitForClose([...wss.clients], CLOSE_WAIT_MS);
        await new Promise<void>((resolve) => wss.close(() => resolve()));
      })();
      return closing;
    },
  };
}

function pathOf(request: IncomingMessage): string {
  const url = request.url ?? '/';
  const query = url.indexOf('?');
  return query < 0 ? url : url.slice(0, query);
}

/** Waits for each socket's close handshake, bounded; the stragglers are terminated. */
async function waitForClose(clients: WebSocket[], boundMs: number): Promise<void> {
  const open = clients.filter((ws) => ws.readyState !== ws.CLOSED);
  if (open.length === 0) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.all(open.map((ws) => new Promise<void>((resolve) => ws.once('close', () => resolve())))),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, boundMs);
      timer.unref();
    }),
  ]);
  clearTimeout(timer);
  for (const ws of open) if (ws.readyState !== ws.CLOSED) ws.terminate();
}
