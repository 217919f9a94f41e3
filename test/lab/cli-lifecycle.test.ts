/**
 * `nat-probe lab up | exec | status | down` as a user runs them: separate CLI processes sharing
 * only the state file. The verdict of detect inside each client must match the NAT that was
 * built, status must show the translations the traffic made, and down must leave nothing.
 */
import { readFileSync, statSync, existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DETECT_CLASSIC_NAME, EXPECTED_BEHAVIOUR, destroyAllLabs, listNamespaces, type NatType } from '../../src/lab/index.js';
import { namespacePids } from '../../src/lab/namespaces.js';
import { pidAlive } from '../../src/lab/recorded-pids.js';
import { removeLabFiles } from '../../src/lab/state.js';
import { runCommand } from '../../src/lab/run-command.js';
import type { LabDownJson, LabStatusJson, LabUpJson } from '../../src/report/lab-status-report.js';
import { assertBuilt, runCli } from '../helpers/cli.js';
import { labGate } from './helpers.js';

const PREFIX = 'npca-';
const runLab = await labGate('lab CLI lifecycle suite', ['turnserver', 'conntrack']);

function prefixed(names: readonly string[]): string[] {
  return names.filter((name) => name.startsWith(PREFIX));
}

describe.skipIf(!runLab)('nat-probe lab up / exec / status / down', () => {
  let up: LabUpJson;

  beforeAll(async () => {
    assertBuilt();
    const run = await runCli(['lab', 'up', '--a', 'port-restricted', '--b', 'symmetric', '--prefix', PREFIX, '--json']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    up = JSON.parse(run.stdout) as LabUpJson;
  });

  afterAll(async () => {
    // Only if a test failed half-way: the down test below normally removed everything.
    await runCli(['lab', 'down', '--prefix', PREFIX]).catch(() => undefined);
    await destroyAllLabs(PREFIX);
    await removeLabFiles(PREFIX);
  });

  it('up builds both sides, starts serve and coturn inside the public namespace, and records them', async () => {
    expect(up.schema).toBe('nat-probe.lab-up/v1');
    expect(up.lab.sides.map((side) => side.natType)).toEqual(['port-restricted', 'symmetric']);
    expect(up.servers.stun).toBe('203.0.113.1:3478');
    expect(up.servers.signal).toBe('ws://203.0.113.1:8478/');
    expect(up.servers.turn?.url).toBe('turn:203.0.113.1:3480');
    expect(prefixed(await listNamespaces()).sort()).toEqual([...up.lab.namespaces].sort());
    // Both servers run, and run inside the lab (not on the host).
    expect(up.servers.pids).toHaveLength(2);
    const inPublic = await namespacePids(up.lab.public.namespace);
    for (const pid of up.servers.pids) {
      expect(pidAlive(pid)).toBe(true);
      expect(inPublic).toContain(pid);
    }
    const state = JSON.parse(readFileSync(up.stateFile, 'utf8')) as { servers: { turn: { secretFile: string } } };
    const secretFile = state.servers.turn.secretFile;
    expect(statSync(secretFile).mode & 0o777).toBe(0o600);
    // The secret is in its own file only: not in the state, not in the --json output.
    const secret = readFileSync(secretFile, 'utf8').trim();
    expect(secret.length).toBeGreaterThanOrEqual(24);
    expect(readFileSync(up.stateFile, 'utf8')).not.toContain(secret);
    expect(JSON.stringify(up)).not.toContain(secret);
  });

  it('a second up with the same prefix is refused with exit 2 and says to run lab down', async () => {
    const run = await runCli(['lab', 'up', '--a', 'none', '--prefix', PREFIX]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/already there .*nat-probe lab down --prefix npca-.*\[lab-already-running\]/);
    expect(prefixed(await listNamespaces()).sort()).toEqual([...up.lab.namespaces].sort());
  });

  it.each([
    ['a', 'port-restricted'],
    ['b', 'symmetric'],
  ] as const)('exec %s -- nat-probe detect finds the %s NAT that was built', async (side, type: NatType) => {
    const run = await runCli(['lab', 'exec', side, '--prefix', PREFIX, '--', 'nat-probe', 'detect', '--server', up.servers.stun, '--json'], { timeoutMs: 30_000 });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const verdict = (JSON.parse(run.stdout) as { results: { verdict: { classicName: string; publicAddresses: string[] } }[] }).results[0]!.verdict;
    expect(verdict.classicName).toBe(DETECT_CLASSIC_NAME[EXPECTED_BEHAVIOUR[type].classicName]);
    expect(verdict.publicAddresses).toEqual([up.lab.sides.find((s) => s.name === side)!.publicAddress]);
  });

  it('exec passes the exit status through and exports the server URLs and a TURN credential pair, never the secret', async () => {
    const failing = await runCli(['lab', 'exec', 'a', '--prefix', PREFIX, '--', 'sh', '-c', 'exit 7']);
    expect(failing.code).toBe(7);
    const env = await runCli(['lab', 'exec', 'b', '--prefix', PREFIX, '--', 'sh', '-c', 'env; ip -4 -o addr show dev eth0']);
    expect(env.code).toBe(0);
    const vars = Object.fromEntries(env.stdout.split('\n').filter((line) => line.startsWith('NAT_PROBE_')).map((line) => line.split(/=(.*)/s).slice(0, 2)));
    expect(vars.NAT_PROBE_STUN).toBe(up.servers.stun);
    expect(vars.NAT_PROBE_SIGNAL).toBe(up.servers.signal);
    expect(vars.NAT_PROBE_TURN).toBe(up.servers.turn!.url);
    expect(vars.NAT_PROBE_TURN_USER).toMatch(/^\d+:lab$/);
    expect(vars.NAT_PROBE_TURN_PASSWORD).toMatch(/^[A-Za-z0-9+/]{27}=$/); // base64 of an HMAC-SHA1
    expect(env.stdout).toContain('198.51.100.18/28'); // really inside client b
    const secret = readFileSync(`/run/nat-probe/${PREFIX}${up.lab.id}.turn-secret`, 'utf8').trim();
    expect(env.stdout).not.toContain(secret);
  });

  it.each(['udp', 'tcp'])('the exported TURN credentials work: nat-probe turn over %s passes every check from client a', async (transport) => {
    const run = await runCli(['lab', 'exec', 'a', '--prefix', PREFIX, '--', 'sh', '-c', `nat-probe turn --server "$NAT_PROBE_TURN?transport=${transport}" --user "$NAT_PROBE_TURN_USER" --packets 20 --json`], { timeoutMs: 30_000 });
    const report = JSON.parse(run.stdout) as { transport: string; steps: { step: string; status: string }[] };
    expect(report.transport).toBe(transport);
    expect(report.steps.map((step) => [step.step, step.status])).toEqual(report.steps.map((step) => [step.step, 'pass']));
    expect(report.steps.length).toBeGreaterThanOrEqual(5);
    expect(run.code).toBe(0);
  });

  it('signaling hands out TURN credentials: relay-only peers in a and b connect through the lab\'s coturn with no TURN flags', async () => {
    const peer = (side: 'a' | 'b') =>
      runCli(['lab', 'exec', side, '--prefix', PREFIX, '--', 'sh', '-c', 'nat-probe peer --signal "$NAT_PROBE_SIGNAL" --room relay-1 --relay-only --timeout 8000 --json'], { timeoutMs: 30_000 });
    const runs = await Promise.all([peer('a'), peer('b')]);
    for (const run of runs) {
      const report = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { connected: boolean; selectedPair: { pairType: string; local: string } | null };
      expect(report.connected).toBe(true);
      expect(report.selectedPair?.pairType).toBe('relay/relay');
      expect(report.selectedPair?.local.startsWith('203.0.113.1:')).toBe(true); // the lab coturn's relay address
      expect(run.code).toBe(0);
    }
  });

  it('status shows both sides, the routers\' NAT mappings made by the traffic above, and live servers', async () => {
    const run = await runCli(['lab', 'status', '--prefix', PREFIX, '--json']);
    expect(run.code).toBe(0);
    const status = JSON.parse(run.stdout) as LabStatusJson;
    expect(status.schema).toBe('nat-probe.lab-status/v1');
    expect(status.lab.sides.map((side) => [side.name, side.natType, side.client.address])).toEqual([
      ['a', 'port-restricted', '198.51.100.2'],
      ['b', 'symmetric', '198.51.100.18'],
    ]);
    expect(status.servers.processes.map((p) => [p.alive, p.inLab])).toEqual([
      [true, true],
      [true, true],
    ]);
    expect(status.namespaces.every((ns) => ns.exists)).toBe(true);
    const [ra, rb] = status.routers;
    expect([ra!.namespace, rb!.namespace]).toEqual([`${PREFIX}${up.lab.id}-ra`, `${PREFIX}${up.lab.id}-rb`]);
    for (const [router, client, wan] of [[ra!, '198.51.100.2', '203.0.113.10'], [rb!, '198.51.100.18', '203.0.113.20']] as const) {
      expect(router.conntrack!.length).toBeGreaterThan(0);
      const toServer = router.mappings.filter((m) => m.direction === 'outbound' && m.remote === up.servers.stun);
      expect(toServer.length).toBeGreaterThan(0);
      for (const mapping of toServer) {
        expect(mapping.internal.startsWith(`${client}:`)).toBe(true);
        expect(mapping.external.startsWith(`${wan}:`)).toBe(true);
      }
    }
    // Endpoint-independent mapping keeps one external port per socket whatever the remote;
    // the symmetric NAT gives the same socket different external ports for different remotes.
    const externalsPerSocket = (mappings: LabStatusJson['routers'][number]['mappings']): number => {
      const bySocket = new Map<string, Set<string>>();
      for (const m of mappings.filter((mapping) => mapping.direction === 'outbound')) bySocket.set(m.internal, (bySocket.get(m.internal) ?? new Set()).add(m.external));
      return Math.max(...[...bySocket.values()].map((externals) => externals.size));
    };
    expect(externalsPerSocket(ra!.mappings)).toBe(1);
    expect(externalsPerSocket(rb!.mappings)).toBeGreaterThan(1);

    const text = await runCli(['lab', 'status', '--prefix', PREFIX]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`Router ${PREFIX}${up.lab.id}-ra (side a, port-restricted`);
    expect(text.stdout).toMatch(/PIDs\s+\d+ alive, \d+ alive/);
  });

  it('down stops the servers and leaves no namespace, process, nft table or state file; a second down is a no-op', async () => {
    const hostTables = (await runCommand('nft', ['list', 'tables'])).stdout;
    const run = await runCli(['lab', 'down', '--prefix', PREFIX, '--json']);
    expect(run.code).toBe(0);
    const down = JSON.parse(run.stdout) as LabDownJson;
    expect(down.processes.stopped.sort()).toEqual([...up.servers.pids].sort());
    expect(down.namespaces.sort()).toEqual([...up.lab.namespaces].sort());
    expect(down.files).toContain(up.stateFile);

    expect(prefixed(await listNamespaces())).toEqual([]);
    for (const pid of up.servers.pids) expect(pidAlive(pid)).toBe(false);
    expect(existsSync(up.stateFile)).toBe(false);
    expect(existsSync(`/run/nat-probe/${PREFIX}${up.lab.id}.turn-secret`)).toBe(false);
    // The lab's nft tables lived in its namespaces; the host's ruleset was never touched.
    expect((await runCommand('nft', ['list', 'tables'])).stdout).toBe(hostTables);
    expect(hostTables).not.toContain('natprobe');

    const again = await runCli(['lab', 'down', '--prefix', PREFIX]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('Nothing to remove');
  });

  it('after down, status and exec exit 2 and say to run lab up first', async () => {
    for (const args of [['lab', 'status', '--prefix', PREFIX], ['lab', 'exec', 'a', '--prefix', PREFIX, '--', 'true']]) {
      const run = await runCli(args);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/No lab with prefix "npca-" is running: run `nat-probe lab up --a TYPE --prefix npca-` first\. \[lab-not-running\]/);
    }
  });
});
