/**
 * The lab's delay (`delayMs`, `jitterMs`): the plan puts a delay forwarder on each client's first
 * hop (router, CGN or bridge port), the forwarder really holds packets (every echo across it takes
 * at least the asked round trip: a lower bound, which load can only make longer), and teardown
 * leaves neither the forwarder nor its devices behind. How close the RTT stays to the asked value
 * is a figure for the bench (bench/lab-delay.bench.ts), not an assertion here.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { buildLab, destroyAllLabs, destroyLab, execInNamespace, normalizeLabSpec, planLab, spawnInNamespace, LabSpecError } from '../../src/lab/index.js';
import { delayForwarderArgs } from '../../src/lab/delay-link.js';
import { pidAlive } from '../../src/lab/recorded-pids.js';
import { runCommand } from '../../src/lab/run-command.js';
import { labGate } from './helpers.js';

// Its own prefix: vitest runs files in parallel, and each file's afterAll sweeps its prefix.
const PREFIX = 'np13bd-';

describe('delay plan', () => {
  it('validates delay and jitter', () => {
    expect(normalizeLabSpec({ a: 'none' })).toMatchObject({ delayMs: 0, jitterMs: 0 });
    expect(normalizeLabSpec({ a: 'none', delayMs: 25, jitterMs: 5 })).toMatchObject({ delayMs: 25, jitterMs: 5 });
    expect(() => normalizeLabSpec({ a: 'none', delayMs: -1 })).toThrow(LabSpecError);
    expect(() => normalizeLabSpec({ a: 'none', delayMs: 5001 })).toThrow(/delayMs/);
    expect(() => normalizeLabSpec({ a: 'none', delayMs: 10, jitterMs: 11 })).toThrow(/The jitter \(jitterMs, --jitter\) must be from 0 to the delay \(10 ms\)/);
    expect(() => normalizeLabSpec({ a: 'none', jitterMs: 1 })).toThrow(/jitterMs/);
  });

  it('puts the forwarder on each client\'s first hop instead of the veth, and nowhere without delay', () => {
    const plain = planLab(normalizeLabSpec({ a: 'port-restricted', b: 'none' }), 'x');
    expect(plain.namespaces.flatMap((ns) => ns.delayLinks)).toEqual([]);

    const { namespaces } = planLab(normalizeLabSpec({ a: 'port-restricted', b: 'none', delayMs: 25, jitterMs: 2, cgn: 'symmetric' }), 'x');
    const byName = new Map(namespaces.map((ns) => [ns.name, ns]));
    // Side A: client ← router (delayed) ← CGN (plain veth) ← bridge.
    const router = byName.get('np-x-ra')!;
    expect(router.delayLinks).toEqual([{ side: 'a', upper: 'lan', lowerTemporary: 'dly-a', lowerNamespace: 'np-x-a', lower: 'eth0', delayMs: 25, jitterMs: 2 }]);
    expect(router.links.some((link) => link.includes('veth') && link.includes('eth0'))).toBe(false);
    expect(byName.get('np-x-ca')!.links.some((link) => link.includes('veth'))).toBe(true);
    expect(byName.get('np-x-ca')!.delayLinks).toEqual([]);
    // Side B ('none') sits on the bridge: the public namespace holds its delayed port.
    const pub = byName.get('np-x-pub')!;
    expect(pub.delayLinks).toEqual([{ side: 'b', upper: 'to-b', lowerTemporary: 'dly-b', lowerNamespace: 'np-x-b', lower: 'eth0', delayMs: 25, jitterMs: 2 }]);
    expect(pub.links.some((link) => link[2] === 'to-b')).toBe(false);
    expect(pub.setup).toContainEqual(['link', 'set', 'to-b', 'master', 'br0']);
    expect(delayForwarderArgs(pub.delayLinks[0]!)).toEqual(['--upper', 'to-b', '--lower', 'dly-b', '--delay-ms', '25', '--jitter-ms', '2']);
  });

  it('a client behind a CGN only has the CGN as its first hop', () => {
    const { namespaces } = planLab(normalizeLabSpec({ a: 'none', cgn: 'port-restricted', delayMs: 10 }), 'x');
    expect(namespaces.find((ns) => ns.name === 'np-x-ca')!.delayLinks.map((link) => link.upper)).toEqual(['lan']);
  });
});

/** N sequential UDP echoes from a client namespace; prints the RTTs (ms) as JSON. */
const ECHO_CLIENT = `
const dgram = require('node:dgram');
const [host, port, n] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
const s = dgram.createSocket('udp4');
const rtts = [];
let sent = 0;
const send = () => { sent = performance.now(); s.send(Buffer.from(String(rtts.length)), port, host); };
s.on('message', () => { rtts.push(performance.now() - sent); if (rtts.length === n) { console.log(JSON.stringify(rtts)); s.close(); } else send(); });
setTimeout(() => { console.log(JSON.stringify(rtts)); process.exit(1); }, 8000).unref();
s.bind(0, send);
`;
const ECHO_SERVER = `
const s = require('node:dgram').createSocket('udp4');
s.on('message', (m, r) => s.send(m, r.port, r.address));
s.bind(Number(process.argv[2]), process.argv[1], () => console.log('ready'));
`;

