/**
 * The field server: one HTTP server that serves the customer's page, its script and stylesheet,
 * the visit endpoints, and (on /signal) nat-probe's own signaling server, so the page talks to a
 * single origin and its CSP can say `connect-src 'self'`. Beside it, the RFC 5780 STUN server of
 * `serve` (unless STUN servers are given), which the page and the visit's session gather with.
 *
 * Routes (everything else, and every unknown or spent token, is a plain 404):
 *   GET  /p/<token>              the page; takes one visit from the link and starts the visit
 *   GET  /field.js, /field.css   the page's assets
 *   POST /v/<secret>/go          the page joined its room (nat-probe controlled: start the session)
 *   POST /v/<secret>/findings    the page's findings (JSON, ≤ 64 KiB); answers the customer's sentence
 *   WS   /signal/<secret>        signaling (src/signaling/PROTOCOL.md), for a live visit only
 *
 * Every request first takes a token from its source address's bucket (default 20/s, bursts of
 * 40; 429 when empty), as the signaling server limits each connection's frames.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { startStunServer, type StunServer } from '../server/index.js';
import { attachSignalingServer, type AttachedSignalingServer } from '../signaling/index.js';
import { TokenBucket } from '../signaling/token-bucket.js';
import type { TransportAddress } from '../ice/candidate.js';
import type { PeerTurnServer } from '../peer/session.js';
import { credentialsOf, relayLadderRungs } from '../peer/relay.js';
import { systemClock, type Clock } from '../transport/clock.js';
import type { FieldEvent } from './events.js';
import { BrowserFindings, MAX_FINDINGS_BYTES } from './findings.js';
import { FieldLinks, FIELD_LINK_DEFAULTS, type IssuedLink } from './links.js';
import { FIELD_ASSETS, FIELD_SECURITY_HEADERS, PLACEHOLDER_FINGERPRINT, renderFieldPage, type FieldPageConfig } from './page.js';
import { FieldVisit, type FieldVisitResult, type NatProbeRole } from './visit.js';

export interface FieldServerOptions {
  /** Address to listen on. Default 127.0.0.1. */
  host?: string;
  /** TCP port. Default 0 (a free one). */
  port?: number;
  /** The base URL the customer reaches (a proxy, a public name). Default http://host:port. */
  publicUrl?: string;
  /** STUN servers for the page and the session, as `host:port` addresses. Default the built-in server. */
  stunServers?: readonly TransportAddress[];
  /** UDP port of the built-in STUN server (its alternate is port + 1). Default 3478; 0 picks free ports. */
  stunPort?: number;
  /** TURN servers for the page and the session. Default none. */
  turnServers?: readonly PeerTurnServer[];
  /** nat-probe's ICE role in each visit; 'alternate' switches every visit. Default 'controlling'. */
  natProbeRole?: NatProbeRole | 'alternate';
  /** Link lifetime. Default 1 h. */
  ttlMs?: number;
  /** Visits one link serves. Default 1. */
  visitsPerLink?: number;
  /** Bound on each visit. Default 30 s. */
  visitTimeoutMs?: number;
  /** After a visit's nat-probe session ends, how long its page has to report. Default 5 s. */
  findingsGraceMs?: number;
  /** HTTP requests per second per source address. Default 20 (bursts of twice that). */
  httpRatePerSecond?: number;
  /** Local address for nat-probe's ICE sockets. Default every interface. */
  bindAddress?: string;
  clock?: Clock;
  onEvent?: (event: FieldEvent) => void;
  onVisitEnd?: (result: FieldVisitResult) => void;
}

export const FIELD_SERVER_DEFAULTS = {
  host: '127.0.0.1',
  port: 0,
  stunPort: 3478,
  natProbeRole: 'controlling' as NatProbeRole | 'alternate',
  visitTimeoutMs: 30_000,
  httpRatePerSecond: 20,
  gatherTimeoutMs: 5_000,
} as const;

