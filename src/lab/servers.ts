/**
 * The lab's servers, in its public namespace: `nat-probe serve` (RFC 5780 STUN on
 * 203.0.113.1:3478 with the alternate 203.0.113.2:3479, and WebSocket signaling on :8478) and,
 * optionally, coturn as the TURN relay (RFC 8656) with TURN REST API credentials
 * (`--use-auth-secret`). Both start at once; each is awaited on a readiness *event* with a bound:
 * serve's `--json` announce line, and coturn's 401 answer to an unauthenticated Allocate.
 */
import type { ChildProcess, StdioOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { buildLab } from './build.js';
import { LabServerError } from './errors.js';
import { spawnInNamespace } from './exec.js';
import { setSysctls } from './namespaces.js';
import { startPortMapper, type LabPortMapper } from './portmap.js';
import type { LabSpec } from './spec.js';
import type { Lab } from './topology.js';

import { LAB_STUN_ALTERNATE_PORT, LAB_STUN_PORT } from './topology.js';
/** Defined beside the addresses (topology.ts), where the routers' rules need them too. */
export { LAB_STUN_ALTERNATE_PORT, LAB_STUN_PORT };
export const LAB_SIGNAL_PORT = 8478;
/** coturn, UDP and TCP (TURN over TCP, RFC 8656 §3.1, is a feature), clear of serve's 3478/3479. */
export const LAB_TURN_PORT = 3480;
export const LAB_TURN_REALM = 'nat-probe.lab';
/** Where `lab up` keeps detached servers' logs (and state, see state.ts). */
export const LAB_RUN_DIR = '/run/nat-probe';

export interface LabServers {
  /** "203.0.113.1:3478" (RFC 5780: alternate 203.0.113.2:3479). */
  stun: string;
  /** "ws://203.0.113.1:8478/" */
  signal: string;
  turn?: { url: string; secret: string; realm: string };
  pids: number[];
  /** Log files of detached servers (undefined when logs are kept in memory). */
  logFiles?: { serve: string; turn?: string };
  /** miniupnpd in each NAT router namespace, with `portmap` (their PIDs are in `pids` too). */
  portMappers?: LabPortMapper[];
  /** Kills exactly these PIDs (SIGTERM, SIGKILL after a bounded grace). Idempotent. */
  stop(): Promise<void>;
}

export interface StartLabServersOptions {
  /** Also start coturn. Default false. */
  turn?: boolean;
  /**
   * Leave the servers running after this process exits (for `lab up`): they get their own
   * session (no Ctrl-C from this terminal) and log to files in `logDir`. Default false.
   */
  detached?: boolean;
  /** The nat-probe entry to run `serve` with. Default: bin/nat-probe.js of this package. */
  cliPath?: string;
  /** Directory for log (and coturn pid) files. Default: LAB_RUN_DIR when detached, else in memory. */
  logDir?: string;
  /** Bound on each server's readiness. Default 10 000 ms (node start-up on a loaded 2-core box). */
  readyWithinMs?: number;
  /**
   * The lab is still being built (its namespaces exist; see BuildOptions.onNamespacesCreated) and
   * this settles when it is done. The servers then start at once and bind their addresses before
   * the addresses exist (net.ipv4.ip_nonlocal_bind=1 in the public namespace), so their start-up
   * overlaps the rest of the bring-up; probes wait for it. If it rejects, the servers are stopped
   * and its error is rethrown.
   */
  labReady?: Promise<unknown>;
  /** Also run miniupnpd (UPnP IGD, NAT-PMP, PCP) in every NAT router namespace once the lab is built. Default false. */
  portmap?: boolean;
}

const PACKAGE_ROOT = new URL('../../', import.meta.url);
/** Same relative path from src/lab (tests, tsx) and dist/lab (the CLI). */
const DEFAULT_CLI = fileURLToPath(new URL('bin/nat-probe.js', PACKAGE_ROOT));
const READY_PROBE = fileURLToPath(new URL('dist/lab/ready-probe.js', PACKAGE_ROOT));
const STOP_GRACE_MS = 2000;
const LOG_TAIL_LINES = 40;

interface Started {
  name: 'serve' | 'turnserver';
  child: ChildProcess;
  exited: Promise<void>;
  logs(): string;
}

function exitedPromise(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    // A spawn failure (no `ip`) ends the process without 'exit'.
    child.once('error', () => resolve());
  });
}

