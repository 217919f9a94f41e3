/**
 * ICE checklist + scheduler cost: 100 local × 100 remote candidates (10,000 pairs formed), pruned
 * (local srflx pairs collapse onto their host base, §6.1.2.4) and surveyed to completion on a
 * FakeClock with every check answered. Measured in CPU time (process.cpuUsage), so simulated
 * seconds of pacing cost nothing; what is left is formation, BigInt priorities, sorting, the
 * checklist state machine, the scheduler's pump and event emission.
 *
 * Baseline, measured in the same run: the naive formation step alone — a double loop with
 * Number-based pair priorities (inexact above 2^53), one sort and a Map-based pruning — with no
 * checklist and no scheduling at all. It is the floor any implementation pays just to list pairs.
 */
import { computePriority, type Candidate, type CandidateType } from '../src/ice/candidate.js';
import { Checklist } from '../src/ice/checklist.js';
import { buildPairs } from '../src/ice/pair.js';
import { IceScheduler } from '../src/ice/scheduler.js';
import { FakeClock } from '../src/transport/fake-clock.js';
import { median, percentile, type Bench, type BenchResult } from './harness.js';

/** Measured runs; the figure is their median. */
const RUNS = 15;
/** Unmeasured runs first, so the figure is for JIT-optimised code; the very first (cold) run is reported in the notes. */
const WARMUP = 5;
const SIMULATED_RTT_MS = 20;

function candidate(type: CandidateType, address: string, port: number, localPreference: number, foundation: string, related?: [string, number]): Candidate {
  return {
    foundation,
    component: 1,
    transport: 'udp',
    priority: computePriority(type, localPreference, 1),
    address,
    port,
    type,
    family: 4,
    ...(related ? { relatedAddress: related[0], relatedPort: related[1] } : {}),
  };
}

/**
 * One side's 100 candidates: 60 host (20 IPs × 3 ports), 20 srflx (one per host IP, through one
 * STUN server) and 20 relay (one TURN server address, 20 ports). Foundations follow §5.1.1.3, so
 * several pairs share a foundation and the freezing rules are exercised.
 */
function side(prefix: string, publicPrefix: string, relayAddress: string): Candidate[] {
  const list: Candidate[] = [];
  let localPreference = 65535;
  for (let ip = 0; ip < 20; ip++) {
    for (let port = 0; port < 3; port++) {
      list.push(candidate('host', `${prefix}.${ip + 1}`, 10_000 + port, localPreference--, `h${ip}`));
    }
  }
  for (let ip = 0; ip < 20; ip++) {
    list.push(candidate('srflx', `${publicPrefix}.${ip + 1}`, 40_000 + ip, localPreference--, `s${ip}`, [`${prefix}.${ip + 1}`, 10_000]));
  }
  for (let port = 0; port < 20; port++) {
    list.push(candidate('relay', relayAddress, 50_000 + port, localPreference--, 'r', [`${publicPrefix}.1`, 40_000]));
  }
  return list;
}

const locals = side('10.1.0', '198.51.100', '203.0.113.200');
const remotes = side('10.2.0', '198.51.101', '203.0.113.201');

interface PipelineResult {
  pairs: number;
  checksSent: number;
  events: number;
  simulatedMs: number;
}

/** The real pipeline: form, sort, prune, build the checklist, survey every pair to completion. */
function runPipeline(): PipelineResult {
  const clock = new FakeClock();
  const checklist = Checklist.fromCandidates(locals, remotes, { role: 'controlling', maxPairs: Number.POSITIVE_INFINITY });
  let checksSent = 0;
  let events = 0;
  const scheduler: IceScheduler = new IceScheduler(checklist, {
    clock,
    mode: 'survey',
    overallTimeoutMs: 10 * 60 * 60 * 1000,
    // A listener is attached, as the agent's reporter would be, so event construction is measured too.
    listener: () => {
      events++;
    },
    sendCheck: (_pair, attempt) => {
      checksSent++;
      clock.setTimeout(() => scheduler.onResponse(attempt.transaction), SIMULATED_RTT_MS);
    },
  });
  scheduler.start();
  clock.runAll(1_000_000);
  const counts = checklist.counts();
  if (scheduler.outcome !== 'surveyed' || counts.succeeded !== checklist.size || clock.pendingTimers !== 0) {
    throw new Error(`survey did not complete: outcome ${scheduler.outcome}, ${JSON.stringify(counts)}, ${clock.pendingTimers} timers left`);
  }
  return { pairs: checklist.size, checksSent, events, simulatedMs: clock.now() };
}

