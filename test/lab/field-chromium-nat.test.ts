/**
 * The field probe across real kernel NAT: chromium in a lab client namespace behind a
 * port-restricted NAT (side A) and behind a symmetric NAT (side B), `nat-probe field` in the
 * public namespace with the lab's RFC 5780 STUN server (203.0.113.1:3478 and 203.0.113.2:3479) as
 * its two servers. The browser-side mapping verdict must be endpoint-independent behind the
 * first and endpoint-dependent behind the second, from the browser's own gathering.
 *
 * Needs root, iproute2, nftables and chromium (the lab's gate: fails in CI when missing).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { buildLab, destroyAllLabs, destroyLab, startLabServers, type Lab, type LabServers } from '../../src/lab/index.js';
import { JsonLines, spawnCli, stopProcess } from '../helpers/cli.js';
import { FIELD_CHROMIUM_FLAGS, launchChromiumInNetns, type NetnsChromium } from '../helpers/chromium-netns.js';
import { findTool } from '../helpers/tools.js';
import { labGate } from './helpers.js';

const PREFIX = 'np10l-';
const runLab = await labGate('field probe behind lab NATs', ['chromium']);
/** The lab's flags: names never resolve, except the field server's public address. */
const LAB_FLAGS = [
  ...FIELD_CHROMIUM_FLAGS.map((flag) => (flag.startsWith('--host-resolver-rules=') ? '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 203.0.113.1' : flag)),
  // Media permission (so host candidates are plain IPs) needs a secure context; the lab is http.
  '--unsafely-treat-insecure-origin-as-secure=http://203.0.113.1:8480',
];

describe.skipIf(!runLab)('field probe: chromium behind lab NATs', () => {
  let lab: Lab;
  let servers: LabServers | undefined;
  let field: ChildProcess | undefined;
  let out: JsonLines;
  let link = '';

  beforeAll(async () => {
    await destroyAllLabs(PREFIX);
    lab = await buildLab({ a: 'port-restricted', b: 'symmetric', prefix: PREFIX });
    servers = await startLabServers(lab);
    field = spawnCli(
      ['field', '--listen', '203.0.113.1:8480', '--stun', '203.0.113.1:3478', '--stun', '203.0.113.2:3479', '--bind', '203.0.113.1', '--json', '--visits', '2', '--link-visits', '2'],
      { namespace: lab.public.namespace },
    );
    out = new JsonLines(field);
    link = (await out.first((line) => line.type === 'field-listening', 15_000, 'the field link')).link as string;
  }, 60_000);

  afterAll(async () => {
    if (field !== undefined) await stopProcess(field);
    await servers?.stop();
    if (lab !== undefined) await destroyLab(lab);
  });

  /** Opens the link from chromium in the client namespace; resolves with that visit's report. */
  async function visitFrom(namespace: string, visit: string): Promise<Record<string, any>> {
    const browser: NetnsChromium = await launchChromiumInNetns(findTool('chromium')!, namespace, { existing: true, flags: LAB_FLAGS });
    try {
      const context = await browser.browser.newContext();
      await context.grantPermissions(['camera', 'microphone'], { origin: new URL(link).origin });
      const page = await context.newPage();
      await page.goto(link, { timeout: 15_000 });
      await page.waitForSelector('main[data-done="true"]', { timeout: 45_000 });
      await context.close();
    } finally {
      await browser.close();
    }
    return out.first((line) => line.schema === 'nat-probe.field-visit/v1' && line.visit === visit, 15_000, `the report of ${visit}`);
  }

  it('behind port-restricted NAT the browser sees one mapped port from both servers: endpoint-independent; ICE connects', async () => {
    const r = await visitFrom(lab.a.client.namespace, 'v1');
    expect(r.browser.gather.stunAnswered).toHaveLength(2);
    expect(r.browser.gather.mapping).toBe('endpoint-independent');
    expect(r.browser.candidates.some((c: any) => c.type === 'srflx' && c.candidate.includes(' 203.0.113.10 '))).toBe(true);
    expect(r.browser.ice.connected).toBe(true);
    expect(r.result.code).toBe('direct');
  }, 90_000);

  it('behind symmetric NAT the browser sees two mapped ports for one socket: endpoint-dependent', async () => {
    const r = await visitFrom(lab.b!.client.namespace, 'v2');
    expect(r.browser.gather.mapping).toBe('endpoint-dependent');
    expect(r.browser.gather.mappingDetail).toMatch(/203\.0\.113\.20:\d+ and 203\.0\.113\.20:\d+/);
    expect(['complete', 'session-error']).toContain(r.reason);
  }, 90_000);
});

