/**
 * The mDNS resolver's one real query (RFC 6762 §5.1 one-shot query, answered by unicast, §6.7),
 * run inside a network namespace this test creates (prefix np13a-, only loopback, with a route
 * for 224.0.0.0/4 on it) against a responder the test runs there. No mDNS query ever leaves on
 * the host's network. Needs root and iproute2: fails in CI without them, skips elsewhere.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addNamespace, deleteNamespace, ipBatch } from '../../src/lab/namespaces.js';
import { runCommand } from '../../src/lab/run-command.js';
import { labGate } from '../lab/helpers.js';

const NAMESPACE = `np13a-mdns-${randomBytes(3).toString('hex')}`;
const CHILD = fileURLToPath(new URL('./fixtures/mdns-netns-child.ts', import.meta.url));
const runNs = await labGate('mDNS resolver in a namespace');

describe.skipIf(!runNs)('resolveMdnsName inside a test namespace', () => {
  beforeAll(async () => {
    await addNamespace(NAMESPACE);
    await ipBatch(NAMESPACE, [
      ['link', 'set', 'lo', 'up'],
      ['link', 'set', 'lo', 'multicast', 'on'],
      ['route', 'add', '224.0.0.0/4', 'dev', 'lo'],
    ]);
  });

  afterAll(async () => {
    await deleteNamespace(NAMESPACE).catch(() => undefined);
  });

  it('resolves a name its responder answers, and gives up on one nobody answers after the bound', async () => {
    const { stdout } = await runCommand(
      'ip',
      ['netns', 'exec', NAMESPACE, process.execPath, '--import', 'tsx', CHILD, 'abc123.local', '192.168.7.9', 'abc123.local', 'nobody.local'],
      { timeoutMs: 20_000 },
    );
    const { results, queries } = JSON.parse(stdout.trim().split('\n').at(-1)!) as { results: Record<string, string[]>; queries: number };
    expect(results['abc123.local']).toEqual(['192.168.7.9']);
    expect(results['nobody.local']).toEqual([]);
    // One query for the answered name; the unanswered one was asked twice (once more at a third of the bound), no more.
    expect(queries).toBe(3);
  });
});
