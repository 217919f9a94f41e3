/**
 * `detect --embedded` (and a loopback-only `detect`) must send nothing but loopback traffic: no
 * gateway probe, no multicast, no DNS. The test builds its own namespace with `lo`, a veth and a
 * default route through it (so a stray probe to "the gateway" or to 239.255.255.250 would have
 * somewhere to go), counts every UDP/TCP packet leaving or entering by the veth with an nftables
 * counter, and expects 0. A control datagram sent to the gateway first proves the counter counts.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execInNamespace } from '../../src/lab/index.js';
import { addNamespaces, deleteNamespace, ipBatch, loadNftRuleset, setSysctls } from '../../src/lab/namespaces.js';
import { assertBuilt, runCli } from '../helpers/cli.js';
import { labGate } from './helpers.js';

const runLab = await labGate('embedded-sends-only-loopback suite');
const id = randomBytes(3).toString('hex');
const HOST = `np11e-${id}-h`;
const GATEWAY = `np11e-${id}-g`;

async function crossed(): Promise<number> {
  const { stdout } = await execInNamespace(HOST, 'nft', ['list', 'counter', 'inet', 'np11e', 'veth']);
  return Number(/packets (\d+)/.exec(stdout)?.[1] ?? NaN);
}

describe.skipIf(!runLab)('detect --embedded stays on loopback', () => {
  beforeAll(async () => {
    assertBuilt();
    await addNamespaces([HOST, GATEWAY]);
    await Promise.all([setSysctls(HOST, ['net.ipv6.conf.all.disable_ipv6=1']), setSysctls(GATEWAY, ['net.ipv6.conf.all.disable_ipv6=1'])]);
    await ipBatch(GATEWAY, [['link', 'add', 'lan', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', HOST]]);
    await ipBatch(GATEWAY, [['link', 'set', 'lo', 'up'], ['addr', 'add', '198.51.100.1/28', 'dev', 'lan'], ['link', 'set', 'lan', 'up']]);
    await ipBatch(HOST, [['link', 'set', 'lo', 'up'], ['addr', 'add', '198.51.100.2/28', 'dev', 'eth0'], ['link', 'set', 'eth0', 'up'], ['route', 'add', 'default', 'via', '198.51.100.1']]);
    await loadNftRuleset(
      HOST,
      `table inet np11e {
  counter veth { }
  chain out {
    type filter hook output priority 0;
    oifname "eth0" meta l4proto { udp, tcp } counter name "veth"
  }
  chain in {
    type filter hook input priority 0;
    iifname "eth0" meta l4proto { udp, tcp } counter name "veth"
  }
}
`,
    );
  }, 30_000);

  afterAll(async () => {
    await deleteNamespace(HOST).catch(() => undefined);
    await deleteNamespace(GATEWAY).catch(() => undefined);
  });

  it('counts a datagram to the gateway (the control), then nothing from detect --embedded', async () => {
    // Control: one UDP datagram to the gateway's NAT-PMP port crosses the veth.
    await execInNamespace(HOST, process.execPath, ['-e', "const s=require('dgram').createSocket('udp4');s.send(Buffer.of(0,0),5351,'198.51.100.1',()=>s.close())"]);
    const afterControl = await crossed();
    expect(afterControl).toBe(1);

    const run = await runCli(['detect', '--embedded', '--json'], { namespace: HOST });
    expect(run.code, run.stderr).toBe(0);
    // The packet count is the claim; the report's own account of it comes second.
    expect(await crossed()).toBe(afterControl);
    const report = JSON.parse(run.stdout) as { results: Array<{ verdict: { classicName: string } }>; portMapping: { status: string } };
    expect(report.results[0]!.verdict.classicName).toBe('open-internet');
    expect(report.portMapping.status).toBe('skipped');

    // The same for a loopback-only --server list, with no flag turning the gateway probe off.
    const loopback = await runCli(['detect', '--server', '127.0.0.1:9', '--timeout', '400', '--json'], { namespace: HOST });
    expect(loopback.code, loopback.stderr).toBe(1);
    expect(JSON.parse(loopback.stdout).portMapping).toEqual({ status: 'skipped', because: 'every server is a loopback address' });
    expect(await crossed()).toBe(afterControl);
  });
});
