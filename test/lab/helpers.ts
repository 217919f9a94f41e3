/**
 * Shared pieces of the lab suites: the root/tools gate, coturn as the reference STUN server in the
 * public namespace, and the udp-peer fixture run inside client namespaces.
 */
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { execInNamespace, labAvailable, spawnInNamespace, type Lab, type LabSide } from '../../src/lab/index.js';
import type { FilteringBehaviour, MappingBehaviour } from '../../src/lab/index.js';

export const FIXTURE = fileURLToPath(new URL('./fixtures/udp-peer.mjs', import.meta.url));
export const STUN_PORT = 3478;

/**
 * true when the lab can run. Otherwise: throws under CI=true (a missing lab must fail CI, not
 * pass it silently), and prints why it skips elsewhere.
 */
export async function labGate(suite: string, tools: readonly string[] = []): Promise<boolean> {
  const availability = await labAvailable({ tools });
  if (availability.ok) return true;
  if (process.env.CI === 'true') throw new Error(`${suite}: the NAT lab cannot run in CI (${availability.code}): ${availability.reason}`);
  process.stderr.write(`skipping ${suite}: ${availability.reason}\n`);
  return false;
}

/**
 * coturn in the public namespace on both server addresses, ports 3478/3479 (RFC 5780 needs the
 * pair; `-n` ignores Debian's config, which disables RFC 5780 — see LAB-NOTES). Resolves once all
 * four UDP sockets are bound (coturn logs nothing when they are).
 */
export async function startCoturn(lab: Lab, pidFile: string): Promise<ChildProcess> {
  const { namespace, primaryAddress, alternateAddress } = lab.public;
  const child = spawnInNamespace(
    namespace,
    'turnserver',
    ['-n', '-L', primaryAddress, '-L', alternateAddress, '-p', String(STUN_PORT), '--stun-only', '--no-tls', '--no-dtls', '--no-cli', '--pidfile', pidFile],
    { stdio: 'ignore' },
  );
  const wanted = [primaryAddress, alternateAddress].flatMap((address) => [`${address}:${STUN_PORT}`, `${address}:${STUN_PORT + 1}`]);
  // Ready when all four sockets answer a Binding request: the fixture retransmits each request
  // (every 100 ms, up to 1 s) and exits, so the test awaits an event, never a sleep.
  for (let attempt = 1; ; attempt++) {
    if (child.exitCode !== null) throw new Error(`turnserver exited with ${child.exitCode}`);
    const { stdout } = await execInNamespace(namespace, process.execPath, [FIXTURE, 'probe', ...wanted], { timeoutMs: 10_000 });
    const { mapped } = JSON.parse(stdout.trim().split('\n').at(-1)!) as { mapped: (string | null)[] };
    if (mapped.every((m) => m !== null)) return child;
    if (attempt === 3) throw new Error(`coturn in ${namespace} did not answer on ${wanted.filter((_, i) => mapped[i] === null).join(', ')}`);
  }
}

/** Runs the fixture to completion in the side's client namespace and returns its last JSON line. */
export async function runFixture<T>(side: LabSide, args: readonly string[], timeoutMs = 10_000): Promise<T> {
  const { stdout } = await execInNamespace(side.client.namespace, process.execPath, [FIXTURE, ...args], { timeoutMs });
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as T;
}

export function primaryServer(lab: Lab, port = STUN_PORT): string {
  return `${lab.public.primaryAddress}:${port}`;
}

export interface DiscoveryVerdict {
  mapping: MappingBehaviour | undefined;
  filtering: FilteringBehaviour | undefined;
  output: string;
}

const BEHAVIOUR_WORDS: Record<string, MappingBehaviour> = {
  'Endpoint Independent': 'endpoint-independent',
  'Address Dependent': 'address-dependent',
  'Address and Port Dependent': 'address-and-port-dependent',
};

/** coturn's RFC 5780 client: `turnutils_natdiscovery -m -f SERVER`, parsed ("NAT with … Mapping!"). */
export async function natDiscovery(lab: Lab, side: LabSide): Promise<DiscoveryVerdict> {
  const { stdout } = await execInNamespace(side.client.namespace, 'turnutils_natdiscovery', ['-m', '-f', lab.public.primaryAddress], { timeoutMs: 20_000 });
  const mapping = /NAT with (.+?) Mapping!/.exec(stdout)?.[1];
  const filtering = /NAT with (.+?) Filtering!/.exec(stdout)?.[1];
  return {
    mapping: mapping === undefined ? undefined : BEHAVIOUR_WORDS[mapping],
    filtering: filtering === undefined ? undefined : BEHAVIOUR_WORDS[filtering],
    output: stdout,
  };
}

export interface PunchResult {
  received: boolean;
  acked: boolean;
  from: string[];
}

/** Reads newline-delimited JSON from a child's stdout, one awaited line at a time, each bounded. */
function lineReader(child: ChildProcess): (timeoutMs: number) => Promise<unknown> {
  const queue: string[] = [];
  const waiters: ((line: string | undefined) => void)[] = [];
  let closed = false;
  const lines = createInterface({ input: child.stdout! });
  lines.on('line', (line) => {
    const waiter = waiters.shift();
    if (waiter) waiter(line);
    else queue.push(line);
  });
  lines.on('close', () => {
    closed = true;
    for (const waiter of waiters.splice(0)) waiter(undefined);
  });
  return (timeoutMs) =>
    new Promise((resolve, reject) => {
      const next = queue.shift();
      if (next !== undefined) return resolve(JSON.parse(next));
      if (closed) return reject(new Error('fixture exited before printing the expected line'));
      const timer = setTimeout(() => reject(new Error('fixture did not answer in time')), timeoutMs);
      waiters.push((line) => {
        clearTimeout(timer);
        if (line === undefined) reject(new Error('fixture exited before printing the expected line'));
        else resolve(JSON.parse(line));
      });
    });
}

/**
 * Hole punching between the lab's two clients: each learns its mapped address from the STUN
 * server, the test hands each the other's, both punch for `durationMs`. Direct UDP works when
 * both sides received something from the other.
 */
export async function holePunch(lab: Lab, durationMs: number): Promise<{ direct: boolean; a: PunchResult; b: PunchResult }> {
  const sides = [lab.a, lab.b!];
  const children = sides.map((side) =>
    spawnInNamespace(side.client.namespace, process.execPath, [FIXTURE, 'punch', primaryServer(lab), String(durationMs)], { stdio: ['pipe', 'pipe', 'inherit'] }),
  );
  const readers = children.map(lineReader);
  const mapped = (await Promise.all(readers.map((read) => read(5000)))) as { mapped: string | null }[];
  children[0]!.stdin!.write(`${JSON.stringify({ peer: mapped[1]!.mapped })}\n`);
  children[1]!.stdin!.write(`${JSON.stringify({ peer: mapped[0]!.mapped })}\n`);
  const [a, b] = (await Promise.all(readers.map((read) => read(durationMs + 5000)))) as PunchResult[];
  return { direct: a!.received && b!.received, a: a!, b: b! };
}