/** Baseline: naive formation with Number priorities, sort and prune; no checklist, no scheduling. */
function runNaiveFormation(): number {
  const pairs: Array<{ key: string; priority: number }> = [];
  for (const l of locals) {
    const base = l.type === 'srflx' ? `${l.relatedAddress}:${l.relatedPort}` : `${l.address}:${l.port}`;
    for (const r of remotes) {
      const g = l.priority;
      const d = r.priority;
      pairs.push({ key: `${base}->${r.address}:${r.port}`, priority: 2 ** 32 * Math.min(g, d) + 2 * Math.max(g, d) + (g > d ? 1 : 0) });
    }
  }
  pairs.sort((a, b) => b.priority - a.priority);
  const seen = new Map<string, number>();
  for (const p of pairs) if (!seen.has(p.key)) seen.set(p.key, p.priority);
  return seen.size;
}

function cpuMs<T>(fn: () => T): { ms: number; result: T } {
  const before = process.cpuUsage();
  const result = fn();
  const used = process.cpuUsage(before);
  return { ms: (used.user + used.system) / 1000, result };
}

function measure<T>(fn: () => T): { samples: number[]; coldMs: number; result: T } {
  const coldMs = cpuMs(fn).ms;
  for (let i = 1; i < WARMUP; i++) fn();
  const samples: number[] = [];
  let result: T | undefined;
  for (let i = 0; i < RUNS; i++) {
    const run = cpuMs(fn);
    samples.push(run.ms);
    result = run.result;
  }
  return { samples, coldMs, result: result! };
}

const bench: Bench = async () => {
  const formedCount = locals.length * remotes.length;
  const baseline = measure(runNaiveFormation);
  const formation = measure(() => buildPairs(locals, remotes, 'controlling', { maxPairs: Number.POSITIVE_INFINITY }).length);
  const pipeline = measure(runPipeline);
  if (baseline.result !== pipeline.result.pairs || formation.result !== pipeline.result.pairs) {
    throw new Error(`pair counts disagree: naive ${baseline.result}, buildPairs ${formation.result}, pipeline ${pipeline.result.pairs}`);
  }
  const naive = { label: 'naive formation+sort+prune, Number priorities, no scheduling', value: median(baseline.samples) };
  const results: BenchResult[] = [
    {
      name: `ice: ${locals.length}×${remotes.length} candidates formed, pruned and surveyed to completion (CPU, median of ${RUNS} after ${WARMUP} warm-up)`,
      value: median(pipeline.samples),
      unit: 'ms',
      baseline: naive,
      target: { op: '<=', value: 50 },
      notes:
        `${formedCount} pairs formed → ${pipeline.result.pairs} after pruning; ${pipeline.result.checksSent} checks sent, all answered after ${SIMULATED_RTT_MS} ms; ${pipeline.result.events} events emitted; ` +
        `${(pipeline.result.simulatedMs / 1000).toFixed(1)} s simulated at Ta 50 ms; p90 ${percentile(pipeline.samples, 90).toFixed(1)} ms; ` +
        `first (cold, unoptimised) run ${pipeline.coldMs.toFixed(1)} ms`,
    },
    {
      name: 'ice: formation + BigInt priorities + sort + pruning alone (buildPairs, CPU)',
      value: median(formation.samples),
      unit: 'ms',
      baseline: naive,
      notes: `p90 ${percentile(formation.samples, 90).toFixed(1)} ms; cold ${formation.coldMs.toFixed(1)} ms; the naive baseline's Number priorities are inexact above 2^53`,
    },
  ];
  return results;
};

export default bench;
