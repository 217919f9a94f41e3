/**
 * Persisted state of a lab started by `nat-probe lab up`, so later processes (`lab exec`,
 * `lab status`, `lab down`) know its namespaces, server URLs and PIDs. One JSON file per lab,
 * `<dir>/<prefix><id>.json` (dir default /run/nat-probe: tmpfs, so a reboot, which also drops
 * every namespace, drops the state too). The TURN secret lives beside it in a file of mode
 * 0600, never in the state itself, so `lab status --json` can be shared.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LabStateError } from './errors.js';
import { LAB_RUN_DIR, type LabServers } from './servers.js';
import { validatePrefix } from './spec.js';
import type { Lab } from './topology.js';

export const LAB_STATE_SCHEMA = 'nat-probe.lab-state/v1';

export interface LabState {
  schema: typeof LAB_STATE_SCHEMA;
  createdAt: string;
  /** PID of the `lab up` process that wrote this (it has exited by the time others read it). */
  createdBy: number;
  lab: Lab;
  servers: {
    stun: string;
    signal: string;
    turn: { url: string; realm: string; secretFile: string } | undefined;
    pids: number[];
    logFiles: string[];
  };
}

/** File names: PREFIX + 8-hex id + suffix. The prefix ends in its only "-", so "np-" never matches "npc-…". */
const ID_PATTERN = '[0-9a-f]{1,16}';

export function statePath(prefix: string, id: string, dir: string = LAB_RUN_DIR): string {
  return join(dir, `${validatePrefix(prefix)}${id}.json`);
}

function secretPath(prefix: string, id: string, dir: string): string {
  return join(dir, `${prefix}${id}.turn-secret`);
}

/**
 * Writes the state (and the TURN secret, mode 0600) of a lab whose servers are up. The JSON is
 * written to a temporary name and renamed, so a reader never sees half a file.
 */
export async function writeLabState(lab: Lab, servers: LabServers, dir: string = LAB_RUN_DIR): Promise<LabState> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  let turn: LabState['servers']['turn'];
  if (servers.turn !== undefined) {
    const secretFile = secretPath(lab.prefix, lab.id, dir);
    await writeFile(secretFile, `${servers.turn.secret}\n`, { mode: 0o600 });
    await chmod(secretFile, 0o600); // mode applies only when the file is created
    turn = { url: servers.turn.url, realm: servers.turn.realm, secretFile };
  }
  const state: LabState = {
    schema: LAB_STATE_SCHEMA,
    createdAt: new Date().toISOString(),
    createdBy: process.pid,
    lab,
    servers: {
      stun: servers.stun,
      signal: servers.signal,
      turn,
      pids: servers.pids,
      logFiles: servers.logFiles === undefined ? [] : Object.values(servers.logFiles).filter((file): file is string => file !== undefined),
    },
  };
  const target = statePath(lab.prefix, lab.id, dir);
  const temporary = `${target}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temporary, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o644 });
  await rename(temporary, target);
  return state;
}

function isLabState(value: unknown): value is LabState {
  const state = value as Partial<LabState> | null;
  return (
    typeof state === 'object' && state !== null && state.schema === LAB_STATE_SCHEMA &&
    typeof state.lab?.id === 'string' && Array.isArray(state.lab.namespaces) &&
    typeof state.servers?.stun === 'string' && Array.isArray(state.servers.pids)
  );
}

/** Every state file of labs with `prefix` in `dir`, oldest first. Unreadable or foreign files are skipped. */
export async function readLabStates(prefix: string, dir: string = LAB_RUN_DIR): Promise<LabState[]> {
  validatePrefix(prefix);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return []; // no run directory: no lab was ever started here
  }
  const pattern = new RegExp(`^${prefix.replace(/[-]/g, '\\-')}${ID_PATTERN}\\.json$`);
  const states: LabState[] = [];
  for (const name of names.filter((entry) => pattern.test(entry)).sort()) {
    try {
      const parsed: unknown = JSON.parse(await readFile(join(dir, name), 'utf8'));
      if (isLabState(parsed) && parsed.lab.prefix === prefix) states.push(parsed);
    } catch {
      // A file being replaced or corrupt: `lab down` removes it by name anyway.
    }
  }
  return states.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

/** The one running lab with `prefix`; LabStateError `lab-not-running` when there is none. */
export async function requireLabState(prefix: string, dir: string = LAB_RUN_DIR): Promise<LabState> {
  const states = await readLabStates(prefix, dir);
  const state = states.at(-1);
  if (state === undefined) {
    throw new LabStateError('lab-not-running', `No lab with prefix "${prefix}" is running: run \`nat-probe lab up --a TYPE${prefix === 'np-' ? '' : ` --prefix ${prefix}`}\` first.`);
  }
  return state;
}

export async function readTurnSecret(state: LabState): Promise<string | undefined> {
  if (state.servers.turn === undefined) return undefined;
  return (await readFile(state.servers.turn.secretFile, 'utf8')).trim();
}

/**
 * Removes every file `lab up` wrote for labs with `prefix` in `dir` — state, secret, logs, pid
 * files, and temporaries from an interrupted write — and returns their paths.
 */
export async function removeLabFiles(prefix: string, dir: string = LAB_RUN_DIR): Promise<string[]> {
  validatePrefix(prefix);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const pattern = new RegExp(`^${prefix.replace(/[-]/g, '\\-')}${ID_PATTERN}(\\.json|\\.turn-secret|-[a-z]+\\.(log|pid)|-[ab]-miniupnpd\\.(log|pid|conf)|\\.json\\.[0-9a-f]+\\.tmp)$`);
  const removed = names.filter((name) => pattern.test(name)).map((name) => join(dir, name));
  await Promise.all(removed.map((file) => rm(file, { force: true })));
  return removed.sort();
}
