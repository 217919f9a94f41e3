/**
 * The lab router's port-mapping service: miniupnpd (UPnP IGD, NAT-PMP and PCP; Debian
 * `miniupnpd` 2.3.1, nftables backend) in a side's router namespace, listening on the LAN and
 * naming the WAN as its external interface, so `detect` and the `portmap` traversal strategy in
 * the client namespace have a real gateway to ask. Everything stays inside the lab's namespaces.
 *
 * What miniupnpd 2.3.1 does in this lab (measured). It refuses to map on an external address
 * that is private, shared (100.64/10) or reserved, and the lab's public segment is documentation
 * space (203.0.113.0/24), which it counts as reserved ("Port forwarding is impossible", NAT-PMP
 * result 3; `ext_ip=` is refused for such addresses too). So it runs its STUN test
 * (`ext_perform_stun`, four Binding requests to the lab's RFC 5780 server, three with
 * CHANGE-REQUEST) at start-up:
 *   - on a router whose WAN is on the public bridge, its port is kept (the router does not
 *     translate its own traffic) and all four answers arrive (nat-rules.ts lets answers to the
 *     router's own sockets in): "behind unrestricted full-cone NAT 1:1", "Port forwarding is now
 *     enabled"; it states 203.0.113.10 and grants mappings. Fast: every answer comes at once.
 *   - on a router behind the CGN (WAN 100.64.0.2), the CGN filters the CHANGE-REQUEST answers:
 *     "behind restrictive or symmetric NAT … which does not support port forwarding", "Port
 *     forwarding is now disabled"; mapping requests get NAT-PMP result 3 — a mapping on the inner
 *     NAT would not help. It still *states* the address STUN gave it (the CGN's 203.0.113.10),
 *     so the stated address alone no longer shows the double NAT. Slow: three 3 s waits for the
 *     missing answers (≈ 9 s), which the readiness bound allows for.
 * miniupnpd exits when the STUN server does not answer at all ("Performing STUN failed.
 * EXITING"), so servers.ts starts it only after serve is up.
 */
import { randomUUID } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { LabServerError } from './errors.js';
import { spawnInNamespace } from './exec.js';
import { loadNftRuleset } from './namespaces.js';
import { LAB_STUN_PORT, SERVER_PRIMARY_ADDRESS, type LabSide } from './topology.js';

/** miniupnpd's HTTP port for the device description and SOAP control (UPnP needs a fixed one to print). */
export const LAB_UPNP_HTTP_PORT = 2189;

export interface LabPortMapper {
  side: LabSide['name'];
  namespace: string;
  pid: number;
  configFile: string;
  logFile: string;
  /**
   * What miniupnpd's STUN test concluded at start-up: 'enabled' (it grants mappings), 'disabled'
   * (an upstream NAT filters, as behind the CGN), 'unknown' (neither line was logged).
   */
  forwarding: 'enabled' | 'disabled' | 'unknown';
  /** SIGTERM, then SIGKILL after a bounded grace. Idempotent. */
  stop(): Promise<void>;
}

/** The miniupnpd.conf for one router: LAN listens, WAN is external, mappings only for the LAN. */
export function miniupnpdConfig(side: LabSide): string {
  const router = side.router;
  if (!router) throw new Error(`side ${side.name} has no NAT router to run miniupnpd in`);
  return [
    `ext_ifname=${router.wanInterface}`,
    `listening_ip=${router.lanInterface}`,
    `http_port=${LAB_UPNP_HTTP_PORT}`,
    'enable_natpmp=yes',
    'enable_upnp=yes',
    // secure_mode: a client may map only to its own address (the default of real routers).
    'secure_mode=yes',
    'system_uptime=yes',
    // The WAN address is documentation space (203.0.113.0/24), which miniupnpd counts as
    // reserved and would refuse to map on. With STUN it learns its public address from the lab's
    // RFC 5780 server and, finding itself "behind unrestricted full-cone NAT 1:1" (its port kept,
    // CHANGE-REQUEST answers let in: nat-rules.ts), grants mappings. Behind a CGN the same test
    // finds a restrictive upstream NAT and forwarding stays off, as on a real double NAT.
    'ext_perform_stun=yes',
    `ext_stun_host=${SERVER_PRIMARY_ADDRESS}`,
    `ext_stun_port=${LAB_STUN_PORT}`,
    `uuid=${randomUUID()}`,
    `friendly_name=nat-probe lab router ${side.name}`,
    // Where miniupnpd puts the rules of the mappings it grants (MINIUPNPD_NFT_RULESET below).
    'upnp_table_name=miniupnpd',
    'upnp_nat_table_name=miniupnpd',
    'upnp_forward_chain=forward_miniupnpd',
    'upnp_nat_chain=prerouting_miniupnpd',
    'upnp_nat_postrouting_chain=postrouting_miniupnpd',
    // The lab is torn down after every test; no lease file to survive it.
    `allow 1024-65535 ${side.client.address}/32 1024-65535`,
    'deny 0-65535 0.0.0.0/0 0-65535',
    '',
  ].join('\n');
}

