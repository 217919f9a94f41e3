/**
 * The field server without a browser, on loopback: links (unguessable, one visit, plain 404 for
 * anything else), the page's headers (strict CSP, no inline script), the HTTP rate limit, and bad
 * pages: one that sends garbage over signaling and hostile strings (ANSI escapes, HTML) in its
 * user agent, candidates and findings; one that never answers. Each visit ends with a reason and
 * the server goes on serving. A `ws` client plays the page's signaling part.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import WebSocket from 'ws';
import { startFieldServer, type FieldServer } from '../../src/field/server.js';
import type { FieldEvent } from '../../src/field/events.js';
import type { FieldVisitResult } from '../../src/field/visit.js';
import { buildFieldVisitReport } from '../../src/report/field-report.js';
import { renderFieldVisitHtml } from '../../src/report/field-html.js';
import { formatFieldEventLine, renderFieldVisitSummary } from '../../src/report/field-lines.js';
import { EventQueue, withinMs } from '../helpers/events.js';

/**
 * A header carries latin1, and Node's HTTP parser refuses C0 controls in it (400): what gets
 * through is the C1 CSI (0x9b, an 8-bit ANSI escape some terminals obey) and markup.
 */
const EVIL_HEADER = '\u009b2J\u009b31mPWNED<script>alert(1)</script>\u0085';

/** GET with a raw header (fetch and http.request refuse hostile header bytes); resolves with the body. */
function rawGet(url: string, userAgent: string): Promise<string> {
  const { hostname, port, pathname } = new URL(url);
  return withinMs(
    new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), hostname, () => {
        socket.write(Buffer.from(`GET ${pathname} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUser-Agent: ${userAgent}\r\nConnection: close\r\n\r\n`, 'latin1'));
      });
      let text = '';
      socket.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      socket.on('end', () => resolve(text.slice(text.indexOf('\r\n\r\n') + 4)));
      socket.on('error', reject);
    }),
    10_000,
    'the raw GET',
  );
}
const EVIL = '\u001b[2J\u001b[31mPWNED\u001b]0;title\u0007<script>alert(1)</script>\u202e';

let server: FieldServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(extra: Parameters<typeof startFieldServer>[0] = {}) {
  const events: FieldEvent[] = [];
  const ended = new EventQueue<FieldVisitResult>();
  server = await startFieldServer({ stunPort: 0, bindAddress: '127.0.0.1', visitTimeoutMs: 4_000, findingsGraceMs: 500, onEvent: (e) => events.push(e), onVisitEnd: (r) => ended.push(r), ...extra });
  return { server, events, ended };
}

function configOf(html: string): Record<string, any> {
  const attribute = /data-config="([^"]*)"/.exec(html)![1]!;
  const json = attribute.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  return JSON.parse(json) as Record<string, any>;
}

/** The page's signaling side, by hand: join the visit's room, then whatever the test sends. */
async function joinAsPage(base: string, config: Record<string, any>): Promise<{ ws: WebSocket; received: EventQueue<Record<string, any>> }> {
  const ws = new WebSocket(`${base.replace('http', 'ws')}${config.signalPath}`, 'nat-probe-signaling.v1');
  const received = new EventQueue<Record<string, any>>();
  ws.on('message', (data) => received.push(JSON.parse(String(data)) as Record<string, any>));
  await withinMs(new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject)), 5_000, 'the signaling socket');
  ws.send(JSON.stringify({ type: 'join', seq: 0, room: config.room, token: config.roomToken }));
  return { ws, received };
}

/** The next message that matches, skipping others, within the bound. */
async function until(queue: EventQueue<Record<string, any>>, match: (m: Record<string, any>) => boolean, boundMs: number): Promise<Record<string, any>> {
  const deadline = Date.now() + boundMs;
  for (;;) {
    const message = await queue.next(Math.max(1, deadline - Date.now()), 'a matching signaling message');
    if (match(message)) return message;
  }
}

const noControl = (text: string): void => {
  expect(text).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e]/);
};

