import { InvalidArgumentError, type Command } from 'commander';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { constants } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  assertLabPrerequisites,
  buildLabWithServers,
  destroyAllLabs,
  destroyLab,
  DEFAULT_LAB_PREFIX,
  listLabs,
  normalizeLabSpec,
  spawnInNamespace,
  validatePrefix,
  LAB_RUN_DIR,
  LabSpecError,
  LabStateError,
  type Lab,
  type LabServers,
  type NormalizedLabSpec,
} from '../../lab/index.js';
import { labOverview } from '../../lab/overview.js';
import { stopRecordedPids, type StopPidsResult } from '../../lab/recorded-pids.js';
import { readLabStates, readTurnSecret, removeLabFiles, requireLabState, statePath, writeLabState, type LabState } from '../../lab/state.js';
import { labDownJson, labStatusJson, labUpJson } from '../../report/lab-status-report.js';
import { labDownText, labStatusText, labUpText } from '../../report/lab-status-text.js';
import { restApiCredentials } from '../../turn/index.js';
import { ExitCode } from '../exit-codes.js';
import { writeLine, type CliIo } from '../io.js';
import { integerOption } from '../options.js';
import { TURN_PASSWORD_ENV } from '../turn-flags.js';
import { registerLabMatrix } from './lab-matrix.js';
import { interruptSignal } from './peer.js';

type Run = (code: Promise<number>) => void;

export interface LabUpOptions {
  a: string;
  b?: string;
  cgn?: string;
  hairpin?: boolean;
  loss?: number;
  delay?: number;
  jitter?: number;
  turn: boolean;
  portmap?: boolean;
  udpTimeout?: { oneWay: number; twoWay: number };
  prefix: string;
  json?: boolean;
}

