import { describe, expect, it } from 'vitest';
import { birthdayProbability, decideTraversal, randomPairProbability, type PlanSide } from '../../src/traversal/plan.js';
import { EXTRA_STRATEGIES, type NatBehaviour, type PlanTechnique } from '../../src/traversal/types.js';

/** The lab's eight NAT types as the behaviour probe reports them (src/lab/expected.ts). */
const LAB: Record<string, Omit<NatBehaviour, 'strategies'>> = {
  none: { mapping: 'endpoint-independent', filtering: 'endpoint-independent', allocation: 'preserved' },
  firewall: { mapping: 'endpoint-independent', filtering: 'address-and-port-dependent', allocation: 'preserved' },
  'full-cone': { mapping: 'endpoint-independent', filtering: 'endpoint-independent', allocation: 'preserved' },
  restricted: { mapping: 'endpoint-independent', filtering: 'address-dependent', allocation: 'preserved' },
  'port-restricted': { mapping: 'endpoint-independent', filtering: 'address-and-port-dependent', allocation: 'preserved' },
  'addr-dependent': { mapping: 'address-dependent', filtering: 'address-and-port-dependent', allocation: 'random' },
  symmetric: { mapping: 'address-and-port-dependent', filtering: 'address-and-port-dependent', allocation: 'random' },
  'symmetric-sequential': { mapping: 'address-and-port-dependent', filtering: 'address-and-port-dependent', allocation: 'sequential', delta: 1 },
};

const side = (type: string, overrides: Partial<PlanSide['budget']> = {}): PlanSide => ({
  behaviour: { ...LAB[type]!, strategies: [...EXTRA_STRATEGIES], publicAddress: '203.0.113.10' },
  budget: { birthdaySockets: 256, birthdayBudget: 1024, allowRandomPair: false, ...overrides },
});

/** What the issue expects per cell: ice where hole punching works, the rescue where one exists, relay-only otherwise. */
function expectedTechnique(a: string, b: string): PlanTechnique {
  const ice = new Set(['none', 'full-cone']);
  const eim = (t: string): boolean => !['addr-dependent', 'symmetric', 'symmetric-sequential'].includes(t);
  if (ice.has(a) || ice.has(b)) return 'ice';
  if (eim(a) && eim(b)) return 'ice';
  const hard = (t: string): boolean => !eim(t);
  if (a === 'restricted' || b === 'restricted') return 'ice'; // ADF with EIM opens for any port of the peer's IP
  if (eim(a) || eim(b)) {
    const h = hard(a) ? a : b;
    return h === 'symmetric-sequential' ? 'predict' : 'birthday';
  }
  if (a === 'symmetric-sequential' && b === 'symmetric-sequential') return 'predict';
  return 'relay-only';
}

describe('decideTraversal: the decision table over the lab matrix', () => {
  const types = Object.keys(LAB);
  for (let i = 0; i < types.length; i++) {
    for (let j = i; j < types.length; j++) {
      const a = types[i]!;
      const b = types[j]!;
      it(`${a} ↔ ${b}`, () => {
        const fromA = decideTraversal(side(a), side(b));
        const fromB = decideTraversal(side(b), side(a));
        expect(fromA.technique).toBe(expectedTechnique(a, b));
        // Symmetric: both sides agree on the technique, with mirrored duties.
        expect(fromB.technique).toBe(fromA.technique);
        expect(fromB.localDuty).toBe(fromA.remoteDuty);
        expect(fromB.remoteDuty).toBe(fromA.localDuty);
      });
    }
  }

  it('gives the easy side the probing and the hard side the opening', () => {
    const plan = decideTraversal(side('port-restricted'), side('symmetric'));
    expect(plan).toMatchObject({ technique: 'birthday', localDuty: 'prober', remoteDuty: 'opener' });
    expect(plan.probability).toBeCloseTo(0.983, 3);
    expect(plan.reason).toMatch(/256 sockets against 1024 random probes/);
    expect(plan.reason).not.toMatch(/\d%/);
  });

  it('refuses random ↔ random with the computed probability unless both allow it', () => {
    const refused = decideTraversal(side('symmetric'), side('symmetric'));
    expect(refused.technique).toBe('relay-only');
    expect(refused.probability).toBeGreaterThan(0);
    expect(refused.probability).toBeLessThan(0.001);
    // Every report prints the probability beside the reason; the reason must not say it again.
    expect(refused.reason).not.toMatch(/\d%/);
    const oneAllows = decideTraversal(side('symmetric', { allowRandomPair: true }), side('symmetric'));
    expect(oneAllows.technique).toBe('relay-only');
    const both = decideTraversal(side('symmetric', { allowRandomPair: true }), side('symmetric', { allowRandomPair: true }));
    expect(both).toMatchObject({ technique: 'birthday', localDuty: 'both', remoteDuty: 'both' });
  });

  it('uses the hard side\'s sockets and the easy side\'s budget', () => {
    const plan = decideTraversal(side('firewall', { birthdayBudget: 2048 }), side('addr-dependent', { birthdaySockets: 64 }));
    expect(plan.probability).toBeCloseTo(birthdayProbability(64, 2048), 10);
  });

  it('runs a strategy only when both peers asked for it', () => {
    const onlyPredict = side('port-restricted');
    const plan = decideTraversal({ ...onlyPredict, behaviour: { ...onlyPredict.behaviour, strategies: ['predict'] } }, side('symmetric'));
    expect(plan.technique).toBe('ice');
    expect(plan.reason).toMatch(/birthday probing would apply, but both peers must ask for it/);
  });

  it('falls back to plain ICE when a behaviour is missing or unknown', () => {
    expect(decideTraversal(side('port-restricted'), undefined).technique).toBe('unknown');
    expect(decideTraversal(undefined, side('symmetric')).technique).toBe('unknown');
    const unknown = side('symmetric');
    expect(decideTraversal(side('port-restricted'), { ...unknown, behaviour: { ...unknown.behaviour, mapping: 'unknown' } }).technique).toBe('unknown');
  });
});

