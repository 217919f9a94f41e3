/**
 * `nat-probe field` against a real browser: headless Debian chromium (driven by playwright-core)
 * opens the link and runs ICE with its own WebRTC stack against the nat-probe peer of the visit.
 * This is also the project's interop test with a second, independent ICE implementation.
 *
 * Isolation: chromium and the field process both run inside a network namespace of ours that
 * has only loopback (np10-…), so WebRTC gathers and checks nothing but 127.0.0.1/::1 and nothing
 * can reach the host's network. A namespace has its own loopback, hence the field process runs in
 * it too (`ip netns exec`), and chromium is launched through a wrapper that enters it; playwright
 * drives chromium over a pipe, which crosses namespaces.
 *
 * Chromium flags: --allow-loopback-in-peer-connection (else it gathers no loopback candidate) and
 * --disable-features=WebRtcHideLocalIpsWithMdns (host candidates as plain IPs once the origin has
 * media permission, which the main cases grant). Other cases run without permission, and with
 * chromium's default mDNS setting in a second namespace: there nat-probe connects through the
 * peer-reflexive candidates the browser's checks reveal.
 *
 * Needs chromium and iproute2, and root for the namespace: required in CI.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JsonLines, spawnCli, stopProcess } from '../helpers/cli.js';
import { withinMs } from '../helpers/events.js';
import { skipUnlessTools, toolGate } from '../helpers/tools.js';
import { FIELD_CHROMIUM_FLAGS, launchChromiumInNetns, type NetnsChromium } from '../helpers/chromium-netns.js';

const gate = toolGate(['chromium', 'ip'], 'apt-get install chromium iproute2');
const skip = skipUnlessTools(gate, 'field probe in chromium');

interface FieldRun {
  readonly lines: unknown[];
  readonly report: Record<string, any>;
  readonly code: number | null;
  readonly pageResult: string;
  readonly pageCode: string;
}

/** Starts `field` in the namespace, opens its link in chromium, and collects everything. */
async function visit(browser: Browser, namespace: string, args: readonly string[], options: { mediaPermission?: boolean; noWebRtc?: boolean } = {}): Promise<FieldRun> {
  const child: ChildProcess = spawnCli(['field', '--listen', '127.0.0.1:0', '--stun-port', '0', '--visits', '1', '--json', '--visit-timeout', '20000', ...args], { namespace });
  const out = new JsonLines(child);
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  try {
    const link = (await out.first((line) => line.type === 'field-listening', 15_000, 'the field link')).link as string;
    const context = await browser.newContext();
    if (options.mediaPermission === true) await context.grantPermissions(['camera', 'microphone'], { origin: new URL(link).origin });
    // A browser with WebRTC turned off (by policy or an extension) has no RTCPeerConnection.
    if (options.noWebRtc === true) await context.addInitScript('delete window.RTCPeerConnection; delete window.webkitRTCPeerConnection;');
    const page = await context.newPage();
    const consoleErrors: string[] = [];
    page.on('console', (message) => message.type() === 'error' && consoleErrors.push(message.text()));
    await page.goto(link, { timeout: 15_000 });
    await page.waitForSelector('main[data-done="true"]', { timeout: 40_000 });
    // The strict CSP blocked nothing the page needs (its script, style, WebSocket, fetches).
    expect(consoleErrors.filter((text) => /Content Security Policy/i.test(text))).toEqual([]);
    const pageResult = (await page.locator('#result').textContent()) ?? '';
    const pageCode = (await page.locator('#result').getAttribute('data-code')) ?? '';
    await context.close();
    const code = await withinMs(exited, 15_000, 'field to exit after its visit');
    const report = out.lines.find((line) => line.schema === 'nat-probe.field-visit/v1');
    if (report === undefined) throw new Error(`no visit report in ${JSON.stringify(out.lines).slice(0, 2000)}\n${out.stderr}`);
    return { lines: out.lines, report, code, pageResult, pageCode };
  } finally {
    await stopProcess(child);
  }
}