/** Output of a server: a bounded in-memory tail, or its log file. */
function collectLogs(child: ChildProcess, logFile: string | undefined, streams: ('stdout' | 'stderr')[]): () => string {
  if (logFile !== undefined) return () => tail(safeRead(logFile));
  const lines: string[] = [];
  const collect = (chunk: Buffer): void => {
    for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') lines.push(line);
    if (lines.length > LOG_TAIL_LINES) lines.splice(0, lines.length - LOG_TAIL_LINES);
  };
  for (const stream of streams) child[stream]?.on('data', collect);
  return () => lines.join('\n');
}

function safeRead(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function tail(text: string): string {
  return text.split('\n').filter((line) => line.trim() !== '').slice(-LOG_TAIL_LINES).join('\n');
}

/** Resolves `promise`, or rejects after `ms` with `what` — every wait here is bounded. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

interface ServeAnnouncement {
  schema: string;
  stun: { primary: string; url: string };
  signaling: { url: string } | null;
}

/** serve is ready once it prints its `--json` announce line: by then both servers are bound. */
async function serveReady(started: Started, boundMs: number): Promise<ServeAnnouncement> {
  const lines = createInterface({ input: started.child.stdout! });
  try {
    const line = new Promise<string>((resolve) => lines.once('line', resolve));
    const died = started.exited.then(() => {
      throw new Error(`it exited (${started.child.exitCode ?? started.child.signalCode}) before announcing its addresses`);
    });
    const announcement = JSON.parse(await within(Promise.race([line, died]), boundMs, 'its announce line')) as ServeAnnouncement;
    if (announcement.schema !== 'nat-probe.serve/v1' || announcement.signaling === null) throw new Error(`unexpected announcement ${JSON.stringify(announcement)}`);
    return announcement;
  } finally {
    lines.close();
    // serve prints nothing else on stdout; dropping our end lets a detached server outlive us.
    started.child.stdout?.destroy();
  }
}

/**
 * coturn is ready once it answers an unauthenticated Allocate (a 401 challenge, RFC 8656 §7.2).
 * The probe process starts with coturn, so its node start-up overlaps the bring-up, and probes
 * on a "go" line once the lab is complete (before that 203.0.113.1 may not be reachable yet).
 */
async function turnReady(lab: Lab, started: Started, boundMs: number, labReady: Promise<unknown>): Promise<void> {
  if (!existsSync(READY_PROBE)) throw new Error(`${READY_PROBE} is missing: run \`npm run build\``);
  const target = `allocate:${lab.public.primaryAddress}:${LAB_TURN_PORT}`;
  const probe = spawnInNamespace(lab.public.namespace, process.execPath, [READY_PROBE, '--wait-stdin', String(boundMs), target], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  probe.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  probe.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  probe.stdin!.on('error', () => undefined); // a probe that died is reported through its exit
  const probeExited = new Promise<number | null>((resolve) => {
    probe.once('close', (code) => resolve(code));
    probe.once('error', () => resolve(null));
  });
  const died = started.exited.then(() => {
    throw new Error(`it exited (${started.child.exitCode ?? started.child.signalCode}) before answering`);
  });
  try {
    await labReady;
    probe.stdin!.end('go\n');
    const code = await within(Promise.race([probeExited, died]), boundMs + 5000, 'the readiness probe to finish');
    if (code !== 0) throw new Error(`no answer to an Allocate on ${target} within ${boundMs} ms${stderr.trim() === '' ? '' : ` (${stderr.trim()})`}`);
  } finally {
    if (probe.exitCode === null && probe.signalCode === null) probe.kill('SIGKILL');
  }
  const answer = (JSON.parse(stdout.trim()) as { answers: ({ class: string; errorCode?: number } | null)[] }).answers[0];
  // Anything but a challenge means coturn is not enforcing the REST secret it was given.
  if (answer?.class !== 'errorResponse' || answer.errorCode !== 401) throw new Error(`it answered an unauthenticated Allocate with ${JSON.stringify(answer)}, not 401`);
}

function coturnArgs(lab: Lab, secret: string, pidFile: string): string[] {
  const address = lab.public.primaryAddress;
  return [
    '-n', // ignore /etc/turnserver.conf (Debian's sets no-rfc5780 and syslog; LAB-NOTES)
    '-L', address,
    '--listening-port', String(LAB_TURN_PORT),
    '--relay-ip', address,
    '--use-auth-secret', // TURN REST API: username "expiry:user", password HMAC-SHA1(secret, username)
    '--static-auth-secret', secret,
    '--realm', LAB_TURN_REALM,
    '--fingerprint',
    '--no-tls',
    '--no-dtls',
    '--no-cli',
    '--log-file', 'stdout',
    '--pidfile', pidFile,
  ];
}

async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  // A detached server was unref()ed; without ref() the event loop would not wait for its exit.
  child.ref();
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const gone = await Promise.race([exited.then(() => true), new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), STOP_GRACE_MS)))]);
  clearTimeout(timer);
  if (!gone) {
    child.kill('SIGKILL');
    await within(exited, STOP_GRACE_MS, `process ${child.pid} to exit after SIGKILL`).catch(() => undefined);
  }
}

