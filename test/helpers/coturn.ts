/**
 * Real coturn for interop tests and benchmarks: finds the binaries, starts `turnserver` as a
 * STUN-only RFC 5780 server on free ports, waits until it answers a Binding request (bounded),
 * and stops it by the PID it started.
 *
 * Free of vitest imports, so benchmarks can use it too. Suites gate on the binaries with
 * `toolGate` and `skipUnlessTools` (re-exported from ./tools.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { supervise } from './child.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StunMethod, newTransactionId } from '../../src/stun/index.js';
import { StunTransactions, UdpEndpoint } from '../../src/transport/index.js';
import { findTool } from './tools.js';

export { findTool, skipUnlessTools, toolGate, type ToolGate } from './tools.js';

export interface CoturnOptions {
  /** Addresses for `-L`; two give coturn RFC 5780 support (alternate port = port + 1). */
  listen: string[];
  /** Listening port; default a port P with P and P + 1 free (UDP) on every listen address. */
  port?: number;
  /**
   * Also listen on TCP. Default false (`--no-tcp`): the suites speak UDP, and coturn's TCP
   * listeners can collide with ephemeral TCP ports in use on the host, which makes it retry
   * the bind for seconds before its UDP listeners come up.
   */
  tcp?: boolean;
  /** Extra turnserver arguments. */
  extraArgs?: string[];
  /** How long to wait for the first Binding answer. Default 5000 ms. */
  readyWithinMs?: number;
}

export interface Coturn {
  port: number;
  /** The RFC 5780 alternate port (coturn uses port + 1). */
  altPort: number;
  pid: number;
  listen: string[];
  /** The last lines coturn printed, for failure messages. */
  logs(): string;
  stop(): Promise<void>;
}

/** A port P such that P and P + 1 are free for UDP on every address (checked by binding). */
export async function freePortPair(addresses: readonly string[], attempts = 20): Promise<number> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    const held: UdpEndpoint[] = [];
    try {
      const first = await UdpEndpoint.bind({ address: addresses[0]! });
      held.push(first);
      const port = first.local.port;
      if (port >= 0xffff) continue;
      for (const address of addresses) {
        for (const candidate of [port, port + 1]) {
          if (address === addresses[0] && candidate === port) continue;
          held.push(await UdpEndpoint.bind({ address, port: candidate }));
        }
      }
      return port;
    } catch {
      // taken; try another
    } finally {
      await Promise.all(held.map((endpoint) => endpoint.close()));
    }
  }
  throw new Error(`no UDP port pair free on ${addresses.join(', ')} after ${attempts} attempts`);
}

const MAX_LOG_LINES = 200;

/**
 * Starts coturn as a STUN-only server and resolves once it answers a Binding request. When the
 * port is ours to pick and coturn does not come up, tries again on another pair (at most 3 times).
 */