describe.skipIf(skip)('field probe: chromium ↔ nat-probe on loopback', () => {
  let netns: NetnsChromium;
  let namespace: string;
  let browser: Browser;
  const dir = mkdtempSync(join(tmpdir(), 'nat-probe-field-'));

  beforeAll(async () => {
    netns = await launchChromiumInNetns(gate.paths.chromium!, `np10-f${process.pid}`);
    namespace = netns.namespace;
    browser = netns.browser;
  }, 40_000);

  afterAll(async () => {
    await netns?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('with chromium\'s default mDNS setting: reports that host addresses are hidden, and still connects', async () => {
    // Chromium's default: host candidates as random .local names (no media permission). mDNS
    // needs a multicast interface, so this visit runs in a second namespace of ours with a veth
    // interface (a documentation address, nothing behind it); the queries stay inside it.
    // nat-probe does not resolve a .local name here (it skips it, as the report says) and
    // connects through the peer-reflexive candidates the browser's checks reveal.
    const mdns = await launchChromiumInNetns(gate.paths.chromium!, `${namespace}m`, {
      flags: FIELD_CHROMIUM_FLAGS.filter((flag) => !flag.includes('WebRtcHideLocalIpsWithMdns')),
      // A veth pair with both ends in the namespace: a multicast-capable interface going nowhere.
      setup: (ns) => {
        execFileSync('ip', ['-n', ns, 'link', 'add', 'd0', 'type', 'veth', 'peer', 'name', 'd1']);
        execFileSync('ip', ['-n', ns, 'link', 'set', 'd1', 'up']);
        execFileSync('ip', ['-n', ns, 'link', 'set', 'd0', 'up']);
        execFileSync('ip', ['-n', ns, 'addr', 'add', '198.51.100.10/24', 'dev', 'd0']);
      },
    });
    try {
      const run = await visit(mdns.browser, mdns.namespace, ['--ice-role', 'controlling']);
      const r = run.report;
      // Headless chromium 156 here gives no .local candidate either: without an mDNS responder it
      // withholds host candidates altogether, and the page says that instead. Either way the
      // customer's host addresses are reported as hidden.
      const g = r.browser.gather;
      expect(g.mdnsHidden || g.hostHidden).toBe(true);
      if (g.mdnsHidden) expect(r.skippedRemoteCandidates.some((s: any) => /\.local /.test(s.candidate))).toBe(true);
      expect(r.reason).toBe('complete');
      expect(r.result.code).toBe('direct');
      expect(run.pageResult).toBe(r.result.sentence);
    } finally {
      await mdns.close();
    }
  }, 90_000);

  for (const role of ['controlling', 'controlled'] as const) {
    it(`without media permission (host addresses withheld) nat-probe ${role} still connects, through the browser's peer-reflexive checks`, async () => {
      // Chromium signals at most a server-reflexive duplicate of its withheld host candidate, or
      // nothing at all; nat-probe's agent waits for the browser's checks and pairs with the
      // peer-reflexive candidates they reveal (RFC 8445 §7.3.1.3).
      const run = await visit(browser, namespace, ['--ice-role', role]);
      const r = run.report;
      expect(r.browser.gather.hostHidden).toBe(true);
      expect(r.browser.ice.connected).toBe(true);
      expect(r.natProbe.pairs.some((p: any) => p.state === 'succeeded')).toBe(true);
      expect(r.result.code).toBe('direct');
      expect(run.pageCode).toBe('direct');
    }, 90_000);
  }

  it('a browser without WebRTC gets told so, not that its network is blocked, at once', async () => {
    const run = await visit(browser, namespace, ['--ice-role', 'controlling'], { noWebRtc: true });
    expect(run.report.result.code).toBe('no-webrtc');
    expect(run.pageCode).toBe('no-webrtc');
    expect(run.pageResult).toContain('WebRTC turned off');
    expect(run.report.reason).toBe('complete');
    expect(run.report.detail).toBe('the browser has no WebRTC');
  }, 60_000);

  it('without --json prints plain lines: the link, the visit live, and its summary', async () => {
    const child = spawnCli(['field', '--listen', '127.0.0.1:0', '--stun-port', '0', '--visits', '1'], { namespace });
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    try {
      const link = await withinMs(
        new Promise<string>((resolve) => {
          const check = (): void => {
            const match = /Send this link to the customer: (\S+)/.exec(out);
            if (match !== null) resolve(match[1]!);
            else child.stdout!.once('data', check);
          };
          check();
        }),
        15_000,
        'the link line',
      );
      const context = await browser.newContext();
      await context.grantPermissions(['camera', 'microphone'], { origin: new URL(link).origin });
      const page = await context.newPage();
      await page.goto(link, { timeout: 15_000 });
      await page.waitForSelector('main[data-done="true"]', { timeout: 40_000 });
      await context.close();
      expect(await withinMs(exited, 15_000, 'field to exit')).toBe(0);
      expect(out).toMatch(/^v1 opened: Chrome \d+ on Linux; nat-probe is ICE-controlling$/m);
      // A check may succeed before the browser's candidate is signalled: then it is peer-reflexive first.
      expect(out).toMatch(/^v1 pair +host\/(host|prflx) .* succeeded/m);
      expect(out).toMatch(/^v1 browser ICE: connected \(connected\) via host\/host/m);
      expect(out).toMatch(/^v1 browser mapping: no-nat/m);
      expect(out).toMatch(/^v1 ended \(complete\): Direct connections work from your network/m);
      expect(out).toMatch(/^── visit v1: direct — /m);
      expect(out).not.toContain('\u001b');
    } finally {
      await stopProcess(child);
    }
  }, 90_000);

  it('a tab closed half way ends its visit with what was learned and the reason', async () => {
    const child = spawnCli(['field', '--listen', '127.0.0.1:0', '--stun-port', '0', '--visits', '1', '--json', '--visit-timeout', '8000'], { namespace });
    const out = new JsonLines(child);
    const next = (match: (line: Record<string, any>) => boolean, what: string): Promise<Record<string, any>> => out.first(match, 30_000, what);
    try {
      const link = (await next((l) => l.type === 'field-listening', 'the link')).link as string;
      const context = await browser.newContext();
      // On loopback a whole visit takes half a second; holding the page's report back (never
      // answered) makes sure the tab goes away before it could report.
      await context.route('**/findings', () => undefined);
      const page = await context.newPage();
      await page.goto(link, { timeout: 15_000 });
      await next((l) => l.type === 'field-peer' && l.event.type === 'peer-phase' && l.event.phase === 'peer-joined', 'the page in the room');
      await context.close();
      const ended = await next((l) => l.type === 'field-visit-ended', 'the end of the visit');
      expect(['no-findings', 'session-error']).toContain(ended.reason);
      expect(ended.detail).toBeTruthy();
      const report = await next((l) => l.schema === 'nat-probe.field-visit/v1', 'the report');
      expect(report.browser.ice).toBeNull();
      expect(report.natProbe !== null || report.natProbeError !== null).toBe(true);
      // What was learned decides the sentence: on loopback nat-probe's checks may have succeeded
      // before the tab went away.
      const natProbeConnected = (report.natProbe?.pairs ?? []).some((p: any) => p.state === 'succeeded');
      expect(ended.result.code).toBe(natProbeConnected ? 'direct' : 'unfinished');
    } finally {
      await stopProcess(child);
    }
  }, 60_000);

  for (const role of ['controlling', 'controlled'] as const) {
    it(`connects with nat-probe ${role}: both sides report the same pair, the customer reads "direct"`, async () => {
      const html = join(dir, `visit-${role}.html`);
      const run = await visit(browser, namespace, ['--ice-role', role, '--html', html], { mediaPermission: true });
      const r = run.report;
      expect(run.code).toBe(0);
      expect(r.reason).toBe('complete');
      expect(r.result.code).toBe('direct');
      expect(run.pageCode).toBe('direct');
      expect(run.pageResult).toBe(r.result.sentence);
      expect(r.natProbeRole).toBe(role);
      expect(r.browser.iceRole).toBe(role === 'controlling' ? 'controlled' : 'controlling');
      expect(r.browser.name).toMatch(/^Chrome \d+$/);
      // The browser's view: ICE connected (DTLS never does; it is not judged) over host/host on loopback.
      expect(r.browser.ice.connected).toBe(true);
      // With media permission (granted to the origin, as after a camera prompt) and mDNS off,
      // chromium signals its host candidates as plain IPs: the pair is host/host.
      expect(r.browser.ice.selectedPairType).toBe('host/host');
      expect(r.browser.ice.selectedPair).toMatch(/^(127\.0\.0\.1|\[::1\]):\d+ -> (127\.0\.0\.1|\[::1\]):\d+$/);
      expect(r.browser.gather.mdnsHidden).toBe(false);
      expect(r.browser.gather.hostHidden).toBe(false);
      // nat-probe's view of the same run: the survey found the same pair, from its own side.
      const natProbe = r.natProbe;
      expect(natProbe.mode).toBe('survey');
      expect(natProbe.role).toBe(role);
      const succeeded = natProbe.pairs.filter((p: any) => p.state === 'succeeded');
      expect(succeeded.length).toBeGreaterThan(0);
      const [browserLocal, browserRemote] = (r.browser.ice.selectedPair as string).split(' -> ');
      const same = succeeded.find((p: any) => p.local === browserRemote && p.remote === browserLocal);
      expect(same).toBeDefined();
      expect(`${same.localType}/${same.remoteType}`).toBe('host/host');
      // Both servers (the built-in RFC 5780 server's two addresses) answered and saw the browser's
      // own address, so chromium dropped the server-reflexive duplicates: no NAT on loopback.
      expect(r.browser.gather.stunAnswered).toHaveLength(2);
      expect(r.browser.gather.mapping).toBe('no-nat');
      // The live stream: the visit's start, nat-probe's events, the browser's findings, the end.
      const types = run.lines.map((line: any) => line.type ?? line.schema);
      expect(types.indexOf('field-visit-started')).toBeGreaterThan(types.indexOf('field-listening'));
      expect(types).toContain('field-peer');
      expect(types.indexOf('field-visit-ended')).toBeGreaterThan(types.indexOf('field-browser'));
      expect(types.at(-1)).toBe('nat-probe.field-visit/v1');
      // The HTML report names the same result.
      const page = readFileSync(html, 'utf8');
      expect(page).toContain(`data-result="direct"`);
      expect(page).toContain("default-src 'none'");
    }, 90_000);
  }
});
