/**
 * The server side of bench/signaling.bench.ts, in a child process of its own so that its RSS
 * is its alone and it has its own fd limit. mode 'signaling' runs startSignalingServer with its
 * defaults; mode 'bare' runs the baseline: a `ws` server that pairs sockets by the URL's ?room=
 * and forwards each frame to the partner, with no protocol, validation or state beyond the pair.
 *
 * IPC: child → {type:'listening', port}; parent → {cmd:'measure'} → child {type:'measure', rss, stats};
 * parent → {cmd:'stop'} → the child closes and exits. It also exits by itself after `deadlineMs`.
 */
import { createServer } from 'node:http';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { startSignalingServer } from '../src/signaling/index.js';
import { connectRedisSignaling, type RedisSignaling } from '../src/signaling/redis-store.js';

interface ServerConfig {
  /** 'peerjs': PeerJS server (npm `peer`), one instance, the outside baseline. */
  mode: 'signaling' | 'bare' | 'peerjs';
  deadlineMs: number;
  /** mode 'signaling' only: keep state in this Redis (serve --redis), as one of several instances. */
  redisUrl?: string;
  /** Limits for large runs (defaults: the server's, 10 000 rooms and 20 000 peers). */
  maxRooms?: number;
  maxPeers?: number;
}

const config = JSON.parse(process.argv[2] ?? '{}') as ServerConfig;
setTimeout(() => process.exit(1), config.deadlineMs).unref();

interface Running {
  port: number;
  stats(): Promise<unknown>;
  close(): Promise<void>;
}

async function startBare(): Promise<Running> {
  const http = createServer();
  const wss = new WebSocketServer({ server: http, perMessageDeflate: false, handleProtocols: (protocols) => [...protocols][0] ?? false });
  const waiting = new Map<string, WebSocket>();
  let relayed = 0;
  wss.on('connection', (ws, request) => {
    const room = new URL(request.url ?? '/', 'http://x').searchParams.get('room') ?? '';
    const first = waiting.get(room);
    let partner: WebSocket | undefined;
    if (first === undefined) {
      waiting.set(room, ws);
    } else {
      waiting.delete(room);
      partner = first;
      first.emit('paired', ws);
    }
    ws.once('paired', (other: WebSocket) => (partner = other));
    ws.on('message', (data, isBinary) => {
      if (partner === undefined) return;
      partner.send(data, { binary: isBinary });
      relayed++;
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return {
    port: (http.address() as AddressInfo).port,
    stats: async () => ({ connections: wss.clients.size, relayed }),
    close: async () => {
      for (const ws of wss.clients) ws.terminate();
      await new Promise((resolve) => wss.close(resolve));
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    },
  };
}

function measureRss(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().rss;
}

async function startOurs(): Promise<Running> {
  let redis: RedisSignaling | undefined;
  if (config.redisUrl !== undefined) redis = await connectRedisSignaling({ url: config.redisUrl });
  const server = await startSignalingServer({
    host: '127.0.0.1',
    port: 0,
    ...(redis !== undefined ? { store: redis.store, bus: redis.bus } : {}),
    ...(config.maxRooms !== undefined ? { maxRooms: config.maxRooms } : {}),
    ...(config.maxPeers !== undefined ? { maxPeers: config.maxPeers } : {}),
  });
  return {
    port: server.port,
    stats: () => server.stats(),
    close: async () => {
      await server.close();
      await redis?.close();
    },
  };
}

async function startPeerJs(): Promise<Running> {
  const { PeerServer } = await import('peer');
  let server: import('node:http').Server | undefined;
  const app = await new Promise<ReturnType<typeof PeerServer>>((resolve) => {
    // Limits raised so the server, not its defaults (5 000 peers), is what is measured.
    const created = PeerServer({ host: '127.0.0.1', port: 0, path: '/', concurrent_limit: 1_000_000, alive_timeout: 600_000, expire_timeout: 600_000 }, (http) => {
      server = http as import('node:http').Server;
      resolve(created);
    });
  });
  let connections = 0;
  app.on('connection', () => connections++);
  app.on('disconnect', () => connections--);
  return {
    port: (server!.address() as AddressInfo).port,
    stats: async () => ({ connections }),
    close: async () => {
      server!.closeAllConnections();
      await new Promise((resolve) => server!.close(resolve));
    },
  };
}

// Event-loop delay while loaded: a stall here (GC, a long task) is latency for every message behind it.
const loopDelay = monitorEventLoopDelay({ resolution: 5 });
loopDelay.enable();
const running: Running = config.mode === 'bare' ? await startBare() : config.mode === 'peerjs' ? await startPeerJs() : await startOurs();
process.send?.({ type: 'listening', port: running.port, rss: measureRss() });
process.on('message', (message: { cmd: string }) => {
  if (message.cmd === 'measure') {
    const cpu = process.cpuUsage();
    const loop = performance.eventLoopUtilization();
    const delay = { p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 };
    void running.stats().then((stats) =>
      process.send?.({
        type: 'measure',
        rss: measureRss(),
        cpuMs: (cpu.user + cpu.system) / 1000,
        userMs: cpu.user / 1000,
        loopActiveMs: loop.active,
        loopDelayMs: delay,
        stats,
      }),
    ).finally(() => {
      // Once the delay monitor has recorded measureRss's forced GC (its next tick, 5 ms), so the
      // next measure covers only what happened since: the load.
      setTimeout(() => loopDelay.reset(), 20);
    });
  } else if (message.cmd === 'stop') {
    void running.close().finally(() => process.exit(0));
  }
});