export async function startCoturn(options: CoturnOptions): Promise<Coturn> {
  const attempts = options.port === undefined ? 3 : 1;
  let lastError: unknown;
  for (let attempt = 0; attempt < attempts; attempt++) {
    try {
      return await startCoturnOnce(options, options.port ?? (await freePortPair(options.listen)));
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

async function startCoturnOnce(options: CoturnOptions, port: number): Promise<Coturn> {
  const run = launchCoturn('nat-probe-coturn-', (scratch) => [
    '-n', // ignore /etc/turnserver.conf (Debian's sets no-rfc5780 and syslog)
    ...options.listen.flatMap((address) => ['-L', address]),
    '-p', String(port),
    '--stun-only',
    '--no-tls',
    '--no-dtls',
    '--no-cli',
    ...(options.tcp === true ? [] : ['--no-tcp']),
    '--log-file', 'stdout',
    '--pidfile', join(scratch, 'turnserver.pid'),
    ...(options.extraArgs ?? []),
  ]);
  try {
    await waitForBinding(options.listen[0]!, port, options.readyWithinMs ?? 5000, run.exited);
  } catch (error) {
    await run.stop();
    throw new Error(`coturn did not answer on ${options.listen[0]}:${port}: ${(error as Error).message}\n--- coturn output ---\n${run.logs()}`);
  }
  return { port, altPort: port + 1, pid: run.pid, listen: options.listen, logs: run.logs, stop: run.stop };
}

interface LaunchedCoturn {
  pid: number;
  exited: Promise<void>;
  logs(): string;
  waitForLog(pattern: RegExp, boundMs: number, onlyNew?: boolean): Promise<string>;
  stop(): Promise<void>;
}

/**
 * Starts turnserver with the arguments `argsFor(scratch)` (scratch: a private folder for its pid
 * file, removed on stop), keeps its last output lines, and supervises it by its own PID.
 */
function launchCoturn(scratchPrefix: string, argsFor: (scratch: string) => string[]): LaunchedCoturn {
  const binary = findTool('turnserver');
  if (binary === undefined) throw new Error('turnserver not found on PATH; install coturn');
  const scratch = mkdtempSync(join(tmpdir(), scratchPrefix));
  const child: ChildProcess = spawn(binary, argsFor(scratch), { stdio: ['ignore', 'pipe', 'pipe'] });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${binary}`);
  const lines: string[] = [];
  const watchers = new Set<(line: string) => void>();
  const collect = (chunk: Buffer): void => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      lines.push(line);
      for (const watcher of watchers) watcher(line);
    }
    if (lines.length > MAX_LOG_LINES) lines.splice(0, lines.length - MAX_LOG_LINES);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  // Stopped by its own PID; killed too if the test process ends without calling stop().
  const supervised = supervise(child);
  const stop = async (): Promise<void> => {
    await supervised.stop();
    rmSync(scratch, { recursive: true, force: true });
  };
  const logs = (): string => lines.join('\n');
  const waitForLog = (pattern: RegExp, boundMs: number, onlyNew = false): Promise<string> => {
    const seen = onlyNew ? undefined : lines.find((line) => pattern.test(line));
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        watchers.delete(watcher);
        reject(new Error(`coturn printed no line matching ${pattern} within ${boundMs} ms\n--- coturn output ---\n${logs()}`));
      }, boundMs);
      const watcher = (line: string): void => {
        if (!pattern.test(line)) return;
        clearTimeout(timer);
        watchers.delete(watcher);
        resolve(line);
      };
      watchers.add(watcher);
    });
  };
  return { pid, exited: supervised.exited, logs, waitForLog, stop };
}

async function waitForBinding(address: string, port: number, boundMs: number, exited: Promise<void>): Promise<void> {
  const endpoint = await UdpEndpoint.bind({ address: address.includes(':') ? '::1' : '127.0.0.1' });
  const transactions = new StunTransactions(endpoint);
  try {
    const answered = transactions.request(
      { class: 'request', method: StunMethod.binding, transactionId: newTransactionId(), attributes: [] },
      { address, port },
      // Retransmit every 50 ms until coturn's sockets are up; the deadline bounds the wait.
      { rtoMs: 50, maxAttempts: Math.ceil(boundMs / 50), finalWaitMultiplier: 1, deadlineMs: boundMs },
    );
    const died = exited.then(() => {
      throw new Error('turnserver exited before answering');
    });
    await Promise.race([answered, died]);
  } finally {
    transactions.close();
    await endpoint.close();
  }
}

/* ---------- TURN-enabled coturn (issue 4): long-term users or a REST-API shared secret ---------- */

export interface CoturnTurnOptions {
  /** Listening address (`-L`) and relay address (`--relay-ip`). Default 127.0.0.1. */
  listen?: string;
  /** Static long-term users (`--lt-cred-mech --user name:password`). */
  users?: Array<{ name: string; password: string }>;
  /** TURN REST API secret (`--use-auth-secret --static-auth-secret`). */
  secret?: string;
  /** Realm (`--realm`). Default "nat-probe.test". */
  realm?: string;
  /** Also listen on TCP (same port). Default true. */
  tcp?: boolean;
  /** Extra turnserver arguments (e.g. `--user-quota 1`). */
  extraArgs?: string[];
  /** `--verbose`: coturn logs each session's life (refreshed, deleted), for waitForLog. Default false. */
  verbose?: boolean;
  /**
   * Also TURN over TLS (`--cert --pkey --tls-listening-port`) on a free TCP port, with this
   * certificate and key (PEM files, e.g. from ./tls-cert.ts). Default none (`--no-tls`).
   */
  tls?: { certFile: string; keyFile: string };
  readyWithinMs?: number;
}

export interface CoturnTurn extends Coturn {
  realm: string;
  /** `turn:ADDRESS:PORT` (add `?transport=tcp` for TCP). */
  url: string;
  /** With `tls`: the TLS listening port, and `turns:ADDRESS:PORT`. */
  tlsPort?: number;
  tlsUrl?: string;
  /**
   * Resolves when coturn prints a line matching `pattern` (already printed or printed later),
   * rejects after `boundMs`: how tests see what happens inside the server without polling.
   * Most lines need `verbose: true`. With `onlyNew`, lines printed before the call do not count.
   */
  waitForLog(pattern: RegExp, boundMs: number, onlyNew?: boolean): Promise<string>;
}

/** A port free for UDP (port and port + 1, see freePortPair) and for TCP on `address`. */
async function freeTurnPort(address: string, tcp: boolean): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await freePortPair([address]);
    if (!tcp || (await tcpPortFree(address, port))) return port;
  }
  throw new Error(`no port free for both UDP and TCP on ${address}`);
}

/** A TCP port free on `address` right now (the kernel's pick for port 0). */
async function freeTcpPort(address: string): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host: address, port: 0, exclusive: true }, () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

async function tcpPortFree(address: string, port: number): Promise<boolean> {
  const { createServer } = await import('node:net');
  return new Promise<boolean>((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host: address, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * Starts coturn as a TURN server on one loopback address: relays on that address, loopback
 * peers allowed (the tests' echo peers live on 127.0.0.1), no TLS/DTLS/CLI. Relay ports come
 * from coturn's own range (49152–65535); it skips ports already in use.
 */
export async function startCoturnTurn(options: CoturnTurnOptions = {}): Promise<CoturnTurn> {
  const listen = options.listen ?? '127.0.0.1';
  const realm = options.realm ?? 'nat-probe.test';
  const tcp = options.tcp ?? true;
  const auth: string[] = [];
  if (options.secret !== undefined) auth.push('--use-auth-secret', '--static-auth-secret', options.secret);
  if (options.users !== undefined && options.users.length > 0) {
    if (options.secret === undefined) auth.push('--lt-cred-mech');
    for (const user of options.users) auth.push('--user', `${user.name}:${user.password}`);
  }
  let lastError: unknown;
  const host = listen.includes(':') ? `[${listen}]` : listen;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freeTurnPort(listen, tcp);
    const tls = options.tls === undefined ? undefined : { ...options.tls, port: await freeTcpPort(listen) };
    try {
      const started = await startTurnOnce(listen, port, tcp, tls, [
        '--realm', realm,
        '--relay-ip', listen,
        '--allow-loopback-peers',
        '--no-multicast-peers',
        '--no-rfc5780',
        ...(options.verbose === true ? ['--verbose'] : []),
        ...auth,
        ...(options.extraArgs ?? []),
      ], options.readyWithinMs ?? 5000);
      return { ...started, realm, url: `turn:${host}:${port}`, ...(tls === undefined ? {} : { tlsPort: tls.port, tlsUrl: `turns:${host}:${tls.port}` }) };
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

async function startTurnOnce(
  listen: string,
  port: number,
  tcp: boolean,
  tls: { certFile: string; keyFile: string; port: number } | undefined,
  turnArgs: string[],
  readyWithinMs: number,
): Promise<Coturn & { waitForLog: CoturnTurn['waitForLog'] }> {
  const run = launchCoturn('nat-probe-coturn-turn-', (scratch) => [
    '-n',
    '-L', listen,
    '-p', String(port),
    ...(tls === undefined ? ['--no-tls'] : ['--cert', tls.certFile, '--pkey', tls.keyFile, '--tls-listening-port', String(tls.port)]),
    '--no-dtls',
    '--no-cli',
    ...(tcp ? [] : ['--no-tcp']),
    '--log-file', 'stdout',
    '--pidfile', join(scratch, 'turnserver.pid'),
    ...turnArgs,
  ]);
  try {
    // coturn answers Binding requests in TURN mode too; the first answer means its UDP listener is up.
    await waitForBinding(listen, port, readyWithinMs, run.exited);
    if (tls !== undefined) await waitForTcpListener(listen, tls.port, readyWithinMs, run.exited);
  } catch (error) {
    await run.stop();
    throw new Error(`coturn (TURN) did not answer on ${listen}:${port}: ${(error as Error).message}\n--- coturn output ---\n${run.logs()}`);
  }
  return { port, altPort: port + 1, pid: run.pid, listen: [listen], logs: run.logs, stop: run.stop, waitForLog: run.waitForLog };
}

/**
 * Resolves once something accepts a TCP connection on address:port (closed at once), trying
 * again every 50 ms while the connection is refused, like waitForBinding's retransmissions;
 * rejects after `boundMs` or when the server exits.
 */
async function waitForTcpListener(address: string, port: number, boundMs: number, exited: Promise<void>): Promise<void> {
  const { connect } = await import('node:net');
  const deadline = performance.now() + boundMs;
  let gone = false;
  void exited.then(() => (gone = true));
  for (;;) {
    const outcome = await new Promise<'up' | NodeJS.ErrnoException>((resolve) => {
      const socket = connect({ host: address, port });
      socket.once('connect', () => {
        socket.destroy();
        resolve('up');
      });
      socket.once('error', (error: NodeJS.ErrnoException) => {
        socket.destroy();
        resolve(error);
      });
    });
    if (outcome === 'up') return;
    if (gone) throw new Error('turnserver exited before its TLS listener accepted a connection');
    if (outcome.code !== 'ECONNREFUSED' || performance.now() >= deadline) throw new Error(`the TLS listener ${address}:${port} did not accept a connection within ${boundMs} ms (${outcome.message})`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
