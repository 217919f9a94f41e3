/**
 * One matrix cell, for real: build the two-sided lab, start its servers (startLabServers), run
 * `nat-probe detect --json` in each client namespace, then one long-lived peer worker per side
 * (`nat-probe lab _peer`) for the trials, and tear everything down. Every wait is bounded; the
 * lab (and with it every process started in it) is removed whatever happens.
 */
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { buildLab } from './build.js';
import { destroyLab } from './destroy.js';
import { spawnInNamespace } from './exec.js';
import { judgeCell, pairSessions } from './matrix-compare.js';
import type { CellResult, CellTimings, DetectOutcome, MatrixCellPlan, MatrixSessionRecord, MatrixTrial, MatrixVariant } from './matrix-types.js';
import { ICE_VARIANT, onlyIce, variantsNeedGateway } from './matrix-variants.js';
import { parseWorkerLine, WORKER_GO } from './matrix-worker-lines.js';
import type { LabServers, StartLabServersOptions } from './servers.js';
import type { Lab, LabSide, SideName } from './topology.js';

/** Same relative path from src/lab (tests, tsx) and dist/lab (the CLI). */
export const DEFAULT_CLI_PATH = fileURLToPath(new URL('../../bin/nat-probe.js', import.meta.url));

export interface CellRunOptions {
  runs: number;
  turn: boolean;
  lossPercent: number;
  /** One-way delay (± jitter) at each client's access hop, ms. Default 0. */
  delayMs?: number;
  jitterMs?: number;
  prefix: string;
  /** `--strategy` variants; each runs `runs` direct trials (interleaved, trial by trial). Default `[ice]`. */
  variants?: readonly MatrixVariant[];
  /** The nat-probe entry the detect and worker processes run. Default bin/nat-probe.js. */
  cliPath?: string;
  /** Default startLabServers (src/lab/servers.ts). */
  startServers?: (lab: Lab, options: StartLabServersOptions) => Promise<LabServers>;
  onPhase?: (phase: 'building' | 'servers' | 'detect' | 'workers' | 'direct' | 'relay' | 'teardown') => void;
  /** `variant` names the direct trial's `--strategy` variant (undefined for relay trials). */
  onTrial?: (kind: 'direct' | 'relay', trial: MatrixTrial, variant?: string) => void;
  /** When aborted, the cell's detect and worker processes are stopped and it ends as "interrupted" (its lab still removed). */
  signal?: AbortSignal;
}

/** Node start-up on a loaded 2-core machine plus detect's own few hundred ms, with room to spare. */
const DETECT_BOUND_MS = 20_000;
const WORKER_READY_BOUND_MS = 20_000;
/** Beyond the sessions' own bounds: the result exchange and closing. */
const WORKER_MARGIN_MS = 10_000;

function bounded<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    child.once('close', (code) => resolve(code));
    child.once('error', () => resolve(null));
  });
}

interface DetectJson {
  results?: { verdict?: { kind?: string; classicName?: string; mapping?: string; filtering?: string; confidence?: string; portAllocation?: { kind?: string } } }[];
}