export interface FieldServer {
  /** Base URL, e.g. http://127.0.0.1:40123 (the public URL when given). */
  readonly baseUrl: string;
  readonly port: number;
  /** Makes a new link (token) for a customer. */
  issueLink(): IssuedLink & { url: string };
  close(): Promise<void>;
}

const SIGNAL_PATH = '/signal';
/** Buckets per source address kept at most; the oldest is dropped beyond (bounded memory under a flood). */
const MAX_BUCKETS = 10_000;

export async function startFieldServer(options: FieldServerOptions = {}): Promise<FieldServer> {
  const clock = options.clock ?? systemClock;
  const startedAt = clock.now();
  const since = (): number => clock.now() - startedAt;
  const emit = (event: FieldEvent): void => {
    try {
      options.onEvent?.(event);
    } catch {
      // A broken listener must not break the server.
    }
  };
  const host = options.host ?? FIELD_SERVER_DEFAULTS.host;
  const links = new FieldLinks(clock, { ttlMs: options.ttlMs ?? FIELD_LINK_DEFAULTS.ttlMs, visitsPerLink: options.visitsPerLink ?? FIELD_LINK_DEFAULTS.visitsPerLink });
  const visits = new Map<string, FieldVisit>();
  const buckets = new Map<string, TokenBucket>();
  const rate = options.httpRatePerSecond ?? FIELD_SERVER_DEFAULTS.httpRatePerSecond;
  let visitCount = 0;

  // The built-in STUN server, unless servers are given. On 127.0.0.1 it has its RFC 5780
  // alternate address (127.0.0.2, on lo with no set-up), so the page compares two servers that
  // differ in address and port. On any other address a second instance on the next port stands
  // in: the page then tells endpoint-independent from port-dependent mapping, though not from
  // address-dependent (summarizeGathering says so).
  const stuns: StunServer[] = [];
  let stunServers: readonly TransportAddress[] = options.stunServers ?? [];
  if (options.stunServers === undefined) {
    const loopback = host === '127.0.0.1';
    const port = options.stunPort ?? FIELD_SERVER_DEFAULTS.stunPort;
    const rateLimit = { ratePerSecond: 200, burst: 400 };
    stuns.push(await startStunServer({ primary: host, alternate: loopback ? '127.0.0.2' : undefined, port, rateLimit }));
    if (!loopback) {
      try {
        stuns.push(await startStunServer({ primary: host, alternate: undefined, port: port === 0 ? 0 : port + 1, rateLimit }));
      } catch (error) {
        await stuns[0]!.close();
        throw error;
      }
    }
    const a = stuns[0]!.addresses;
    stunServers = [a.primary, ...(a.alternateIpAndPort !== undefined ? [a.alternateIpAndPort] : []), ...stuns.slice(1).map((s) => s.addresses.primary)].map((x) => ({ address: x.address, port: x.port }));
  }

  const http: Server = createServer((request, response) => {
    void handle(request, response).catch(() => {
      if (!response.headersSent) plain(response, 500, 'Internal Server Error');
      else response.destroy();
    });
  });
  http.headersTimeout = 10_000;
  http.requestTimeout = 30_000;
  // Signaling is reachable only through a live visit's path, /signal/<visit secret>: the field
  // server is no open signaling relay, and a stranger cannot even reach the hub. The hub is
  // attached to an internal server that never listens; vetted upgrades are handed to it.
  const hub = createServer();
  const signaling: AttachedSignalingServer = attachSignalingServer(hub, { path: SIGNAL_PATH, clock, joinTimeoutMs: 10_000 });
  http.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const match = /^\/signal\/([A-Za-z0-9_-]{22})$/.exec(pathOf(request));
    const visit = match !== null ? visits.get(match[1]!) : undefined;
    if (visit === undefined || visit.ended || !allowed(request)) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    request.url = SIGNAL_PATH;
    hub.emit('upgrade', request, socket, head);
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port ?? FIELD_SERVER_DEFAULTS.port, host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const port = (http.address() as AddressInfo).port;
  const hostInUrl = host.includes(':') ? `[${host}]` : host;
  const localBase = `http://${hostInUrl}:${port}`;
  const baseUrl = (options.publicUrl ?? localBase).replace(/\/+$/, '');
  const signalBase = `ws://${hostInUrl === '0.0.0.0' ? '127.0.0.1' : hostInUrl === '[::]' ? '[::1]' : hostInUrl}:${port}${SIGNAL_PATH}`;
  const publicHost = new URL(baseUrl).hostname;
  // A wildcard address is no use to the browser: it reaches the built-in server by the link's host.
  const stunUrls = stunServers.map((s) => `stun:${s.address === '0.0.0.0' || s.address === '::' ? publicHost : s.address.includes(':') ? `[${s.address}]` : s.address}:${s.port}`);

  function pageIceServers(): FieldPageConfig['iceServers'] {
    // The customer's browser needs TURN credentials of its own. With a REST secret they are made
    // per page and last an hour unless --turn-ttl says otherwise; long-term credentials
    // (--turn-user/--turn-pass) are handed over as they are (README says so).
    // Every rung of the relay ladder (peer/relay.ts): each turn: server over UDP and over TCP,
    // and the turns: ones, so the page can say which transports get a relay through.
    const turn = relayLadderRungs(options.turnServers ?? []).map((server) => {
      const credentials = credentialsOf(server.secret !== undefined ? { ...server, ttlSeconds: server.ttlSeconds ?? 3_600 } : server);
      return { urls: [server.url], username: credentials.username, credential: credentials.password };
    });
    return [...stunUrls.map((url) => ({ urls: [url] })), ...turn];
  }

  function allowed(request: IncomingMessage): boolean {
    const source = request.socket.remoteAddress ?? '?';
    let bucket = buckets.get(source);
    if (bucket === undefined) {
      if (buckets.size >= MAX_BUCKETS) buckets.delete(buckets.keys().next().value!);
      bucket = new TokenBucket({ messagesPerSecond: rate, burst: rate * 2 }, clock);
      buckets.set(source, bucket);
    }
    return bucket.tryTake();
  }

  function roleFor(n: number): NatProbeRole {
    const role = options.natProbeRole ?? FIELD_SERVER_DEFAULTS.natProbeRole;
    if (role !== 'alternate') return role;
    return n % 2 === 1 ? 'controlling' : 'controlled';
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (!allowed(request)) {
      emit({ type: 'field-refused', at: since(), status: 429, why: 'rate limit' });
      response.writeHead(429, { 'content-type': 'text/plain; charset=utf-8', 'retry-after': '1', ...FIELD_SECURITY_HEADERS });
      response.end('Too Many Requests\n');
      return;
    }
    const path = pathOf(request);
    const method = request.method ?? 'GET';
    const asset = FIELD_ASSETS[path];
    if (asset !== undefined && (method === 'GET' || method === 'HEAD')) {
      response.writeHead(200, { 'content-type': asset.type, 'content-length': Buffer.byteLength(asset.body), ...FIELD_SECURITY_HEADERS });
      response.end(method === 'HEAD' ? undefined : asset.body);
      return;
    }
    const page = /^\/p\/([^/]+)$/.exec(path);
    if (page !== null && method === 'GET') {
      if (!links.take(page[1]!)) return notFound(response, 'unknown, used or expired link');
      await openVisit(request, response);
      return;
    }
    const visitPath = /^\/v\/([A-Za-z0-9_-]{22})\/(go|findings)$/.exec(path);
    const visit = visitPath !== null ? visits.get(visitPath[1]!) : undefined;
    if (visit === undefined || method !== 'POST' || visit.ended) return notFound(response, 'unknown visit');
    if (visitPath![2] === 'go') {
      if (roleFor(visitNumber(visit)) === 'controlled') void visit.startSession();
      response.writeHead(204, FIELD_SECURITY_HEADERS);
      response.end();
      return;
    }
    const body = await readBody(request, MAX_FINDINGS_BYTES);
    if (body === undefined) {
      emit({ type: 'field-refused', at: since(), status: 413, why: 'findings too large' });
      return plain(response, 413, 'Payload Too Large');
    }
    let parsed: BrowserFindings | undefined;
    try {
      const result = BrowserFindings.safeParse(JSON.parse(body));
      parsed = result.success ? result.data : undefined;
    } catch {
      parsed = undefined;
    }
    if (parsed === undefined) {
      emit({ type: 'field-refused', at: since(), status: 400, why: 'findings do not match the schema' });
      return plain(response, 400, 'Bad Request');
    }
    const ended = await visit.onFindings(parsed);
    response.writeHead(200, { 'content-type': 'application/json', ...FIELD_SECURITY_HEADERS });
    response.end(JSON.stringify(ended.result));
  }

  const numbers = new WeakMap<FieldVisit, number>();
  const visitNumber = (visit: FieldVisit): number => numbers.get(visit) ?? 0;

  async function openVisit(request: IncomingMessage, response: ServerResponse): Promise<void> {
    visitCount += 1;
    const n = visitCount;
    const role = roleFor(n);
    const visit = new FieldVisit({
      id: `v${n}`,
      signalUrl: (secret) => `${signalBase}/${secret}`,
      natProbeRole: role,
      userAgent: request.headers['user-agent'],
      // nat-probe's own server-reflexive candidate; a wildcard-bound built-in server is this host.
      ...(stunServers[0] !== undefined && stunServers[0].address !== '0.0.0.0' && stunServers[0].address !== '::' ? { stunServer: stunServers[0] } : {}),
      stunUrls,
      ...(options.turnServers !== undefined ? { turnServers: options.turnServers } : {}),
      ...(options.bindAddress !== undefined ? { bindAddress: options.bindAddress } : {}),
      timeoutMs: options.visitTimeoutMs ?? FIELD_SERVER_DEFAULTS.visitTimeoutMs,
      ...(options.findingsGraceMs !== undefined ? { findingsGraceMs: options.findingsGraceMs } : {}),
      clock,
      since,
      emit,
    });
    numbers.set(visit, n);
    visits.set(visit.secret, visit);
    void visit.done().then((result) => {
      visits.delete(visit.secret);
      try {
        options.onVisitEnd?.(result);
      } catch {
        // as emit
      }
    });
    // nat-probe controlling: its session must be in the room before the page joins.
    if (role === 'controlling') await visit.startSession();
    const config: FieldPageConfig = {
      room: visit.room,
      roomToken: visit.roomToken,
      signalPath: `${SIGNAL_PATH}/${visit.secret}`,
      goPath: `/v/${visit.secret}/go`,
      findingsPath: `/v/${visit.secret}/findings`,
      browserRole: role === 'controlling' ? 'answerer' : 'offerer',
      iceServers: pageIceServers(),
      fingerprint: PLACEHOLDER_FINGERPRINT,
      gatherTimeoutMs: FIELD_SERVER_DEFAULTS.gatherTimeoutMs,
      iceTimeoutMs: Math.max(5_000, (options.visitTimeoutMs ?? FIELD_SERVER_DEFAULTS.visitTimeoutMs) - FIELD_SERVER_DEFAULTS.gatherTimeoutMs),
    };
    const html = renderFieldPage(config);
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(html), ...FIELD_SECURITY_HEADERS });
    response.end(html);
  }

  function notFound(response: ServerResponse, why: string): void {
    emit({ type: 'field-refused', at: since(), status: 404, why });
    plain(response, 404, 'Not Found');
  }

  return {
    baseUrl,
    port,
    issueLink() {
      const link = links.issue();
      return { ...link, url: `${baseUrl}/p/${link.token}` };
    },
    async close() {
      for (const visit of visits.values()) visit.shutdown();
      await signaling.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      await Promise.all(stuns.map((stun) => stun.close()));
    },
  };
}

function plain(response: ServerResponse, status: number, text: string): void {
  response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...FIELD_SECURITY_HEADERS });
  response.end(`${text}\n`);
}

function pathOf(request: IncomingMessage): string {
  const url = request.url ?? '/';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

/** The body as text, or undefined when it exceeds `max` bytes (the rest is not read). */
function readBody(request: IncomingMessage, max: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        resolve(undefined);
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}