/**
 * Starts `nat-probe serve` (STUN + signaling) and, with `turn`, coturn in lab.public.namespace,
 * in parallel; resolves once each answers. On failure everything started is stopped and a
 * LabServerError (code `lab-server-failed`) carries the server's last log lines.
 */
export async function startLabServers(lab: Lab, options: StartLabServersOptions = {}): Promise<LabServers> {
  const detached = options.detached ?? false;
  const boundMs = options.readyWithinMs ?? 10_000;
  const logDir = options.logDir ?? (detached ? LAB_RUN_DIR : undefined);
  const base = `${lab.prefix}${lab.id}`;
  if (logDir !== undefined) mkdirSync(logDir, { recursive: true, mode: 0o700 });
  const labReady = options.labReady ?? Promise.resolve();
  // Binding an address not yet assigned to an interface is what ip_nonlocal_bind allows; nothing
  // can reach the socket until the address is there, and the probes wait for that.
  if (options.labReady !== undefined) await setSysctls(lab.public.namespace, ['net.ipv4.ip_nonlocal_bind=1']);
  // coturn always needs a pid file of its own: the default /var/run/turnserver.pid is shared by every instance.
  const scratch = logDir ?? mkdtempSync(join(tmpdir(), 'nat-probe-lab-'));
  const ns = lab.public.namespace;
  const opened: number[] = [];
  const logFile = (name: string): { path: string | undefined; fd: number | 'pipe' } => {
    if (logDir === undefined) return { path: undefined, fd: 'pipe' };
    const path = join(logDir, `${base}-${name}.log`);
    const fd = openSync(path, 'w', 0o600);
    opened.push(fd);
    return { path, fd };
  };

  const started: Started[] = [];
  const spawnServer = (name: Started['name'], command: string, args: string[], stdout: 'pipe' | 'log', env?: NodeJS.ProcessEnv): Started => {
    const log = logFile(name);
    const stdio: StdioOptions = ['ignore', stdout === 'pipe' ? 'pipe' : log.fd, log.fd];
    const child = spawnInNamespace(ns, command, args, { stdio, detached, ...(env !== undefined ? { env } : {}) });
    // serve's stdout carries its announce line; coturn logs to stdout (`--log-file stdout`).
    const entry: Started = { name, child, exited: exitedPromise(child), logs: collectLogs(child, log.path, stdout === 'pipe' ? ['stderr'] : ['stdout', 'stderr']) };
    started.push(entry);
    return entry;
  };

  const secret = randomBytes(24).toString('base64url');
  const serveArgs = [
    options.cliPath ?? DEFAULT_CLI,
    'serve',
    '--primary', lab.public.primaryAddress,
    '--alternate', lab.public.alternateAddress,
    '--port', String(LAB_STUN_PORT),
    '--alternate-port', String(LAB_STUN_ALTERNATE_PORT),
    '--signal-port', String(LAB_SIGNAL_PORT),
    // The lab is a closed network where every client of a side shares one public IP, and a
    // matrix runs detect and many sessions at once: a per-IP limit would read as packet loss.
    '--rate-limit', '0',
    // With TURN, signaling hands every joining peer its own REST credentials for the lab's
    // coturn, so `nat-probe peer`/`trials` in a client namespace need no TURN flags.
    // The secret goes in serve's environment (NAT_PROBE_TURN_SECRET), not its command line.
    ...(options.turn === true ? ['--turn-url', `turn:${lab.public.primaryAddress}:${LAB_TURN_PORT}`] : []),
    '--json',
  ];
  const serve = spawnServer('serve', process.execPath, serveArgs, 'pipe', options.turn === true ? { ...process.env, NAT_PROBE_TURN_SECRET: secret } /* serve's TURN_SECRET_ENV (src/cli/turn-flags.ts) */ : undefined);
  const turnserver = options.turn === true ? spawnServer('turnserver', 'turnserver', coturnArgs(lab, secret, join(scratch, `${base}-turnserver.pid`)), 'log') : undefined;
  for (const fd of opened) closeSync(fd); // the children hold their own copies

  const crashHook = (): void => {
    for (const entry of started) if (entry.child.exitCode === null) entry.child.kill('SIGKILL');
  };
  if (!detached) process.once('exit', crashHook);
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      process.off('exit', crashHook);
      await Promise.all(started.map((entry) => stopChild(entry.child, entry.exited)));
      if (logDir === undefined) rmSync(scratch, { recursive: true, force: true });
    })();
    return stopped;
  };

  const readiness = async (entry: Started, ready: Promise<unknown>): Promise<void> => {
    try {
      await ready;
    } catch (error) {
      const logs = entry.logs();
      throw new LabServerError(
        entry.name,
        `The lab's ${entry.name} in ${ns} did not come up: ${(error as Error).message}.${logs === '' ? '' : ` Last output: ${logs.split('\n').slice(-5).join(' | ')}`} Run \`nat-probe lab down\` and retry.`,
        { cause: error },
      );
    }
  };
  let announcement: ServeAnnouncement | undefined;
  const portMappers: LabPortMapper[] = [];
  const serveUp = readiness(serve, serveReady(serve, boundMs).then((value) => (announcement = value)));
  const startPortMappers = async (): Promise<void> => {
    // miniupnpd runs its STUN test against serve once, at start-up, and exits when nobody
    // answers ("Performing STUN failed. EXITING"): serve and the lab's addresses come first.
    await Promise.all([labReady, serveUp]);
    const sides = [lab.a, ...(lab.b ? [lab.b] : [])].filter((side) => side.router !== undefined);
    const results = await Promise.allSettled(sides.map((side) => startPortMapper(side, { dir: scratch, base, detached, readyWithinMs: boundMs })));
    for (const result of results) if (result.status === 'fulfilled') portMappers.push(result.value);
    const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed) throw failed.reason;
  };
  try {
    await Promise.all([
      serveUp,
      turnserver === undefined ? undefined : readiness(turnserver, turnReady(lab, turnserver, boundMs, labReady)),
      labReady,
      options.portmap === true ? startPortMappers() : undefined,
    ]);
  } catch (error) {
    await Promise.all(portMappers.map((mapper) => mapper.stop()));
    await stop();
    throw error;
  }
  const stopServers = stop;
  const stopAll = (): Promise<void> => Promise.all([stopServers(), ...portMappers.map((mapper) => mapper.stop())]).then(() => undefined);
  if (detached) for (const entry of started) entry.child.unref();

  const pids = [...started.map((entry) => entry.child.pid!), ...portMappers.map((mapper) => mapper.pid)];
  return {
    stun: announcement!.stun.primary,
    signal: announcement!.signaling!.url,
    ...(turnserver === undefined ? {} : { turn: { url: `turn:${lab.public.primaryAddress}:${LAB_TURN_PORT}`, secret, realm: LAB_TURN_REALM } }),
    pids,
    ...(logDir === undefined ? {} : { logFiles: { serve: join(logDir, `${base}-serve.log`), ...(turnserver ? { turn: join(logDir, `${base}-turnserver.log`) } : {}) } }),
    ...(options.portmap === true ? { portMappers } : {}),
    stop: stopAll,
  };
}