/** `nat-probe detect --server STUN --json` as its own process in the side's client namespace. */
export async function detectSide(side: LabSide, stun: string, cliPath: string, signal?: AbortSignal): Promise<DetectOutcome> {
  const started = performance.now();
  const child = spawnInNamespace(side.client.namespace, process.execPath, [cliPath, 'detect', '--server', stun, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const stop = (): void => void child.kill('SIGTERM');
  signal?.addEventListener('abort', stop, { once: true });
  void exitOf(child).then(() => signal?.removeEventListener('abort', stop));
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let exitCode: number | null;
  try {
    exitCode = await bounded(exitOf(child), DETECT_BOUND_MS, `detect on side ${side.name}`);
  } catch (error) {
    child.kill('SIGKILL');
    return { side: side.name, exitCode: null, durationMs: performance.now() - started, error: (error as Error).message };
  }
  const durationMs = performance.now() - started;
  let report: DetectJson;
  try {
    report = JSON.parse(stdout) as DetectJson;
  } catch {
    const said = stderr.trim().split('\n').at(-1) ?? '';
    return { side: side.name, exitCode, durationMs, error: `detect printed no JSON report (exit ${exitCode ?? `by ${child.signalCode ?? 'a signal'}`})${said === '' ? '' : `: ${said}`}` };
  }
  const verdict = report.results?.[0]?.verdict;
  if (verdict === undefined) return { side: side.name, exitCode, durationMs, error: 'detect reported no IPv4 result' };
  return {
    side: side.name,
    exitCode,
    durationMs,
    ...(verdict.kind !== undefined ? { kind: verdict.kind as DetectOutcome['kind'] } : {}),
    ...(verdict.classicName !== undefined ? { classicName: verdict.classicName as DetectOutcome['classicName'] } : {}),
    ...(verdict.mapping !== undefined ? { mapping: verdict.mapping as DetectOutcome['mapping'] } : {}),
    ...(verdict.filtering !== undefined ? { filtering: verdict.filtering as DetectOutcome['filtering'] } : {}),
    ...(verdict.portAllocation?.kind !== undefined ? { portAllocation: verdict.portAllocation.kind } : {}),
    ...(verdict.confidence !== undefined ? { confidence: verdict.confidence } : {}),
  };
}

export interface WorkerArgs {
  signal: string;
  stun: string;
  runs: number;
  timeoutMs: number;
  turn?: { url: string; secret: string; timeoutMs: number };
  /** Variants beyond plain ICE (`--strategy`) and their sessions' bound; absent: plain ICE only. */
  strategies?: { variants: readonly string[]; timeoutMs: number };
}

export function workerArguments(cliPath: string, args: WorkerArgs): string[] {
  return [
    cliPath,
    'lab',
    '_peer',
    '--signal', args.signal,
    '--stun', args.stun,
    '--runs', String(args.runs),
    '--timeout', String(args.timeoutMs),
    ...(args.turn !== undefined ? ['--turn', args.turn.url, '--turn-secret', args.turn.secret, '--relay-timeout', String(args.turn.timeoutMs)] : []),
    ...(args.strategies !== undefined ? ['--variants', args.strategies.variants.join(','), '--strategy-timeout', String(args.strategies.timeoutMs)] : []),
  ];
}

/** A running worker: its ready time, then its session records as they come. */
export interface PeerWorker {
  readonly side: SideName;
  readonly child: ChildProcess;
  /** Resolves with the worker's own start-up figure once it printed `ready`. */
  readonly ready: Promise<{ startupMs: number; spawnToReadyMs: number }>;
  /** Resolves once it exited, with every session it reported; never rejects. */
  readonly finished: Promise<{ records: WorkerRecord[]; exitCode: number | null; stderr: string }>;
  go(): void;
}

/** One session a worker reported: direct ones name their variant (`ice` when the line had none). */
export interface WorkerRecord {
  readonly kind: 'direct' | 'relay';
  readonly variant: string;
  readonly record: MatrixSessionRecord;
}

export function startPeerWorker(side: LabSide, cliPath: string, args: WorkerArgs, onRecord: (kind: 'direct' | 'relay', record: MatrixSessionRecord, variant: string) => void): PeerWorker {
  const spawnedAt = performance.now();
  const child = spawnInNamespace(side.client.namespace, process.execPath, workerArguments(cliPath, args), { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  // The runner may end a worker before it reads "go"; a write to its closed stdin is not an error then.
  child.stdin!.on('error', () => undefined);
  const records: WorkerRecord[] = [];
  let onReady: (value: { startupMs: number; spawnToReadyMs: number }) => void = () => undefined;
  let onNotReady: (error: Error) => void = () => undefined;
  const ready = new Promise<{ startupMs: number; spawnToReadyMs: number }>((resolve, reject) => {
    onReady = resolve;
    onNotReady = reject;
  });
  ready.catch(() => undefined);
  const lines = createInterface({ input: child.stdout! });
  lines.on('line', (text) => {
    const line = parseWorkerLine(text);
    if (line?.type === 'ready') onReady({ startupMs: line.startupMs, spawnToReadyMs: performance.now() - spawnedAt });
    else if (line?.type === 'session') {
      const variant = line.variant ?? ICE_VARIANT.name;
      records.push({ kind: line.kind, variant, record: line.record });
      onRecord(line.kind, line.record, variant);
    }
  });
  const exited = exitOf(child);
  void exited.then((code) => onNotReady(new Error(`the peer worker on side ${side.name} exited (${code ?? `by ${child.signalCode ?? 'a signal'}`}) before it was ready: ${stderr.trim().split('\n').at(-1) ?? ''}`)));
  // The worker exits right after its `done` line (the CLI's only process.exit), so its exit is the end.
  const finished = exited.then((exitCode) => ({ records, exitCode, stderr }));
  return {
    side: side.name,
    child,
    ready,
    finished,
    go: () => child.stdin!.end(`${WORKER_GO}\n`),
  };
}

/** What both workers of a cell are told: the cell's servers, sessions and bounds. */
function workerArgs(servers: LabServers, plan: MatrixCellPlan, options: CellRunOptions): WorkerArgs {
  const variants = options.variants ?? [ICE_VARIANT];
  return {
    signal: servers.signal,
    stun: servers.stun,
    runs: options.runs,
    timeoutMs: plan.sessionTimeoutMs,
    ...(servers.turn !== undefined ? { turn: { url: servers.turn.url, secret: servers.turn.secret, timeoutMs: plan.relayTimeoutMs } } : {}),
    ...(onlyIce(variants) ? {} : { strategies: { variants: variants.map((v) => v.name), timeoutMs: plan.strategyTimeoutMs } }),
  };
}

/** The longest the workers' sessions can take, one after another (each bounded, plus its close). */
export function sessionsBoundMs(plan: MatrixCellPlan, runs: number, variants: readonly MatrixVariant[], turn: boolean): number {
  const perTrial = variants.reduce((sum, v) => sum + (v.strategies.length === 0 ? plan.sessionTimeoutMs : plan.strategyTimeoutMs) + 2_000, 0);
  return runs * (perTrial + (turn ? plan.relayTimeoutMs + 2_000 : 0)) + WORKER_MARGIN_MS;
}

function sideOf(lab: Lab, name: SideName): LabSide {
  return name === 'a' ? lab.a : lab.b!;
}

/** Runs one cell to its result; a cell that cannot run yields a result with `error`, never a throw. */
export async function runMatrixCell(plan: MatrixCellPlan, options: CellRunOptions): Promise<CellResult> {
  const cliPath = options.cliPath ?? DEFAULT_CLI_PATH;
  const phase = options.onPhase ?? (() => undefined);
  const t0 = performance.now();
  const timings: { -readonly [K in keyof CellTimings]: CellTimings[K] } = { buildMs: 0, serversMs: 0, detectMs: 0, workerStartupMs: 0, sessionsMs: 0, teardownMs: 0, totalMs: 0 };
  const noDetect = (side: SideName): DetectOutcome => ({ side, exitCode: null, durationMs: 0, error: 'not run: the cell stopped before detect', notRun: true });
  let detect: Record<SideName, DetectOutcome> = { a: noDetect('a'), b: noDetect('b') };
  const variants = options.variants ?? [ICE_VARIANT];
  let direct: MatrixTrial[] = [];
  let variantTrials: { variant: MatrixVariant; trials: MatrixTrial[] }[] = variants.map((variant) => ({ variant, trials: [] }));
  let relay: MatrixTrial[] | undefined;
  let error: string | undefined;
  let lab: Lab | undefined;
  let servers: LabServers | undefined;
  const workers: PeerWorker[] = [];
  const stopWorkers = (): void => {
    for (const worker of workers) if (worker.child.exitCode === null) worker.child.kill('SIGTERM');
  };
  options.signal?.addEventListener('abort', stopWorkers, { once: true });
  const interrupted = (): void => {
    if (options.signal?.aborted === true) throw new Error('interrupted');
  };
  try {
    interrupted();
    phase('building');
    let mark = performance.now();
    const { buildLabWithServers } = await import('./servers.js');
    const built = await buildLabWithServers(
      { a: plan.a, b: plan.b, ...(plan.cgn !== undefined ? { cgn: plan.cgn } : {}), lossPercent: options.lossPercent, delayMs: options.delayMs ?? 0, jitterMs: options.jitterMs ?? 0, prefix: options.prefix },
      {
        servers: { turn: options.turn, cliPath, ...(variantsNeedGateway(variants) ? { portmap: true } : {}) },
        ...(options.startServers !== undefined ? { start: options.startServers } : {}),
        onNamespacesCreated: (planned) => (lab = planned), // so the finally below removes it whatever happens next
        onServers: (value) => (servers = value),
        onBuilt: () => {
          timings.buildMs = performance.now() - mark;
          phase('servers');
          mark = performance.now();
        },
      },
    );
    lab = built.lab;
    servers = built.servers;
    timings.serversMs = performance.now() - mark;
    interrupted();

    const perSide = new Map<SideName, Map<string, MatrixSessionRecord>>([
      ['a', new Map()],
      ['b', new Map()],
    ]);
    const reported = new Set<string>();
    const onRecord = (side: SideName) => (kind: 'direct' | 'relay', record: MatrixSessionRecord, variant: string): void => {
      const key = `${kind}-${kind === 'direct' ? `${variant}-` : ''}${record.index}`;
      perSide.get(side)!.set(key, record);
      const other = perSide.get(side === 'a' ? 'b' : 'a')!.get(key);
      if (other === undefined || reported.has(key)) return;
      reported.add(key);
      const [x, y] = side === 'a' ? [record, other] : [other, record];
      const [trial] = pairSessions(1, [{ ...x, index: 1 }], [{ ...y, index: 1 }], { withTraversal: kind === 'direct' && !onlyIce(variants) });
      if (kind === 'relay' && !relayPhaseAnnounced) {
        relayPhaseAnnounced = true;
        phase('relay');
      }
      options.onTrial?.(kind, { ...trial!, index: record.index }, kind === 'direct' ? variant : undefined);
    };
    let relayPhaseAnnounced = false;
    // The peer workers start now (node and module load take as long as a detect), but touch the
    // network only after "go", once detect is done: the peers' traffic must not share the
    // routers' conntrack tables with the probes, and both must read the same NAT.
    for (const name of ['a', 'b'] as const) workers.push(startPeerWorker(sideOf(lab, name), cliPath, workerArgs(servers, plan, options), onRecord(name)));
    phase('detect');
    mark = performance.now();
    const [a, b] = await Promise.all((['a', 'b'] as const).map((name) => detectSide(sideOf(lab!, name), servers!.stun, cliPath, options.signal)));
    detect = { a: a!, b: b! };
    timings.detectMs = performance.now() - mark;
    interrupted();

    phase('workers');
    mark = performance.now();
    await bounded(Promise.all(workers.map((worker) => worker.ready)), WORKER_READY_BOUND_MS, 'the peer workers’ start-up');
    timings.workerStartupMs = performance.now() - mark;
    interrupted();

    phase('direct');
    mark = performance.now();
    for (const worker of workers) worker.go();
    const sessionsBound = sessionsBoundMs(plan, options.runs, variants, options.turn);
    const finished = await bounded(Promise.all(workers.map((worker) => worker.finished)), sessionsBound, 'the peer sessions');
    timings.sessionsMs = performance.now() - mark;
    const recordsOf = (index: number, kind: 'direct' | 'relay', variant?: string): MatrixSessionRecord[] =>
      finished[index]!.records.filter((r) => r.kind === kind && (variant === undefined || r.variant === variant)).map((r) => r.record);
    // Plain ICE only: the trials exactly as before variants (no traversal part).
    const withTraversal = !onlyIce(variants);
    variantTrials = variants.map((variant) => ({ variant, trials: pairSessions(options.runs, recordsOf(0, 'direct', variant.name), recordsOf(1, 'direct', variant.name), { withTraversal }) }));
    if (options.turn) relay = pairSessions(options.runs, recordsOf(0, 'relay'), recordsOf(1, 'relay'));
    interrupted();
    const broken = finished.find((f) => f.exitCode !== 0);
    if (broken !== undefined) {
      const how = broken.exitCode ?? `by ${workers.find((w) => w.child.exitCode === null)?.child.signalCode ?? 'a signal'}`;
      error = `a peer worker exited ${how}: ${broken.stderr.trim().split('\n').at(-1) ?? ''}`;
    }
  } catch (caught) {
    error = caught instanceof Error ? caught.message : String(caught);
  } finally {
    options.signal?.removeEventListener('abort', stopWorkers);
    phase('teardown');
    const mark = performance.now();
    stopWorkers();
    await servers?.stop().catch(() => undefined);
    if (lab !== undefined) await destroyLab(lab).catch(() => undefined);
    timings.teardownMs = performance.now() - mark;
  }
  timings.totalMs = performance.now() - t0;
  direct = variantTrials.find((v) => v.variant.name === ICE_VARIANT.name)?.trials ?? variantTrials[0]?.trials ?? [];
  return judgeCell(plan, { detect, direct, variants: variantTrials, ...(relay !== undefined ? { relay } : {}), ...(error !== undefined ? { error } : {}), timings });
}