/**
 * Symmetric ↔ symmetric: the customer's chromium behind one symmetric NAT, nat-probe behind
 * another (its HTTP port forwarded on that router, as an engineer behind NAT would), the lab's
 * coturn as TURN for both. No direct pair can work; the visit must connect through the relay and
 * tell the customer so.
 */
describe.skipIf(!runLab)('field probe: symmetric ↔ symmetric needs the relay', () => {
  let lab: Lab;
  let servers: LabServers | undefined;
  let field: ChildProcess | undefined;

  beforeAll(async () => {
    lab = await buildLab({ a: 'symmetric', b: 'symmetric', prefix: PREFIX });
    servers = await startLabServers(lab, { turn: true });
    // The engineer's HTTP port, forwarded through router B (TCP only: UDP stays symmetric).
    const router = lab.b!.router!.namespace;
    execFileSync('ip', ['netns', 'exec', router, 'nft', 'add chain ip natprobe engineer { type nat hook prerouting priority dstnat; policy accept; }']);
    execFileSync('ip', ['netns', 'exec', router, 'nft', `add rule ip natprobe engineer iifname wan tcp dport 8480 dnat to ${lab.b!.client.address}:8480`]);
  }, 60_000);

  afterAll(async () => {
    if (field !== undefined) await stopProcess(field);
    await servers?.stop();
    if (lab !== undefined) await destroyLab(lab);
  });

  it('connects through TURN only, and the customer reads that a relay is needed and works', async () => {
    const turn = servers!.turn!;
    field = spawnCli(
      ['field', '--listen', `${lab.b!.client.address}:8480`, '--public-url', 'http://203.0.113.20:8480', '--stun', '203.0.113.1:3478', '--stun', '203.0.113.2:3479',
        '--turn', turn.url, '--turn-secret', turn.secret, '--json', '--visits', '1', '--visit-timeout', '40000'],
      { namespace: lab.b!.client.namespace },
    );
    const out = new JsonLines(field);
    const next = (match: (line: Record<string, any>) => boolean, what: string): Promise<Record<string, any>> => out.first(match, 60_000, what);
    const link = (await next((l) => l.type === 'field-listening', 'the link')).link as string;
    const flags = [
      ...FIELD_CHROMIUM_FLAGS.map((flag) => (flag.startsWith('--host-resolver-rules=') ? '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 203.0.113.20' : flag)),
      '--unsafely-treat-insecure-origin-as-secure=http://203.0.113.20:8480',
    ];
    const browser = await launchChromiumInNetns(findTool('chromium')!, lab.a.client.namespace, { existing: true, flags });
    try {
      const context = await browser.browser.newContext();
      await context.grantPermissions(['camera', 'microphone'], { origin: new URL(link).origin });
      const page = await context.newPage();
      await page.goto(link, { timeout: 15_000 });
      await page.waitForSelector('main[data-done="true"]', { timeout: 60_000 });
      expect(await page.locator('#result').getAttribute('data-code')).toBe('relay');
      await context.close();
    } finally {
      await browser.close();
    }
    const r = await next((l) => l.schema === 'nat-probe.field-visit/v1', 'the visit report');
    expect(r.browser.gather.mapping).toBe('endpoint-dependent');
    // The page gathers on every rung of the relay ladder (UDP and TCP to the lab's coturn); in
    // this lab chromium's TURN/TCP connection fails ("Failed to establish connection", reported
    // among the server errors), so only UDP is asserted.
    expect(r.browser.gather.relayTransports).toContain('udp');
    expect(r.browser.serverErrors.some((e: any) => e.url.endsWith('?transport=tcp')) || r.browser.gather.relayTransports.includes('tcp')).toBe(true);
    expect(r.result.code).toBe('relay');
    expect(r.result.sentence).toContain('needs a relay');
    const succeeded = (r.natProbe?.pairs ?? []).filter((p: any) => p.state === 'succeeded');
    expect(succeeded.length).toBeGreaterThan(0);
    expect(succeeded.every((p: any) => p.localType === 'relay' || p.remoteType === 'relay')).toBe(true);
  }, 120_000);
});
