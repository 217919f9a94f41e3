/**
 * The pure and file-level parts behind `nat-probe lab`, without root: NAT mappings read from
 * conntrack tuples, nft set/map elements, the state files (secret mode 0600, prefix isolation),
 * the text views, and the readiness probe against a real STUN server on loopback.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { normalizeLabSpec, planLab, type Lab } from '../../src/lab/index.js';
import { mappingsFromConntrack } from '../../src/lab/overview.js';
import { parseProbeTarget, probe } from '../../src/lab/ready-probe.js';
import { readLabStates, readTurnSecret, removeLabFiles, requireLabState, writeLabState } from '../../src/lab/state.js';
import { nftSetEntries, parseConntrackLine, type ConntrackEntry } from '../../src/lab/status.js';
import type { LabServers } from '../../src/lab/servers.js';
import { labDownJson, labUpJson } from '../../src/report/lab-status-report.js';
import { labDownText, labUpText } from '../../src/report/lab-status-text.js';
import { startStunServer, type StunServer } from '../../src/server/index.js';

function entry(line: string): ConntrackEntry {
  const parsed = parseConntrackLine(line);
  if (parsed === undefined) throw new Error(`unparsable: ${line}`);
  return parsed;
}

describe('NAT mappings from conntrack', () => {
  it('reads an outbound masquerade, an inbound full-cone DNAT, and skips untranslated flows', () => {
    const mappings = mappingsFromConntrack([
      // Client → server through masquerade with a new port (symmetric): reply dst is the mapping.
      entry('udp 17 29 src=198.51.100.18 dst=203.0.113.1 sport=40792 dport=3478 src=203.0.113.1 dst=203.0.113.20 sport=3478 dport=51234 mark=0 use=1'),
      // Unsolicited from the alternate address, DNATed by the full-cone map to the client.
      entry('udp 17 28 src=203.0.113.2 dst=203.0.113.10 sport=3479 dport=36880 src=198.51.100.2 dst=203.0.113.2 sport=36880 dport=3479 mark=0 use=1'),
      // The router's own traffic, not translated.
      entry('udp 17 10 src=203.0.113.10 dst=203.0.113.1 sport=5000 dport=3478 [UNREPLIED] src=203.0.113.1 dst=203.0.113.10 sport=3478 dport=5000 mark=0 use=1'),
    ]);
    expect(mappings).toEqual([
      { protocol: 'udp', internal: '198.51.100.18:40792', external: '203.0.113.20:51234', remote: '203.0.113.1:3478', direction: 'outbound', timeoutSeconds: 29 },
      { protocol: 'udp', internal: '198.51.100.2:36880', external: '203.0.113.10:36880', remote: '203.0.113.2:3479', direction: 'inbound', timeoutSeconds: 28 },
    ]);
  });
});

describe('nft set and map elements', () => {
  it('formats the full-cone map and the restricted set as nft writes them', () => {
    // Shape of `nft -j list ruleset` on nftables 1.0.6 (captured from a lab router).
    const json = JSON.stringify({
      nftables: [
        { metainfo: { version: '1.0.6' } },
        { table: { family: 'ip', name: 'natprobe' } },
        { map: { family: 'ip', name: 'mappings', table: 'natprobe', elem: [[{ elem: { val: 33247, expires: 119 } }, { concat: ['198.51.100.18', 33247] }]] } },
        { set: { family: 'ip', name: 'contacted', table: 'natprobe', elem: [{ elem: { val: { concat: [43778, '203.0.113.1'] }, expires: 118 } }] } },
        { set: { family: 'ip', name: 'empty', table: 'natprobe' } },
      ],
    });
    expect(nftSetEntries(json)).toEqual([
      { table: 'natprobe', name: 'mappings', kind: 'map', entries: ['33247 (expires 119s) : 198.51.100.18 . 33247'] },
      { table: 'natprobe', name: 'contacted', kind: 'set', entries: ['43778 . 203.0.113.1 (expires 118s)'] },
      { table: 'natprobe', name: 'empty', kind: 'set', entries: [] },
    ]);
  });
});

function fakeLab(prefix: string, id: string): Lab {
  return planLab(normalizeLabSpec({ a: 'port-restricted', b: 'symmetric', prefix }), id).lab;
}

function fakeServers(secret: string | undefined): LabServers {
  return {
    stun: '203.0.113.1:3478',
    signal: 'ws://203.0.113.1:8478/',
    ...(secret === undefined ? {} : { turn: { url: 'turn:203.0.113.1:3480', secret, realm: 'nat-probe.lab' } }),
    pids: [101, 102],
    stop: async () => undefined,
  };
}

describe('lab state files', () => {
  const dirs: string[] = [];
  const scratch = (): string => {
    const dir = mkdtempSync(join(tmpdir(), 'npc-state-'));
    dirs.push(dir);
    return dir;
  };
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('round-trips the state, keeps the TURN secret in its own 0600 file, and finds labs by exact prefix', async () => {
    const dir = scratch();
    const secret = 'c2VjcmV0LW9mLXRoZS1sYWI';
    await writeLabState(fakeLab('np-', '0a1b2c3d'), fakeServers(secret), dir);
    await writeLabState(fakeLab('npc-', '11112222'), fakeServers(undefined), dir);

    const [state] = await readLabStates('np-', dir);
    expect(state!.lab.id).toBe('0a1b2c3d');
    expect(state!.servers.pids).toEqual([101, 102]);
    expect(state!.servers.turn).toEqual({ url: 'turn:203.0.113.1:3480', realm: 'nat-probe.lab', secretFile: join(dir, 'np-0a1b2c3d.turn-secret') });
    expect(statSync(state!.servers.turn!.secretFile).mode & 0o777).toBe(0o600);
    expect(await readTurnSecret(state!)).toBe(secret);
    expect(readFileSync(join(dir, 'np-0a1b2c3d.json'), 'utf8')).not.toContain(secret);
    // "np-" must not pick up the "npc-" lab, nor the reverse.
    expect((await readLabStates('np-', dir)).map((s) => s.lab.prefix)).toEqual(['np-']);
    expect((await readLabStates('npc-', dir)).map((s) => s.lab.id)).toEqual(['11112222']);
  });

  it('requireLabState says to run lab up first when there is none, and ignores corrupt or foreign files', async () => {
    const dir = scratch();
    writeFileSync(join(dir, 'np-deadbeef.json'), '{ not json');
    writeFileSync(join(dir, 'np-cafe0001.json'), JSON.stringify({ schema: 'something-else' }));
    await expect(requireLabState('np-', dir)).rejects.toMatchObject({ code: 'lab-not-running', message: expect.stringMatching(/run `nat-probe lab up --a TYPE` first/) });
    await expect(requireLabState('npq-', dir)).rejects.toThrow(/--prefix npq-/);
  });

  it('removeLabFiles removes every file of the prefix (state, secret, logs, pid, temporaries) and nothing else', async () => {
    const dir = scratch();
    await writeLabState(fakeLab('np-', '0a1b2c3d'), fakeServers('s3cret'), dir);
    for (const name of ['np-0a1b2c3d-serve.log', 'np-0a1b2c3d-turnserver.log', 'np-0a1b2c3d-turnserver.pid', 'np-0a1b2c3d.json.ab12cd34.tmp', 'npc-0a1b2c3d.json', 'np-notes.txt']) {
      writeFileSync(join(dir, name), '');
    }
    const removed = await removeLabFiles('np-', dir);
    expect(removed.map((file) => file.slice(dir.length + 1))).toEqual([
      'np-0a1b2c3d-serve.log',
      'np-0a1b2c3d-turnserver.log',
      'np-0a1b2c3d-turnserver.pid',
      'np-0a1b2c3d.json',
      'np-0a1b2c3d.json.ab12cd34.tmp',
      'np-0a1b2c3d.turn-secret',
    ]);
    expect(readdirSync(dir).sort()).toEqual(['np-notes.txt', 'npc-0a1b2c3d.json']);
    expect(await removeLabFiles('np-', dir)).toEqual([]);
  });

  it('the up and down views say where things are and how to go on, without the secret', async () => {
    const dir = scratch();
    const state = await writeLabState(fakeLab('npc-', '11112222'), fakeServers('s3cret-value'), dir);
    const text = labUpText(labUpJson(state, join(dir, 'npc-11112222.json'), 612.3));
    expect(text).toContain('Lab npc-11112222 is up in 0.61 s: a port-restricted, b symmetric.');
    expect(text).toContain('client npc-11112222-a 198.51.100.2 → port-restricted router npc-11112222-ra (wan 203.0.113.10)');
    expect(text).toContain('nat-probe lab exec a --prefix npc- -- nat-probe detect --server 203.0.113.1:3478');
    expect(text).toContain('nat-probe lab down --prefix npc-');
    expect(text).not.toContain('s3cret-value');
    expect(JSON.stringify(labUpJson(state, 'x', 1))).not.toContain('s3cret-value');

    expect(labDownText(labDownJson('np-', { stopped: [], alreadyGone: [], foreign: [], survivors: [] }, [], []))).toBe('Nothing to remove: no lab with prefix "np-".\n');
    expect(labDownText(labDownJson('np-', { stopped: [7], alreadyGone: [], foreign: [9], survivors: [] }, ['np-1-pub'], ['/run/nat-probe/np-1.json']))).toBe(
      'Stopped server processes: 7.\nLeft alone (no longer in a lab namespace, PID reused?): 9.\nRemoved namespaces: np-1-pub.\nRemoved files: /run/nat-probe/np-1.json.\n',
    );
  });
});

describe('readiness probe', () => {
  let server: StunServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('parses targets strictly', () => {
    expect(parseProbeTarget('allocate:203.0.113.1:3480')).toEqual({ kind: 'allocate', host: '203.0.113.1', port: 3480 });
    expect(() => parseProbeTarget('connect:203.0.113.1:3480')).toThrow(/expected binding\|allocate:IPv4:PORT/);
    expect(() => parseProbeTarget('binding:host:1')).toThrow();
  });

  it('reports a STUN server that answers, and null for a port where nothing does', async () => {
    server = await startStunServer({ primary: '127.0.0.1', port: 0 });
    const port = server.addresses.primary.port;
    // nat-probe's server is no TURN server: it drops an Allocate unanswered, so that is "not ready".
    const answers = await probe([parseProbeTarget(`binding:127.0.0.1:${port}`), parseProbeTarget(`allocate:127.0.0.1:${port}`), parseProbeTarget('binding:127.0.0.1:9')], 300);
    expect(answers[0]).toEqual({ target: `binding:127.0.0.1:${port}`, class: 'successResponse', errorCode: undefined });
    expect(answers[1]).toBeNull();
    expect(answers[2]).toBeNull();
  });
});
