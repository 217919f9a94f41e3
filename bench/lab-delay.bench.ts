/**
 * How close the lab's `--delay` stays to what was asked: the round trip a client sees to the lab's
 * STUN server (nat-probe serve, 203.0.113.1:3478) should be 2 × delay (one delayed hop, each
 * way). Measured from a client behind a router (port-restricted) and from a client on the bridge
 * (none), 30 sequential Binding requests each (the first, which also resolves ARP across the
 * delayed link and so takes 2 × delay more, is left out), at delay 0 (the lab's own RTT, the
 * baseline), 10, 25 and 100 ms, and 25 ± 5 ms jitter.
 */
import { buildLab, destroyLab, execInNamespace, labAvailable, startLabServers, type LabSide } from '../src/lab/index.js';
import { median, percentile, type BenchResult } from './harness.js';
import { assertBuilt } from '../test/helpers/cli.js';

const PREFIX = 'npbl-';
const SAMPLES = 30;
const CASES: readonly { delayMs: number; jitterMs: number }[] = [
  { delayMs: 0, jitterMs: 0 },
  { delayMs: 10, jitterMs: 0 },
  { delayMs: 25, jitterMs: 0 },
  { delayMs: 100, jitterMs: 0 },
  { delayMs: 25, jitterMs: 5 },
];

/** Sequential STUN Binding requests (RFC 8489 §6: 20-byte header, magic cookie); prints the RTTs in ms as JSON. */
const PROBE = `
const dgram = require('node:dgram');
const crypto = require('node:crypto');
const [host, port, n] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
const s = dgram.createSocket('udp4');
const rtts = [];
let id, sent;
const send = () => {
  id = crypto.randomBytes(12);
  const m = Buffer.alloc(20); m.writeUInt16BE(1, 0); m.writeUInt16BE(0, 2); m.writeUInt32BE(0x2112a442, 4); id.copy(m, 8);
  sent = performance.now(); s.send(m, port, host);
};
s.on('message', (m) => {
  if (!m.subarray(8, 20).equals(id)) return;
  rtts.push(performance.now() - sent);
  if (rtts.length === n) { console.log(JSON.stringify(rtts)); s.close(); } else setTimeout(send, 10);
});
setTimeout(() => { console.log(JSON.stringify(rtts)); process.exit(1); }, 30000).unref();
s.bind(0, send);
`;

async function rtts(side: LabSide, stun: string): Promise<number[]> {
  const [host, port] = stun.split(':');
  const { stdout } = await execInNamespace(side.client.namespace, process.execPath, ['-e', PROBE, host!, port!, String(SAMPLES + 1)], { timeoutMs: 60_000 });
  return (JSON.parse(stdout.trim()) as number[]).slice(1);
}

export default async function labDelayBench(): Promise<BenchResult[]> {
  const availability = await labAvailable({ tools: ['python3'] });
  if (!availability.ok) throw new Error(`needs the NAT lab: ${availability.reason}`);
  assertBuilt();
  // No destroyAllLabs(PREFIX) here: a second run of this bench (another checkout) may be using
  // the prefix right now. Each lab has its own random id and is removed in `finally`.
  const results: BenchResult[] = [];
  let baseline: { router: number; bridge: number } | undefined;
  for (const { delayMs, jitterMs } of CASES) {
    const lab = await buildLab({ a: 'port-restricted', b: 'none', delayMs, jitterMs, prefix: PREFIX });
    const servers = await startLabServers(lab, {});
    try {
      for (const [label, side] of [
        ['behind a router', lab.a],
        ['on the bridge', lab.b!],
      ] as const) {
        const samples = await rtts(side, servers.stun);
        const p50 = median(samples);
        if (delayMs === 0) {
          baseline = { ...(baseline ?? { router: 0, bridge: 0 }), [label === 'behind a router' ? 'router' : 'bridge']: p50 };
        }
        const asked = 2 * delayMs;
        const lab0 = baseline?.[label === 'behind a router' ? 'router' : 'bridge'] ?? 0;
        results.push({
          name: `lab RTT client → STUN ${label}, --delay ${delayMs}${jitterMs > 0 ? ` --jitter ${jitterMs}` : ''} (asked ${asked} ms)`,
          value: p50,
          unit: 'ms',
          baseline: delayMs === 0 ? { label: 'asked', value: 0 } : { label: `asked 2 × delay + the lab's own RTT (${lab0.toFixed(2)} ms)`, value: asked + lab0 },
          notes: `${samples.length} samples: min ${Math.min(...samples).toFixed(2)}, p50 ${p50.toFixed(2)}, p90 ${percentile(samples, 90).toFixed(2)}, max ${Math.max(...samples).toFixed(2)} ms; p50 − asked ${(p50 - asked).toFixed(2)} ms`,
        });
      }
    } finally {
      await servers.stop();
      await destroyLab(lab);
    }
  }
  return results;
}