describe('probabilities', () => {
  it('matches the published birthday figures for k = 256 over 64,512 ports', () => {
    // Tailscale's "How NAT traversal works": 174 probes ≈ 50 %, 1024 ≈ 98 %, 2048 ≈ 99.9 % (N = 65,535 there).
    expect(birthdayProbability(256, 174, 65_535)).toBeCloseTo(0.5, 1);
    expect(birthdayProbability(256, 1024, 65_535)).toBeCloseTo(0.98, 2);
    expect(birthdayProbability(256, 2048, 65_535)).toBeGreaterThan(0.999);
    expect(birthdayProbability(0, 1024)).toBe(0);
    expect(birthdayProbability(70_000, 1)).toBe(1);
  });

  it('gives about 0.01 % for 256 × 2048 random ↔ random', () => {
    const p = randomPairProbability(256, 2048, 65_535);
    expect(p).toBeGreaterThan(0.0001);
    expect(p).toBeLessThan(0.00013);
  });
});

describe('decideTraversal: portmap', () => {
  const mapped = (type: string, address = '203.0.113.10', port = 40_001): PlanSide => {
    const s = side(type);
    return { ...s, behaviour: { ...s.behaviour, portmap: { mapped: true, protocol: 'nat-pmp', address, port } } };
  };
  const refused = (type: string, reason = 'NAT-PMP refused: 3 Network Failure'): PlanSide => {
    const s = side(type);
    return { ...s, behaviour: { ...s.behaviour, portmap: { mapped: false, reason } } };
  };

  it('rescues symmetric ↔ symmetric (relay-only otherwise) when one side is mapped on its outer NAT; both sides agree, mirrored', () => {
    expect(decideTraversal(side('symmetric'), side('symmetric')).technique).toBe('relay-only');
    const fromA = decideTraversal(mapped('symmetric'), refused('symmetric'));
    const fromB = decideTraversal(refused('symmetric'), mapped('symmetric'));
    expect(fromA).toMatchObject({ technique: 'portmap', localDuty: 'opener', remoteDuty: 'none' });
    expect(fromB).toMatchObject({ technique: 'portmap', localDuty: 'none', remoteDuty: 'opener' });
    expect(fromA.reason).toContain("this side's gateway mapped its ICE port to 203.0.113.10:40001");
    expect(fromB.reason).toContain("the other side's gateway mapped its ICE port to 203.0.113.10:40001");
  });

  it('both sides mapped: both open', () => {
    expect(decideTraversal(mapped('addr-dependent'), mapped('symmetric', '203.0.113.10', 50_000))).toMatchObject({ technique: 'portmap', localDuty: 'opener', remoteDuty: 'opener' });
  });

  it('comes before birthday and predict, which need probing', () => {
    expect(decideTraversal(side('port-restricted'), side('symmetric')).technique).toBe('birthday');
    expect(decideTraversal(side('port-restricted'), mapped('symmetric')).technique).toBe('portmap');
    expect(decideTraversal(mapped('symmetric-sequential'), side('port-restricted')).technique).toBe('portmap');
  });

  it('leaves a pair plain ICE connects alone: no mapping is used', () => {
    expect(decideTraversal(mapped('port-restricted'), mapped('port-restricted')).technique).toBe('ice');
  });

  it('double NAT: a mapping on the inner NAT (stated address is not the STUN one) does not help, and the plan says so', () => {
    const inner = mapped('symmetric', '100.64.0.2');
    const plan = decideTraversal(inner, refused('symmetric'));
    expect(plan.technique).toBe('relay-only');
    expect(plan.reason).toContain('portmap does not help: this side: double NAT: the gateway states 100.64.0.2 while the STUN server sees 203.0.113.10; a mapping on the inner NAT does not help');
    expect(plan.reason).toContain('the other: NAT-PMP refused: 3 Network Failure');
  });

  it('needs both peers to offer it: an older peer (no portmap field) gets the plan it had before', () => {
    const old = side('symmetric');
    const oldBehaviour = { ...old, behaviour: { ...old.behaviour, strategies: old.behaviour.strategies.filter((s) => s !== 'portmap') } };
    expect(decideTraversal(mapped('symmetric'), oldBehaviour).technique).toBe('relay-only');
    expect(decideTraversal(mapped('port-restricted'), { ...oldBehaviour, behaviour: { ...oldBehaviour.behaviour, ...LAB.symmetric } }).technique).toBe('birthday');
  });
});