export interface LabBringUpOptions {
  /** How to start the servers; `labReady` is supplied here. */
  readonly servers?: Omit<StartLabServersOptions, 'labReady'>;
  /** Starts the servers; default startLabServers (tests and the matrix runner inject their own). */
  readonly start?: (lab: Lab, options: StartLabServersOptions) => Promise<LabServers>;
  /** As soon as the namespaces exist: from here on the caller owns the lab's removal. */
  readonly onNamespacesCreated?: (lab: Lab) => void;
  /** The lab is built; what is left is waiting for the servers (callers time the two apart). */
  readonly onBuilt?: (lab: Lab) => void;
  /** The servers are up, also when the build failed after they started: the caller stops them. */
  readonly onServers?: (servers: LabServers) => void;
}

/**
 * Builds the lab and starts its servers with their start-up (node, coturn) overlapping the
 * bring-up: they start as soon as the namespaces exist and are probed once the lab is complete
 * (`labReady`). What `lab up` and every matrix cell do. A failed build waits for the servers'
 * start to settle before it rejects, so onServers has run for anything that came up.
 */
export async function buildLabWithServers(spec: LabSpec, options: LabBringUpOptions = {}): Promise<{ lab: Lab; servers: LabServers }> {
  const start = options.start ?? startLabServers;
  let starting: Promise<LabServers> | undefined;
  const building = buildLab(spec, {
    preflight: false,
    detachedHelpers: options.servers?.detached ?? false,
    onNamespacesCreated: (planned) => {
      options.onNamespacesCreated?.(planned);
      starting = start(planned, { ...options.servers, labReady: building });
      starting.then((servers) => options.onServers?.(servers)).catch(() => undefined);
    },
  });
  let lab: Lab;
  try {
    lab = await building;
  } catch (error) {
    await starting?.catch(() => undefined);
    throw error;
  }
  options.onBuilt?.(lab);
  return { lab, servers: await starting! };
}