describe('field server', () => {
  it('serves a link once, with a strict CSP and no inline script; anything else is a plain 404', async () => {
    const { server } = await start();
    const link = server.issueLink();
    expect(link.token).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(link.url).toBe(`${server.baseUrl}/p/${link.token}`);
    const first = await fetch(link.url);
    expect(first.status).toBe(200);
    const csp = first.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(first.headers.get('x-content-type-options')).toBe('nosniff');
    const html = await first.text();
    expect(html).toContain('<script src="/field.js" defer></script>');
    expect(html.match(/<script/g)).toHaveLength(1);
    expect(html).not.toMatch(/https?:\/\/(?!127\.0\.0\.1)/);
    // The same link again, a made-up one, a malformed one, an unknown path: the same plain 404.
    for (const url of [link.url, `${server.baseUrl}/p/${'A'.repeat(22)}`, `${server.baseUrl}/p/../../etc/passwd`, `${server.baseUrl}/admin`]) {
      const response = await fetch(url);
      expect(response.status).toBe(404);
      expect(await response.text()).toBe('Not Found\n');
    }
    // Signaling only through a live visit's path: no open relay for strangers.
    for (const path of ['/signal', `/signal/${'A'.repeat(22)}`, '/']) {
      const ws = new WebSocket(`${server.baseUrl.replace('http', 'ws')}${path}`, 'nat-probe-signaling.v1');
      const status = await withinMs(new Promise<number>((resolve) => ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)).once('error', () => resolve(-1))), 5_000, `the refusal of ${path}`);
      expect(status).toBe(404);
    }
    const script = await fetch(`${server.baseUrl}/field.js`);
    expect(script.headers.get('content-type')).toContain('text/javascript');
    expect(await script.text()).toContain('iceConnectionState');
  }, 20_000);

  it('gives the page two STUN servers: the RFC 5780 alternate on 127.0.0.1, the next port elsewhere; links use --public-url', async () => {
    const loop = await start();
    const config = configOf(await (await fetch(loop.server.issueLink().url)).text());
    expect(config.iceServers.map((s: any) => s.urls[0])).toEqual([expect.stringMatching(/^stun:127\.0\.0\.1:\d+$/), expect.stringMatching(/^stun:127\.0\.0\.2:\d+$/)]);
    await loop.server.close();
    const other = await start({ host: '127.0.0.3', publicUrl: 'https://probe.example.com/' });
    expect(other.server.issueLink().url).toMatch(/^https:\/\/probe\.example\.com\/p\/[A-Za-z0-9_-]{22}$/);
    const link = other.server.issueLink().url.replace('https://probe.example.com', other.server.baseUrl.replace('https://probe.example.com', `http://127.0.0.3:${other.server.port}`));
    const urls = configOf(await (await fetch(link)).text()).iceServers.map((s: any) => s.urls[0] as string);
    expect(urls).toHaveLength(2);
    const [p1, p2] = urls.map((url: string) => Number(/^stun:127\.0\.0\.3:(\d+)$/.exec(url)![1]));
    expect(p2).not.toBe(p1);
  }, 20_000);

  it('--ice-role alternate switches the roles every visit', async () => {
    const { server } = await start({ natProbeRole: 'alternate', visitsPerLink: 3 });
    const link = server.issueLink().url;
    const roles: string[] = [];
    for (let i = 0; i < 3; i++) roles.push(configOf(await (await fetch(link)).text()).browserRole as string);
    expect(roles).toEqual(['answerer', 'offerer', 'answerer']);
    expect((await fetch(link)).status).toBe(404);
  }, 20_000);

  it('rate-limits HTTP per source address', async () => {
    const { server, events } = await start({ httpRatePerSecond: 2 });
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await fetch(`${server.baseUrl}/field.css`)).status);
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(4);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(4);
    expect(events.some((e) => e.type === 'field-refused' && e.status === 429)).toBe(true);
  }, 20_000);

  it('a page that sends garbage and hostile strings ends its visit with a reason; nothing reaches a report unescaped; the server keeps serving', async () => {
    const { server, events, ended } = await start();
    const config = configOf(await rawGet(server.issueLink().url, `Mozilla/5.0 ${EVIL_HEADER} Chrome/120.0`));
    expect(config.browserRole).toBe('answerer');
    const { ws, received } = await joinAsPage(server.baseUrl, config);
    const params = await until(received, (m) => m.type === 'ice-params', 5_000);
    expect(params.ufrag).toMatch(/^[A-Za-z0-9+/]{4,}$/);
    // Garbage: not JSON, a binary frame, an unknown type, schema violations (the signaling
    // server refuses a candidate with control characters outright); then a candidate with markup
    // that passes the schema but that nat-probe cannot use (an mDNS name), valid ICE parameters,
    // and the end of candidates.
    ws.send('{not json');
    ws.send(Buffer.from([1, 2, 3]));
    ws.send(JSON.stringify({ type: 'evil', seq: 1 }));
    ws.send(JSON.stringify({ type: 'ice-params', seq: 1, ufrag: '<b>', pwd: 'x', tieBreaker: '1' }));
    ws.send(JSON.stringify({ type: 'candidate', seq: 1, candidate: `candidate:1 1 udp 2130706431 ${EVIL} 9 typ host` }));
    ws.send(JSON.stringify({ type: 'candidate', seq: 1, candidate: 'candidate:1 1 udp 2130706431 evil-host.local 9 typ host generation <script>alert(1)</script>' }));
    ws.send(JSON.stringify({ type: 'ice-params', seq: 2, ufrag: 'abcd', pwd: 'abcdefghijklmnopqrstuvwx', tieBreaker: '1' }));
    ws.send(JSON.stringify({ type: 'end-of-candidates', seq: 3 }));
    const errors = await until(received, (m) => m.type === 'error' && m.code === 'schema-violation', 5_000);
    expect(errors.code).toBe('schema-violation');
    // nat-probe has nothing it can check against: its survey fails, and it sends its result.
    await until(received, (m) => m.type === 'result', 10_000);
    ws.send(JSON.stringify({ type: 'result', seq: 4, result: { v: 1, kind: 'browser', iceConnectionState: EVIL } }));
    ws.send(JSON.stringify({ type: 'bye', seq: 5 }));
    const findings = {
      v: 1,
      userAgent: `x ${EVIL}`,
      gather: { candidates: [{ candidate: `candidate:${EVIL}`, url: EVIL, type: 'host', protocol: 'udp', address: `${EVIL}.local`, port: 1, relatedAddress: '', relatedPort: 0, relayProtocol: '' }], errors: [{ url: EVIL, errorCode: 701, errorText: EVIL }], ms: 1, timedOut: false },
      ice: { role: 'answerer', states: [{ state: EVIL, atMs: 1 }], final: EVIL, connectedMs: null, selectedPairId: null, pairs: [], candidates: [] },
      signaling: { errors: [EVIL] },
      errors: [EVIL],
    };
    const answer = await fetch(`${server.baseUrl}${config.findingsPath}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(findings) });
    expect(answer.status).toBe(200);
    const sentence = (await answer.json()) as { code: string; sentence: string };
    expect(sentence.code).toBe('blocked');
    const result = await ended.next(10_000);
    ws.close();
    expect(result.reason).toBe('complete');
    expect(result.gather?.mdnsHidden).toBe(true);
    expect(result.skippedRemoteCandidates.length).toBe(1);
    expect(result.browser).toBe('Chrome 120');
    expect(result.userAgent).toContain('\\u{9b}2J');
    expect(result.skippedRemoteCandidates[0]!.candidate).toContain('<script>');

    // Every consumer: the NDJSON events and report, the plain lines, the HTML.
    const report = buildFieldVisitReport(result, 'test');
    const json = JSON.stringify(report) + events.map((e) => JSON.stringify(e)).join('\n');
    expect(json).not.toContain('\\u001b');
    expect(json).not.toContain('\\u0007');
    expect(json).not.toContain('\u202e');
    expect(json).toContain('\\\\u{1b}[31mPWNED');
    const lines = events.map(formatFieldEventLine).filter((l) => l !== undefined).join('\n') + renderFieldVisitSummary(report);
    noControl(lines);
    expect(lines).toContain('\\u{1b}[2J');
    const html = renderFieldVisitHtml(report);
    noControl(html);
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');

    // The server still serves the next customer.
    expect((await fetch(server.issueLink().url)).status).toBe(200);
  }, 40_000);

  it('a page that joins and never answers ends its visit with the reason; a second visit is still served', async () => {
    const { server, ended } = await start({ natProbeRole: 'controlled' });
    const config = configOf(await (await fetch(server.issueLink().url)).text());
    expect(config.browserRole).toBe('offerer');
    const { ws } = await joinAsPage(server.baseUrl, config);
    expect((await fetch(`${server.baseUrl}${config.goPath}`, { method: 'POST' })).status).toBe(204);
    const result = await ended.next(15_000);
    ws.close();
    expect(result.reason).toBe('session-error');
    expect(result.sessionError?.code).toMatch(/peer-session-timeout/);
    expect(result.result.code).toBe('unfinished');
    // A visit whose page never even joins ends too.
    await fetch(server.issueLink().url);
    const silent = await ended.next(15_000);
    expect(silent.reason).toBe('session-error');
    expect(silent.detail).toBe('the page never joined its room');
    // Findings for a visit that has ended: 404, like any unknown visit.
    expect((await fetch(`${server.baseUrl}${config.findingsPath}`, { method: 'POST', body: '{}' })).status).toBe(404);
  }, 40_000);
});
