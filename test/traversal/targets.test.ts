import { describe, expect, it } from 'vitest';
import { predictedPorts, RandomPortSequence } from '../../src/traversal/targets.js';
import { parseTraversalPayload } from '../../src/traversal/messages.js';
import { parseStrategyList } from '../../src/traversal/types.js';

describe('predictedPorts', () => {
  it('counts δ steps after the base and drops ports outside 1–65535', () => {
    expect(predictedPorts(40_000, 1, 3)).toEqual([40_001, 40_002, 40_003]);
    expect(predictedPorts(1000, -2, 2)).toEqual([998, 996]);
    expect(predictedPorts(65_534, 1, 3)).toEqual([65_535]);
  });
});

describe('RandomPortSequence', () => {
  it('never repeats a port, stays in range and skips the excluded ones', () => {
    let seed = 1;
    const random = (): number => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
    const sequence = new RandomPortSequence(random, 5000, 5009, [5003, 7000]);
    const drawn: number[] = [];
    for (let port = sequence.next(); port !== undefined; port = sequence.next()) drawn.push(port);
    expect(drawn).toHaveLength(9);
    expect(new Set(drawn).size).toBe(9);
    expect(drawn).not.toContain(5003);
    expect(drawn.every((p) => p >= 5000 && p <= 5009)).toBe(true);
    expect(sequence.next()).toBeUndefined();
  });
});

describe('traversal payloads', () => {
  const behaviour = {
    v: 1,
    kind: 'behaviour',
    behaviour: { mapping: 'endpoint-independent', filtering: 'address-dependent', allocation: 'preserved', strategies: ['birthday'] },
    budget: { birthdaySockets: 256, birthdayBudget: 1024, allowRandomPair: false, probeRatePerSecond: 200 },
  };

  it('parses a behaviour and a predict base', () => {
    expect(parseTraversalPayload(behaviour)?.kind).toBe('behaviour');
    expect(parseTraversalPayload({ v: 1, kind: 'predict-base', round: 1, port: 40_001, delta: 1 })?.kind).toBe('predict-base');
    expect(parseTraversalPayload({ ...behaviour, relays: true })).toMatchObject({ relays: true });
  });

  it('refuses what it does not understand, whole', () => {
    expect(parseTraversalPayload({ ...behaviour, v: 2 })).toBeUndefined();
    expect(parseTraversalPayload({ v: 1, kind: 'predict-base', round: 1, port: 70_000, delta: 1 })).toBeUndefined();
    expect(parseTraversalPayload({ ...behaviour, budget: { ...behaviour.budget, birthdaySockets: 100_000 } })).toBeUndefined();
    expect(parseTraversalPayload({ ...behaviour, behaviour: { ...behaviour.behaviour, strategies: ['portscan'] } })).toBeUndefined();
    expect(parseTraversalPayload('behaviour')).toBeUndefined();
    expect(parseTraversalPayload({ ...behaviour, relays: 'yes' })).toBeUndefined();
  });
});

describe('parseStrategyList', () => {
  it('expands all, ignores ice, keeps a stable order', () => {
    expect(parseStrategyList('all')).toEqual(['predict', 'birthday', 'relay-ladder', 'portmap']);
    expect(parseStrategyList('ice')).toEqual([]);
    expect(parseStrategyList('birthday, predict,ice')).toEqual(['predict', 'birthday']);
  });

  it('names the bad value', () => {
    expect(() => parseStrategyList('predict,stun-spray')).toThrow(/Unknown strategy "stun-spray"/);
  });
});