async function echoServer(namespace: string, address: string, port: number): Promise<void> {
  const child = spawnInNamespace(namespace, process.execPath, ['-e', ECHO_SERVER, address, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`echo server exited ${code}`)));
  });
}

async function echoRtts(namespace: string, host: string, port: number, n: number): Promise<number[]> {
  const { stdout } = await execInNamespace(namespace, process.execPath, ['-e', ECHO_CLIENT, host, String(port), String(n)], { timeoutMs: 15_000 });
  return JSON.parse(stdout.trim()) as number[];
}

const runLab = await labGate('lab delay suite', ['python3']);

describe.skipIf(!runLab)('lab with delay', () => {
  afterAll(async () => {
    await destroyAllLabs(PREFIX);
  });

  it('holds every packet at each client hop, both behind a router and on the bridge, and teardown removes the forwarders', async () => {
    const delayMs = 15;
    const lab = await buildLab({ a: 'port-restricted', b: 'none', delayMs, prefix: PREFIX });
    let forwarders: number[] = [];
    try {
      forwarders = (lab.delayForwarders ?? []).map((f) => f.pid);
      expect(lab.delayForwarders?.map((f) => [f.side, f.namespace]).sort()).toEqual([
        ['a', lab.a.router!.namespace],
        ['b', lab.public.namespace],
      ]);
      await echoServer(lab.public.namespace, lab.public.primaryAddress, 7000);
      await echoServer(lab.b!.client.namespace, lab.b!.client.address, 7001);
      // Client → servers: one delayed hop each way, so at least 2 × delay per round trip.
      const toServer = await echoRtts(lab.a.client.namespace, lab.public.primaryAddress, 7000, 8);
      const bridged = await echoRtts(lab.b!.client.namespace, lab.public.primaryAddress, 7000, 8);
      // Client → client: both hops, 4 × delay.
      const acrossBoth = await echoRtts(lab.a.client.namespace, lab.b!.client.address, 7001, 8);
      expect(toServer).toHaveLength(8);
      expect(bridged).toHaveLength(8);
      expect(acrossBoth).toHaveLength(8);
      expect(Math.min(...toServer)).toBeGreaterThanOrEqual(2 * delayMs);
      expect(Math.min(...bridged)).toBeGreaterThanOrEqual(2 * delayMs);
      expect(Math.min(...acrossBoth)).toBeGreaterThanOrEqual(4 * delayMs);
      // The devices carry the veth's names: nothing else in the lab had to change.
      const clientLinks = (await runCommand('ip', ['-n', lab.a.client.namespace, '-o', 'link', 'show'])).stdout;
      expect(clientLinks).toContain('eth0');
    } finally {
      await destroyLab(lab);
    }
    expect(forwarders).toHaveLength(2);
    for (const pid of forwarders) expect(pidAlive(pid)).toBe(false);
    // Nothing of the delay link leaked into the host namespace.
    expect((await runCommand('ip', ['-o', 'link', 'show'])).stdout).not.toMatch(/dly-/);
  });
});
