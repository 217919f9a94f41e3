/**
 * Traversal strategies (issue: rescue the hard cells).
 *
 * 1. The birthday sender on loopback: authenticated probes (IceAgent.sendProbe: a fresh transaction
 *    ID, USERNAME, PRIORITY, role, MESSAGE-INTEGRITY and FINGERPRINT each) sent flat out to one
 *    sink socket, against raw sends of a ready-made datagram of the same size from the same kind
 *    of socket in the same run. Probes per second and CPU per probe; the default budget needs only
 *    200 probes/s, so the figure says how much head-room is left.
 * 2. Time to connect per strategy through real kernel NAT (lab, root): each rescued cell against
 *    plain ICE in port-restricted ↔ port-restricted in the same run. Time to connect is the later of
 *    the two sides' ICE times (from the checks' start, the behaviour probe included). Targets:
 *    birthday p50 ≤ 2 s at the default budget; prediction ≤ plain ICE + 200 ms.
 *    portmap (miniupnpd in both routers, started after serve as `lab up --portmap` does): the
 *    relay-only cell symmetric ↔ symmetric, and port-restricted ↔ symmetric beside birthday
 *    there; target plain ICE + 200 ms (one NAT-PMP round trip, the behaviour exchange and a
 *    trickled candidate on top of the checks).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IceAgent } from '../src/ice/agent.js';
import { buildLab, destroyAllLabs, destroyLab, execInNamespace, labAvailable, type Lab, type NatType } from '../src/lab/index.js';
import { startPortMapper } from '../src/lab/portmap.js';
import { UdpEndpoint } from '../src/transport/index.js';
import { firstLine, spawnCli, stopProcess } from '../test/helpers/cli.js';
import { median, percentile, type Bench, type BenchResult } from './harness.js';

const PROBES = 20_000;
const SENDER_ROUNDS = 3;
const LAB_RUNS = 7;
const PREFIX = 'npsb-';
const PEER = fileURLToPath(new URL('../test/lab/fixtures/strategy-peer.mts', import.meta.url));

interface SenderFigure {
  perSecond: number;
  cpuMicrosPerProbe: number;
}

async function drain(sink: { received: number }, expected: number): Promise<void> {
  // Bounded: at most 2 s for the last datagrams to arrive; loss on loopback is counted, not awaited.
  const until = performance.now() + 2_000;
  while (sink.received < expected && performance.now() < until) await new Promise<void>((resolve) => setImmediate(resolve));
}

async function timeProbes(agent: IceAgent, to: { address: string; port: number }): Promise<SenderFigure> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < PROBES; i++) {
    agent.sendProbe(to);
    if (i % 256 === 255) await new Promise<void>((resolve) => setImmediate(resolve));
  }
  const elapsed = performance.now() - started;
  const used = process.cpuUsage(cpu);
  return { perSecond: (PROBES / elapsed) * 1000, cpuMicrosPerProbe: (used.user + used.system) / PROBES };
}

async function timeRawSends(endpoint: UdpEndpoint, datagram: Buffer, to: { address: string; port: number }): Promise<SenderFigure> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < PROBES; i++) {
    endpoint.send(datagram, to).catch(() => undefined);
    if (i % 256 === 255) await new Promise<void>((resolve) => setImmediate(resolve));
  }
  const elapsed = performance.now() - started;
  const used = process.cpuUsage(cpu);
  return { perSecond: (PROBES / elapsed) * 1000, cpuMicrosPerProbe: (used.user + used.system) / PROBES };
}

async function senderRows(): Promise<BenchResult[]> {
  const sinkEndpoint = await UdpEndpoint.bind({ address: '127.0.0.1', port: 0 });
  const sink = { received: 0, size: 0 };
  sinkEndpoint.onDatagram((d) => {
    sink.received++;
    sink.size = d.data.length;
  });
  const agent = await IceAgent.create({ role: 'controlling', bindAddress: '127.0.0.1' });
  const other = await IceAgent.create({ role: 'controlled', bindAddress: '127.0.0.1' });
  agent.setRemoteParameters(other.localParameters);
  const raw = await UdpEndpoint.bind({ address: '127.0.0.1', port: 0 });
  const probes: SenderFigure[] = [];
  const raws: SenderFigure[] = [];
  try {
    agent.sendProbe(sinkEndpoint.local);
    await drain(sink, 1);
    const datagram = Buffer.alloc(sink.size, 0x42);
    for (let round = 0; round < SENDER_ROUNDS; round++) {
      const before = sink.received;
      probes.push(await timeProbes(agent, sinkEndpoint.local));
      await drain(sink, before + PROBES);
      raws.push(await timeRawSends(raw, datagram, sinkEndpoint.local));
      await drain(sink, before + 2 * PROBES);
    }
  } finally {
    await Promise.all([agent.close(), other.close(), raw.close(), sinkEndpoint.close()]);
  }
  const range = (xs: number[], digits: number): string => `${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)}`;
  return [
    {
      name: `birthday sender: authenticated probes per second (loopback, ${PROBES} × ${SENDER_ROUNDS})`,
      value: median(probes.map((p) => p.perSecond)),
      unit: 'probes/s',
      baseline: { label: 'raw UDP sends of the same size', value: median(raws.map((p) => p.perSecond)) },
      target: { op: '>=', value: 1_000 },
      notes: `range ${range(probes.map((p) => p.perSecond), 0)} (raw ${range(raws.map((p) => p.perSecond), 0)}); the default rate is 200/s, the cap 1000/s; ${sink.size}-byte probes`,
    },
    {
      name: 'birthday sender: CPU per probe',
      value: median(probes.map((p) => p.cpuMicrosPerProbe)),
      unit: 'µs',
      baseline: { label: 'raw UDP send', value: median(raws.map((p) => p.cpuMicrosPerProbe)) },
      notes: `range ${range(probes.map((p) => p.cpuMicrosPerProbe), 1)} µs (raw ${range(raws.map((p) => p.cpuMicrosPerProbe), 1)} µs)`,
    },
  ];
}

interface Outcome {
  state: string;
  timeToConnectMs: number;
  traversal?: { winner: string; attempts: { probesSent: number; socketsOpened: number }[] };
}

async function cellTimes(a: NatType, b: NatType, strategies: string, servers: { stop: () => Promise<void> }[], portmap = false): Promise<{ times: number[]; failures: number; probes: number[] }> {
  const lab: Lab = await buildLab({ a, b, prefix: PREFIX });
  const child = spawnCli(['serve', '--primary', lab.public.primaryAddress, '--alternate', lab.public.alternateAddress, '--port', '3478', '--signal-port', '8478', '--json'], {
    namespace: lab.public.namespace,
  });
  servers.push({ stop: () => stopProcess(child) });
  const announced = JSON.parse(await firstLine(child)) as { stun: { primary: string }; signaling: { url: string } };
  // miniupnpd's STUN test needs serve, so the gateways come after its announce line.
  const scratch = portmap ? mkdtempSync(join(tmpdir(), 'npsb-')) : undefined;
  if (scratch !== undefined) {
    const mappers = await Promise.all([lab.a, lab.b!].map((side) => startPortMapper(side, { dir: scratch, base: lab.id })));
    servers.push({
      stop: async () => {
        await Promise.all(mappers.map((m) => m.stop()));
        rmSync(scratch, { recursive: true, force: true });
      },
    });
  }
  const times: number[] = [];
  const probes: number[] = [];
  let failures = 0;
  try {
    for (let run = 0; run <= LAB_RUNS; run++) {
      const args = ['--import', 'tsx', PEER, announced.signaling.url, `r${run}`, announced.stun.primary, strategies, '1024', '12000'];
      const outcomes = await Promise.all(
        [lab.a, lab.b!].map(async (side) => {
          const { stdout } = await execInNamespace(side.client.namespace, process.execPath, args, { timeoutMs: 30_000 });
          return JSON.parse(stdout.trim().split('\n').at(-1)!) as Outcome;
        }),
      );
      if (run === 0) continue; // warm-up: page cache, first nft lookups
      if (outcomes.some((o) => o.state !== 'connected')) {
        failures++;
        continue;
      }
      times.push(Math.max(...outcomes.map((o) => o.timeToConnectMs)));
      probes.push(outcomes.reduce((sum, o) => sum + (o.traversal?.attempts.reduce((s, x) => s + x.probesSent, 0) ?? 0), 0));
    }
  } finally {
    await stopProcess(child);
    await destroyLab(lab);
  }
  return { times, failures, probes };
}

async function labRows(): Promise<BenchResult[]> {
  const availability = await labAvailable();
  if (!availability.ok) return [{ name: 'strategies in the lab: skipped', value: 0, unit: '', notes: availability.reason }];
  const servers: { stop: () => Promise<void> }[] = [];
  try {
    const ice = await cellTimes('port-restricted', 'port-restricted', '', servers);
    const cells: { label: string; a: NatType; b: NatType; strategies: string; target: (iceP50: number) => number; portmap?: boolean }[] = [
      { label: 'birthday, port-restricted ↔ symmetric', a: 'port-restricted', b: 'symmetric', strategies: 'birthday', target: () => 2_000 },
      { label: 'birthday, firewall ↔ addr-dependent', a: 'firewall', b: 'addr-dependent', strategies: 'birthday', target: () => 2_000 },
      { label: 'predict, symmetric-sequential ↔ port-restricted', a: 'symmetric-sequential', b: 'port-restricted', strategies: 'predict', target: (p) => p + 200 },
      { label: 'predict, symmetric-sequential ↔ symmetric-sequential', a: 'symmetric-sequential', b: 'symmetric-sequential', strategies: 'predict', target: (p) => p + 200 },
      { label: 'portmap, symmetric ↔ symmetric (miniupnpd)', a: 'symmetric', b: 'symmetric', strategies: 'portmap', target: (p) => p + 200, portmap: true },
      { label: 'portmap, port-restricted ↔ symmetric (miniupnpd)', a: 'port-restricted', b: 'symmetric', strategies: 'portmap', target: (p) => p + 200, portmap: true },
    ];
    const iceP50 = median(ice.times);
    const rows: BenchResult[] = [];
    for (const cell of cells) {
      const measured = await cellTimes(cell.a, cell.b, cell.strategies, servers, cell.portmap ?? false);
      rows.push({
        name: `time to connect, ${cell.label} (p50 of ${measured.times.length})`,
        value: median(measured.times),
        unit: 'ms',
        baseline: { label: 'plain ICE, port-restricted ↔ port-restricted', value: iceP50 },
        target: { op: '<=', value: cell.target(iceP50) },
        notes: `min ${Math.min(...measured.times).toFixed(0)} p90 ${percentile(measured.times, 90).toFixed(0)} max ${Math.max(...measured.times).toFixed(0)} ms; ${measured.failures} of ${LAB_RUNS} failed; probes per trial p50 ${median(measured.probes)}; plain ICE min–max ${Math.min(...ice.times).toFixed(0)}–${Math.max(...ice.times).toFixed(0)} ms`,
      });
    }
    return rows;
  } finally {
    await Promise.all(servers.map((s) => s.stop().catch(() => undefined)));
    await destroyAllLabs(PREFIX);
  }
}

const bench: Bench = async () => [...(await senderRows()), ...(await labRows())];
export default bench;