/**
 * The nftables skeleton miniupnpd adds its rules to (what Debian's nft_init.sh creates, but with
 * an accepting forward policy: the lab router's own ruleset does the filtering). Without it every
 * mapping request fails ("Failed to add NAT-PMP …").
 */
export const MINIUPNPD_NFT_RULESET = `table inet miniupnpd {
  chain forward {
    type filter hook forward priority 0; policy accept;
    jump forward_miniupnpd
  }
  chain forward_miniupnpd {
  }
  chain prerouting {
    type nat hook prerouting priority -100; policy accept;
    jump prerouting_miniupnpd
  }
  chain prerouting_miniupnpd {
  }
  chain postrouting {
    type nat hook postrouting priority 100; policy accept;
    jump postrouting_miniupnpd
  }
  chain postrouting_miniupnpd {
  }
}
`;

/** miniupnpd logs these after its STUN test (which comes first), so they also mean the test is over. */
const READY_LINES = ['HTTP listening on port', 'Listening for NAT-PMP/PCP traffic'];

/**
 * The STUN test waits up to 3 s for each of its four answers in turn; behind a filtering NAT
 * (the CGN) three never come: ≈ 9 s, measured 9.3 s. Added to the caller's bound.
 */
export const MINIUPNPD_STUN_TEST_MS = 12_000;

/**
 * Starts miniupnpd in `side`'s router namespace and resolves once its STUN test is over and it
 * listens for HTTP and NAT-PMP/PCP (its own log lines, within `readyWithinMs` plus the STUN
 * test's own bound). The lab's STUN server must already answer. `detached` leaves it running after
 * this process exits (for `lab up`; `lab down` signals its PID).
 */
export async function startPortMapper(
  side: LabSide,
  options: { dir: string; base: string; detached?: boolean; readyWithinMs?: number },
): Promise<LabPortMapper> {
  const router = side.router;
  if (!router) throw new LabServerError('miniupnpd', `Side ${side.name} (${side.natType}) has no NAT router, so there is no gateway to run miniupnpd in; --portmap needs a translating type.`);
  mkdirSync(options.dir, { recursive: true, mode: 0o700 });
  const configFile = join(options.dir, `${options.base}-${side.name}-miniupnpd.conf`);
  const logFile = join(options.dir, `${options.base}-${side.name}-miniupnpd.log`);
  writeFileSync(configFile, miniupnpdConfig(side), { mode: 0o600 });
  await loadNftRuleset(router.namespace, MINIUPNPD_NFT_RULESET);
  const fd = openSync(logFile, 'w', 0o600);
  let child: ChildProcess;
  try {
    // -d: stay in the foreground and log to stderr; -4: IPv4 only (the lab has no IPv6); -P: a
    // pid file of its own (the default /var/run/miniupnpd.pid is shared by every instance).
    child = spawnInNamespace(router.namespace, 'miniupnpd', ['-f', configFile, '-d', '-4', '-P', join(options.dir, `${options.base}-${side.name}-miniupnpd.pid`)], {
      stdio: ['ignore', fd, fd],
      detached: options.detached ?? false,
    });
  } finally {
    closeSync(fd);
  }
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.ref();
      child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const gone = await Promise.race([exited.then(() => true), new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), 2000)))]);
      clearTimeout(timer);
      if (!gone) child.kill('SIGKILL');
    })();
    return stopping;
  };
  const bound = (options.readyWithinMs ?? 10_000) + MINIUPNPD_STUN_TEST_MS;
  const started = Date.now();
  // miniupnpd signals readiness only in its log; the file is read until both lines are there,
  // it exits, or the bound passes.
  for (;;) {
    const log = safeRead(logFile);
    if (READY_LINES.every((line) => log.includes(line))) break;
    if (child.exitCode !== null || child.signalCode !== null || Date.now() - started > bound) {
      await stop();
      throw new LabServerError('miniupnpd', `miniupnpd in ${router.namespace} did not come up within ${bound} ms. Last output: ${log.trim().split('\n').slice(-4).join(' | ')}`);
    }
    await new Promise<void>((resolve) => setTimeout(resolve, 20));
  }
  if (options.detached) child.unref();
  return { side: side.name, namespace: router.namespace, pid: child.pid!, configFile, logFile, forwarding: forwardingState(safeRead(logFile)), stop };
}

/** miniupnpd's verdict on its STUN test, from its log. */
export function forwardingState(log: string): LabPortMapper['forwarding'] {
  if (log.includes('Port forwarding is now enabled')) return 'enabled';
  if (log.includes('Port forwarding is now disabled') || log.includes('Port forwarding is impossible')) return 'disabled';
  return 'unknown';
}

function safeRead(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
