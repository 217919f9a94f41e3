/**
 * Traversal strategies through real kernel NAT: `nat-probe serve` in the public namespace, one
 * peer session per client namespace (test/lab/fixtures/strategy-peer.mts). The cells are those
 * plain ICE cannot connect (test/lab/traversal.test.ts proves that side):
 *   port-restricted ↔ symmetric          rescued by birthday probing;
 *   symmetric-sequential ↔ port-restricted rescued by port prediction (one side predicts);
 *   symmetric-sequential ↔ symmetric-sequential rescued by prediction on both sides;
 *   symmetric ↔ symmetric                refused as relay-only, with the probability, and fails.
 * Every found path must be an ICE path (prflx, nominated), and no strategy socket may be left open.
 */
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { buildLab, destroyAllLabs, destroyLab, execInNamespace, type Lab, type NatType } from '../../src/lab/index.js';
import type { TraversalReport } from '../../src/traversal/types.js';
import { firstLine, spawnCli, stopProcess } from '../helpers/cli.js';
import { labGate } from './helpers.js';

const PREFIX = 'npst-';
const PEER = fileURLToPath(new URL('./fixtures/strategy-peer.mts', import.meta.url));
const runLab = await labGate('lab strategies suite');

interface PeerOutcome {
  state: 'connected' | 'failed';
  outcome: string;
  failureDetails: string[];
  selected: string | null;
  traversal: TraversalReport;
  udpHandlesOpen: number;
}

describe.skipIf(!runLab)('traversal strategies through real kernel NAT', () => {
  const labs: Lab[] = [];
  const servers: ChildProcess[] = [];

  afterAll(async () => {
    await Promise.all(servers.map((server) => stopProcess(server)));
    await Promise.all(labs.map((lab) => destroyLab(lab)));
    await destroyAllLabs(PREFIX);
  });

  /**
   * `budget`: birthday probes. The default 1024 finds a path with P ≈ 98.3 %; the test gives 4096
   * (P ≈ 1 − 10⁻⁷) so that it checks the mechanism, not its luck. `timeoutMs` bounds each session:
   * the cells that must fail get a short one.
   */
  async function scenario(a: NatType, b: NatType, strategies = 'predict,birthday', timeoutMs = 15_000, budget = 4096): Promise<[PeerOutcome, PeerOutcome]> {
    const lab = await buildLab({ a, b, prefix: PREFIX });
    labs.push(lab);
    const child = spawnCli(['serve', '--primary', lab.public.primaryAddress, '--alternate', lab.public.alternateAddress, '--port', '3478', '--signal-port', '8478', '--json'], {
      namespace: lab.public.namespace,
    });
    servers.push(child);
    const announced = JSON.parse(await firstLine(child)) as { stun: { primary: string }; signaling: { url: string } };
    const args = [process.execPath, '--import', 'tsx', PEER, announced.signaling.url, `${a}-${b}`, announced.stun.primary, strategies, String(budget), String(timeoutMs)];
    const runs = await Promise.all(
      [lab.a, lab.b!].map((side) => execInNamespace(side.client.namespace, args[0]!, args.slice(1), { timeoutMs: 30_000 })),
    );
    return runs.map((run) => JSON.parse(run.stdout.trim().split('\n').at(-1)!) as PeerOutcome) as [PeerOutcome, PeerOutcome];
  }

  function expectRescued(outcomes: PeerOutcome[], technique: 'predict' | 'birthday'): void {
    for (const outcome of outcomes) {
      expect(outcome.state, JSON.stringify(outcome.traversal)).toBe('connected');
      expect(outcome.traversal.plan.technique).toBe(technique);
      expect(outcome.traversal.winner).toBe(technique);
      // The path is a peer-reflexive ICE path on at least one end.
      expect(outcome.selected).toMatch(/prflx/);
      expect(outcome.udpHandlesOpen).toBe(0);
    }
    expect(outcomes.some((o) => o.traversal.attempts.some((a) => a.hit))).toBe(true);
  }

  it('port-restricted ↔ symmetric: birthday probing opens a path', async () => {
    const outcomes = await scenario('port-restricted', 'symmetric');
    expectRescued(outcomes, 'birthday');
    const [easy, hard] = outcomes;
    expect(easy!.traversal.plan.localDuty).toBe('prober');
    expect(hard!.traversal.plan.localDuty).toBe('opener');
    // All 256 unless a probe got through (and the session ended) while they were still opening.
    const opened = hard!.traversal.attempts[0]!.socketsOpened;
    expect(opened).toBeGreaterThan(0);
    expect(opened).toBeLessThanOrEqual(256);
    const prober = easy!.traversal.attempts[0]!;
    expect(prober.probesSent).toBeGreaterThan(0);
    expect(prober.probesSent).toBeLessThanOrEqual(4096);
  }, 60_000);

  it('symmetric-sequential ↔ port-restricted: the easy side predicts the next port', async () => {
    const outcomes = await scenario('symmetric-sequential', 'port-restricted');
    expectRescued(outcomes, 'predict');
    expect(outcomes[0]!.traversal.localBehaviour).toMatchObject({ allocation: 'sequential', delta: 1 });
    expect(outcomes[1]!.traversal.attempts[0]!.probesSent).toBeLessThanOrEqual(100);
  }, 60_000);

  it('symmetric-sequential ↔ symmetric-sequential: both sides predict', async () => {
    const outcomes = await scenario('symmetric-sequential', 'symmetric-sequential');
    expectRescued(outcomes, 'predict');
    for (const outcome of outcomes) expect(outcome.traversal.plan.localDuty).toBe('both');
  }, 60_000);

  it('symmetric ↔ symmetric is refused as relay-only, with the probability, sends no probe, and gives up on direct checks', async () => {
    // The session timeout is far beyond the abandon grace, so a run that ends 'failed' (not
    // 'timeout') with the plan named in its pairs was ended by the plan, not by the clock.
    const outcomes = await scenario('symmetric', 'symmetric', 'predict,birthday', 20_000);
    for (const outcome of outcomes) {
      expect(outcome.state).toBe('failed');
      expect(outcome.outcome).toBe('failed');
      expect(outcome.failureDetails.join('\n')).toMatch(/run abandoned while the check was in progress: the traversal plan is relay-only/);
      expect(outcome.traversal.plan.technique).toBe('relay-only');
      expect(outcome.traversal.plan.probability).toBeLessThan(0.001);
      expect(outcome.traversal.plan.reason).toMatch(/only a relay reaches this pair/);
      expect(outcome.traversal.attempts).toEqual([]);
      expect(outcome.udpHandlesOpen).toBe(0);
    }
  }, 60_000);

  it('without the strategy asked for on both sides, a hard cell stays plain ICE and fails', async () => {
    const outcomes = await scenario('port-restricted', 'symmetric', 'predict', 4_000);
    for (const outcome of outcomes) {
      expect(outcome.state).toBe('failed');
      expect(outcome.traversal.plan.technique).toBe('ice');
      expect(outcome.traversal.attempts).toEqual([]);
    }
  }, 60_000);
});