function prefixOption(value: string): string {
  try {
    return validatePrefix(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

/** Where `lab exec` runs: a client, the public segment, or a router (for conntrack, nft…). */
export const EXEC_TARGETS = ['a', 'b', 'pub', 'ra', 'rb', 'ca'] as const;
export type ExecTarget = (typeof EXEC_TARGETS)[number];

const THIS_CLI = fileURLToPath(new URL('../../../bin/nat-probe.js', import.meta.url));

/**
 * `nat-probe lab …`. Registers up, down, status and exec here, and `matrix` from lab-matrix.ts,
 * so each subcommand keeps its own file.
 */
export function registerLab(program: Command, io: CliIo, run: Run): Command {
  const lab = program
    .command('lab')
    .description('A NAT lab on this Linux machine: real kernel NAT (nftables) in network namespaces, with STUN, signaling and TURN servers (needs root)')
    .enablePositionalOptions()
    .addHelpText(
      'after',
      `
Topology: a public namespace (bridge with 203.0.113.1 and .2: STUN, signaling, TURN), and one or
two clients behind real kernel NATs (optionally a carrier-grade NAT in front of side a). Only
namespaces named <prefix><id>-… are created or removed; the host's links and routes are never
touched, and traffic never leaves the namespaces. One lab per prefix: use --prefix for several.

Examples:
  sudo nat-probe lab up --a port-restricted --b symmetric
  sudo nat-probe lab exec a -- nat-probe detect --server 203.0.113.1:3478
  sudo nat-probe lab status
  sudo nat-probe lab down

NAT types: none, firewall, full-cone, restricted, port-restricted, addr-dependent, symmetric,
symmetric-sequential. Exit codes: 0 ok, 2 not root, tools missing, bad type, no lab running.`,
    );

  lab
    .command('up')
    .description('Build the lab and start its servers (nat-probe serve, coturn) in the background')
    .requiredOption('--a <type>', 'NAT in front of client a')
    .option('--b <type>', 'NAT in front of client b (omit for one client)')
    .option('--cgn <type>', 'a carrier-grade NAT (a translating type) between side a and the public segment')
    .option('--hairpin', 'every NAT router hairpins (RFC 4787 §6)')
    .option('--loss <pct>', 'drop this percentage of packets at each client\'s first hop, each direction', integerOption('--loss', 0, 100))
    .option('--delay <ms>', 'one-way delay at each client\'s first hop, each direction: a client is 2×ms from the servers, 4×ms from the other client (needs python3)', integerOption('--delay', 0, 5000))
    .option('--jitter <ms>', 'vary each packet\'s delay uniformly by ±ms (at most --delay; packets are not reordered)', integerOption('--jitter', 0, 5000))
    .option('--no-turn', 'do not start coturn (no TURN relay; turnserver not needed)')
    .option('--udp-timeout <s>', 'UDP mapping lifetime of every NAT router in seconds (conntrack), or one-way/two-way, e.g. 20/60', udpTimeoutOption)
    .option('--portmap', 'run miniupnpd (UPnP IGD, NAT-PMP, PCP) in every NAT router namespace, so detect has a gateway to ask')
    .option('--prefix <prefix>', 'namespace name prefix (lower-case letters/digits ending in "-")', prefixOption, DEFAULT_LAB_PREFIX)
    .option('--json', `print one JSON document (schema nat-probe.lab-up/v1) on stdout`)
    .addHelpText(
      'after',
      `
Servers in the public namespace:
  STUN       203.0.113.1:3478, RFC 5780 alternate 203.0.113.2:3479   (nat-probe serve)
  signaling  ws://203.0.113.1:8478/                                    (nat-probe serve)
  TURN       turn:203.0.113.1:3480 over UDP and TCP, REST API secret   (coturn)
With --portmap, each NAT router also runs miniupnpd on its LAN side (UPnP on :1900 and
http :2189, NAT-PMP and PCP on :5351); its logs are in /run/nat-probe/ too. It learns its
public address by STUN from the lab's server and grants mappings (detect --map, peer
--strategy portmap); behind --cgn its STUN test finds the CGN and it grants none.
They keep running after this command returns; \`lab down\` stops them. State, logs and the TURN
secret (mode 0600) are in /run/nat-probe/. Ctrl-C during \`up\` removes what was built.

Examples:
  sudo nat-probe lab up --a port-restricted --b symmetric
  sudo nat-probe lab up --a full-cone --b restricted --hairpin --loss 5
  sudo nat-probe lab up --a port-restricted --b port-restricted --delay 25 --jitter 2
  sudo nat-probe lab up --a port-restricted --cgn symmetric --b none --no-turn
  sudo nat-probe lab up --a symmetric --prefix ci- --json
  sudo nat-probe lab up --a port-restricted --cgn port-restricted --portmap --no-turn
  sudo nat-probe lab up --a symmetric --b symmetric --portmap     then peer --strategy portmap`,
    )
    .action((options: LabUpOptions) => run(runLabUp(options, io)));

  lab
    .command('down')
    .description('Stop the lab\'s servers and remove its namespaces, including leftovers of crashed runs (idempotent)')
    .option('--prefix <prefix>', 'namespace name prefix', prefixOption, DEFAULT_LAB_PREFIX)
    .option('--json', `print one JSON document (schema nat-probe.lab-down/v1) on stdout`)
    .addHelpText(
      'after',
      `
Kills the recorded server PIDs (only while they are still inside the lab's namespaces), then
every process left in a namespace named <prefix>…, deletes those namespaces (their veths, routes
and nftables tables go with them) and the state files. Exit 0, also when nothing was running.

Examples:
  sudo nat-probe lab down
  sudo nat-probe lab down --prefix ci-`,
    )
    .action((options: { prefix: string; json?: boolean }) => run(runLabDown(options, io)));

  lab
    .command('status')
    .description('Show the topology, NAT mappings (nft maps, conntrack), conntrack entries per router and server processes')
    .option('--prefix <prefix>', 'namespace name prefix', prefixOption, DEFAULT_LAB_PREFIX)
    .option('--json', `print one JSON document (schema nat-probe.lab-status/v1) on stdout`)
    .addHelpText(
      'after',
      `
NAT mappings come from each router's conntrack table (needs the conntrack tool): internal
endpoint → mapped endpoint ⇄ remote. Full-cone and restricted routers also list their nft
mapping map / contacted set. Exit 2 when no lab with the prefix is running.

Examples:
  sudo nat-probe lab status
  sudo nat-probe lab status --json | jq '.routers[].mappings'`,
    )
    .action((options: { prefix: string; json?: boolean }) => run(runLabStatus(options, io)));

  lab
    .command('exec')
    .description('Run a command inside a lab namespace (a, b, pub, or the routers ra, rb, ca) with stdio inherited; exits with its status')
    .argument('<where>', `${EXEC_TARGETS.join(' | ')}`)
    .argument('<command...>', 'the command and its arguments (put -- before it)')
    .option('--prefix <prefix>', 'namespace name prefix', prefixOption, DEFAULT_LAB_PREFIX)
    .passThroughOptions()
    .addHelpText(
      'after',
      `
The command sees NAT_PROBE_STUN, NAT_PROBE_SIGNAL and, with TURN, NAT_PROBE_TURN plus a TURN REST
credential pair NAT_PROBE_TURN_USER / NAT_PROBE_TURN_PASSWORD (valid 24 h; the secret itself is
not exported; \`nat-probe turn\` reads the password from that variable), NAT_PROBE_LAB (lab name)
and NAT_PROBE_LAB_NAMESPACE. "nat-probe" runs this same nat-probe, also inside \`sh -c\`: PATH
starts with /run/nat-probe/bin, where a shim points at it.

Examples:
  sudo nat-probe lab exec a -- nat-probe detect --server 203.0.113.1:3478
  sudo nat-probe lab exec b -- sh -c 'nat-probe peer --signal $NAT_PROBE_SIGNAL --room r1 --stun $NAT_PROBE_STUN'
  sudo nat-probe lab exec a -- sh -c 'nat-probe turn --server $NAT_PROBE_TURN --user $NAT_PROBE_TURN_USER'
  sudo nat-probe lab exec ra -- conntrack -L`,
    )
    .action((where: string, command: string[], options: { prefix: string }) => run(runLabExec(where, command, options, io)));

  registerLabMatrix(lab, io, run);
  return lab;
}

function specFrom(options: LabUpOptions): NormalizedLabSpec {
  return normalizeLabSpec({
    a: options.a as NormalizedLabSpec['a'],
    ...(options.b === undefined ? {} : { b: options.b as NormalizedLabSpec['a'] }),
    ...(options.cgn === undefined ? {} : { cgn: options.cgn as NormalizedLabSpec['a'] }),
    hairpin: options.hairpin ?? false,
    lossPercent: options.loss ?? 0,
    delayMs: options.delay ?? 0,
    jitterMs: options.jitter ?? 0,
    prefix: options.prefix,
    ...(options.udpTimeout === undefined ? {} : { udpTimeout: options.udpTimeout }),
  });
}

/** `--udp-timeout 20` (both cases) or `20/60` (one-way / two-way), whole seconds. */
function udpTimeoutOption(value: string): { oneWay: number; twoWay: number } {
  const match = /^(\d{1,5})(?:\/(\d{1,5}))?$/.exec(value);
  const oneWay = Number(match?.[1]);
  const twoWay = match?.[2] === undefined ? oneWay : Number(match[2]);
  if (!match || oneWay < 1 || twoWay < 1 || oneWay > 86_400 || twoWay > 86_400) {
    throw new InvalidArgumentError('--udp-timeout must be whole seconds, e.g. 20, or one-way/two-way, e.g. 20/60 (1 to 86400).');
  }
  return { oneWay, twoWay };
}

function downHint(prefix: string): string {
  return `nat-probe lab down${prefix === DEFAULT_LAB_PREFIX ? '' : ` --prefix ${prefix}`}`;
}

/** Refuses to start a second lab with the same prefix (state or namespaces left over). */
async function assertNoLab(prefix: string): Promise<void> {
  const [states, labs] = await Promise.all([readLabStates(prefix), listLabs(prefix)]);
  const running = [...new Set([...states.map((state) => `${prefix}${state.lab.id}`), ...labs.map((lab) => `${prefix}${lab.id}`)])];
  if (running.length > 0) {
    throw new LabStateError(
      'lab-already-running',
      `A lab with prefix "${prefix}" is already there (${running.join(', ')}): run \`${downHint(prefix)}\` first, or pick another --prefix.`,
    );
  }
}

export async function runLabUp(options: LabUpOptions, io: CliIo): Promise<number> {
  const started = performance.now();
  const spec = specFrom(options); // an unknown type is a usage error before anything else
  // Both only read; the root/tools verdict wins when both fail.
  const [preflight, noLab] = await Promise.allSettled([assertLabPrerequisites({ tools: [...(options.turn ? ['turnserver'] : []), ...(spec.delayMs > 0 ? ['python3'] : []), ...(options.portmap ? ['miniupnpd'] : [])] }), assertNoLab(spec.prefix)]);
  if (preflight.status === 'rejected') throw preflight.reason;
  if (noLab.status === 'rejected') throw noLab.reason;

  const interrupt = interruptSignal();
  let lab: Lab | undefined;
  let servers: LabServers | undefined;
  const cleanUp = async (): Promise<void> => {
    await servers?.stop().catch(() => undefined);
    if (lab) await destroyLab(lab).catch(() => undefined);
    await removeLabFiles(spec.prefix).catch(() => undefined);
  };
  try {
    // Each step is awaited to its (bounded) end before a Ctrl-C is acted on, so cleanup never races a half-run command.
    // The servers' start-up (node and coturn loading) overlaps the bring-up.
    const built = await buildLabWithServers(spec, {
      servers: { turn: options.turn, detached: true, portmap: options.portmap ?? false },
      onServers: (value) => (servers = value),
    });
    lab = built.lab;
    servers = built.servers;
    let state: LabState | undefined;
    if (!interrupt.signal.aborted && servers) state = await writeLabState(lab, servers);
    if (interrupt.signal.aborted || state === undefined) {
      await cleanUp();
      writeLine(io.stderr, `nat-probe lab up: interrupted (${String(interrupt.signal.reason)}); removed the lab it had started.`);
      return ExitCode.failure;
    }
    const report = labUpJson(state, statePath(lab.prefix, lab.id), performance.now() - started);
    if (options.json) writeLine(io.stdout, JSON.stringify(report));
    else io.stdout.write(labUpText(report));
    return ExitCode.ok;
  } catch (error) {
    await cleanUp();
    throw error;
  } finally {
    interrupt.dispose();
  }
}

export async function runLabDown(options: { prefix: string; json?: boolean }, io: CliIo): Promise<number> {
  await assertLabPrerequisites();
  const states = await readLabStates(options.prefix);
  const processes: StopPidsResult = { stopped: [], alreadyGone: [], foreign: [], survivors: [] };
  for (const state of states) {
    const result = await stopRecordedPids(state.servers.pids, state.lab.namespaces);
    for (const key of Object.keys(processes) as (keyof StopPidsResult)[]) processes[key].push(...result[key]);
  }
  // Every namespace with the prefix, recorded or not: leftovers of a crashed `up` or test run too.
  const namespaces = await destroyAllLabs(options.prefix);
  const files = await removeLabFiles(options.prefix);
  const report = labDownJson(options.prefix, processes, namespaces, files);
  if (options.json) writeLine(io.stdout, JSON.stringify(report));
  else io.stdout.write(labDownText(report));
  return ExitCode.ok;
}

export async function runLabStatus(options: { prefix: string; json?: boolean }, io: CliIo): Promise<number> {
  await assertLabPrerequisites();
  const states = await readLabStates(options.prefix);
  if (states.length === 0) {
    const leftovers = await listLabs(options.prefix);
    if (leftovers.length > 0) {
      const names = leftovers.flatMap((lab) => lab.namespaces).join(', ');
      throw new LabStateError('lab-not-running', `No lab state for prefix "${options.prefix}", but namespaces are left from a crashed run (${names}): run \`${downHint(options.prefix)}\`.`);
    }
  }
  const state = await requireLabState(options.prefix);
  const report = labStatusJson(await labOverview(state));
  if (options.json) writeLine(io.stdout, JSON.stringify(report));
  else io.stdout.write(labStatusText(report));
  return ExitCode.ok;
}

function namespaceFor(state: LabState, where: string): string {
  const { lab } = state;
  const targets: Record<ExecTarget, string | undefined> = {
    a: lab.a.client.namespace,
    b: lab.b?.client.namespace,
    pub: lab.public.namespace,
    ra: lab.a.router?.namespace,
    rb: lab.b?.router?.namespace,
    ca: lab.a.cgn?.namespace,
  };
  if (!(EXEC_TARGETS as readonly string[]).includes(where)) {
    throw new LabSpecError('where', `Unknown place "${where}" for lab exec: use one of ${EXEC_TARGETS.join(', ')}.`);
  }
  const namespace = targets[where as ExecTarget];
  if (namespace === undefined) {
    const available = EXEC_TARGETS.filter((target) => targets[target] !== undefined).join(', ');
    throw new LabStateError('lab-not-running', `Lab ${lab.prefix}${lab.id} has no "${where}" (it has ${available}).`);
  }
  return namespace;
}

async function execEnvironment(state: LabState, namespace: string): Promise<NodeJS.ProcessEnv> {
  const env: NodeJS.ProcessEnv = {
    NAT_PROBE_STUN: state.servers.stun,
    NAT_PROBE_SIGNAL: state.servers.signal,
    NAT_PROBE_LAB: `${state.lab.prefix}${state.lab.id}`,
    NAT_PROBE_LAB_NAMESPACE: namespace,
  };
  const secret = await readTurnSecret(state);
  if (state.servers.turn && secret !== undefined) {
    // A REST credential pair (RFC 8489 long-term credentials derived from the secret) lets the
    // command use TURN without ever seeing the secret, which could mint credentials forever.
    const credentials = restApiCredentials(secret, { user: 'lab' });
    Object.assign(env, { NAT_PROBE_TURN: state.servers.turn.url, NAT_PROBE_TURN_USER: credentials.username, [TURN_PASSWORD_ENV]: credentials.password });
  }
  return env;
}

/**
 * `<run dir>/bin/nat-probe`, a shell shim running this nat-probe, so `nat-probe` works inside
 * `lab exec … -- sh -c '…'` even when nat-probe is not installed on PATH. Written atomically
 * (temporary name, then rename), since several `lab exec` may run at once.
 */
async function writeShim(): Promise<string> {
  const dir = join(LAB_RUN_DIR, 'bin');
  const shim = join(dir, 'nat-probe');
  const content = `#!/bin/sh\nexec '${process.execPath}' '${THIS_CLI}' "$@"\n`;
  if (process.execPath.includes("'") || THIS_CLI.includes("'")) return dir; // not quotable; the direct "nat-probe" substitution still works
  const current = await readFile(shim, 'utf8').catch(() => '');
  if (current !== content) {
    await mkdir(dir, { recursive: true, mode: 0o755 });
    const temporary = `${shim}.${process.pid}.tmp`;
    await writeFile(temporary, content, { mode: 0o755 });
    await rename(temporary, shim);
  }
  return dir;
}

export async function runLabExec(where: string, command: string[], options: { prefix: string }, io: CliIo): Promise<number> {
  await assertLabPrerequisites();
  const state = await requireLabState(options.prefix);
  const namespace = namespaceFor(state, where);
  const [file, ...args] = command;
  if (file === undefined) throw new LabSpecError('command', 'Give the command to run after --, e.g. `nat-probe lab exec a -- ip addr`.');
  const shimDir = await writeShim();
  const env = { ...io.env, ...(await execEnvironment(state, namespace)), PATH: `${shimDir}${delimiter}${io.env.PATH ?? ''}` };
  // "nat-probe" means this nat-probe: the same Node and package, even when it is not on PATH.
  const [program, argv] = file === 'nat-probe' ? [process.execPath, [THIS_CLI, ...args]] : [file, args];
  const child = spawnInNamespace(namespace, program, argv, { stdio: 'inherit', env });
  // The terminal sends Ctrl-C to the child too (same process group); wait for it to finish instead of dying first.
  // A SIGTERM aimed at this process alone is passed on, so the command is never orphaned.
  const ignore = (): void => undefined;
  const forward = (): void => void child.kill('SIGTERM');
  process.on('SIGINT', ignore);
  process.on('SIGTERM', forward);
  try {
    return await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code, signal) => resolve(code ?? 128 + signalNumber(signal)));
    });
  } finally {
    process.off('SIGINT', ignore);
    process.off('SIGTERM', forward);
  }
}

/** Shell convention: a command killed by signal N exits 128 + N. */
function signalNumber(signal: NodeJS.Signals | null): number {
  return signal === null ? 0 : (constants.signals[signal] ?? 0);
}
