/**
 * `serve --metrics host:port`: Prometheus text exposition at /metrics (prom-client). Counters
 * read the servers' own stats at scrape time, so the hot paths count in plain integers and pay
 * nothing for Prometheus; Redis command latency is a histogram fed by the store's hook.
 * Nothing secret is ever a label: rooms, peers and tokens are not labels at all.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { StunServer } from '../server/index.js';
import type { SignalingServer } from '../signaling/index.js';

export interface ServeMetrics {
  readonly registry: Registry;
  /** The Redis store's per-command hook. */
  observeRedisCommand(command: string, seconds: number): void;
  /** Starts serving /metrics; rejects with the listen error (EADDRINUSE…). */
  listen(host: string, port: number): Promise<string>;
  close(): Promise<void>;
}

/** A counter whose value is read from a snapshot at scrape time (the source counts itself). */
function snapshotCounter<L extends string>(registry: Registry, name: string, help: string, labelNames: readonly L[], read: () => Promise<Array<[Partial<Record<L, string>>, number]>> | Array<[Partial<Record<L, string>>, number]>): void {
  new Counter<L>({
    name,
    help,
    labelNames,
    registers: [registry],
    async collect() {
      this.reset();
      for (const [labels, value] of await read()) if (value > 0) this.inc(labels as Record<L, string>, value);
    },
  });
}

export function createServeMetrics(stun: StunServer, getSignaling: () => SignalingServer | undefined): ServeMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'natprobe_' });

  snapshotCounter(registry, 'natprobe_stun_requests_total', 'STUN Binding requests processed (valid, not rate-limited).', [], () => [[{}, stun.stats().requests]]);
  snapshotCounter(registry, 'natprobe_stun_responses_total', 'STUN responses sent, by outcome.', ['outcome'], () => {
    const { responses } = stun.stats();
    return [
      [{ outcome: 'success' }, responses.success],
      [{ outcome: 'error' }, responses.error],
    ];
  });
  snapshotCounter(registry, 'natprobe_stun_rate_limited_total', 'STUN datagrams dropped by the per-source rate limit.', [], () => [[{}, stun.stats().rateLimited]]);
  snapshotCounter(registry, 'natprobe_stun_malformed_total', 'Datagrams that were not valid STUN, by reason.', ['reason'], () =>
    Object.entries(stun.stats().malformed).map(([reason, count]) => [{ reason }, count ?? 0]),
  );

  // One stats() call per scrape feeds every signaling metric (with Redis it is a round trip).
  let cached: { at: number; stats: Promise<Awaited<ReturnType<SignalingServer['stats']>> | undefined> } | undefined;
  const signalingStats = (): Promise<Awaited<ReturnType<SignalingServer['stats']>> | undefined> => {
    const now = Date.now();
    if (cached === undefined || now - cached.at > 500) {
      const signaling = getSignaling();
      cached = { at: now, stats: signaling === undefined ? Promise.resolve(undefined) : signaling.stats().catch(() => undefined) };
    }
    return cached.stats;
  };
  const gauge = (name: string, help: string, read: (stats: Awaited<ReturnType<SignalingServer['stats']>>) => number): void => {
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        const stats = await signalingStats();
        if (stats !== undefined) this.set(read(stats));
      },
    });
  };
  gauge('natprobe_signaling_connections', 'Open signaling WebSocket connections on this instance.', (s) => s.connections);
  gauge('natprobe_signaling_rooms', 'Rooms in the store (all instances, with Redis).', (s) => s.rooms);
  gauge('natprobe_signaling_peers', 'Peer sessions in the store, connected or in their resume grace (all instances, with Redis).', (s) => s.peers);
  const counter = (name: string, help: string, read: (stats: Awaited<ReturnType<SignalingServer['stats']>>) => number): void =>
    snapshotCounter(registry, name, help, [], async () => {
      const stats = await signalingStats();
      return stats === undefined ? [] : [[{}, read(stats)]];
    });
  counter('natprobe_signaling_joins_total', 'Joins on this instance (new sessions and resumes).', (s) => s.joins);
  counter('natprobe_signaling_resumes_total', 'Sessions resumed on this instance.', (s) => s.resumes);
  counter('natprobe_signaling_messages_relayed_total', 'Stream messages accepted and relayed by this instance.', (s) => s.messagesRelayed);
  counter('natprobe_signaling_duplicates_dropped_total', 'Re-sent stream messages recognised and dropped.', (s) => s.duplicatesDropped);
  counter('natprobe_signaling_store_failures_total', 'Store (Redis) operations that failed.', (s) => s.storeFailures);
  snapshotCounter(registry, 'natprobe_signaling_errors_total', 'Signaling error frames sent, by code.', ['code'], async () => {
    const stats = await signalingStats();
    return stats === undefined ? [] : Object.entries(stats.errorsSent).map(([code, count]) => [{ code }, count]);
  });

  const redisLatency = new Histogram({
    name: 'natprobe_redis_command_duration_seconds',
    help: 'Round trip of each Redis command or script the signaling store runs.',
    labelNames: ['command'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });

  let http: Server | undefined;
  return {
    registry,
    observeRedisCommand(command, seconds) {
      redisLatency.observe({ command }, seconds);
    },
    async listen(host, port) {
      const server = createServer((request, response) => {
        if (request.method !== 'GET' || (request.url ?? '').split('?')[0] !== '/metrics') {
          response.writeHead(404, { 'content-type': 'text/plain' }).end('nat-probe serves Prometheus metrics at /metrics\n');
          return;
        }
        registry.metrics().then(
          (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
          (error: unknown) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${error instanceof Error ? error.message : String(error)}\n`),
        );
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      http = server;
      const address = server.address() as AddressInfo;
      const shown = address.address.includes(':') ? `[${address.address}]` : address.address;
      return `http://${shown}:${address.port}/metrics`;
    },
    async close() {
      if (http === undefined) return;
      http.closeAllConnections();
      await new Promise<void>((resolve) => http!.close(() => resolve()));
    },
  };
}

