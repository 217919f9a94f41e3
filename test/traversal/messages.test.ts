import { describe, expect, it } from 'vitest';
import { behaviourPayload, parseTraversalPayload } from '../../src/traversal/messages.js';
import type { NatBehaviour } from '../../src/traversal/types.js';

const budget = { birthdaySockets: 256, birthdayBudget: 1024, allowRandomPair: false };
const behaviour: NatBehaviour = {
  mapping: 'address-and-port-dependent',
  filtering: 'address-and-port-dependent',
  allocation: 'random',
  publicAddress: '203.0.113.10',
  strategies: ['birthday', 'portmap'],
  portmap: { mapped: true, protocol: 'nat-pmp', address: '203.0.113.10', port: 40_001 },
};

describe('traversal payload: portmap', () => {
  it('sends the offer as its own field, never in strategies (an older peer would refuse the whole behaviour for an unknown name)', () => {
    const payload = behaviourPayload(behaviour, budget);
    if (payload.kind !== 'behaviour') throw new Error('not a behaviour');
    expect(payload.behaviour.strategies).toEqual(['birthday']);
    expect(payload.behaviour.portmap).toEqual({ mapped: true, protocol: 'nat-pmp', address: '203.0.113.10', port: 40_001 });
    // Round trip: the field means "offered", back in strategies for the plan.
    const parsed = parseTraversalPayload(JSON.parse(JSON.stringify(payload)));
    expect(parsed?.kind === 'behaviour' && parsed.behaviour.strategies).toEqual(['birthday', 'portmap']);
  });

  it('offers portmap without a mapping when it was asked for but not granted, and not at all when not asked', () => {
    const none = behaviourPayload({ ...behaviour, portmap: undefined }, budget);
    expect(none.kind === 'behaviour' && none.behaviour.portmap).toEqual({ mapped: false, reason: 'no mapping was asked for' });
    const off = behaviourPayload({ ...behaviour, strategies: ['birthday'], portmap: undefined }, budget);
    expect(off.kind === 'behaviour' && 'portmap' in off.behaviour).toBe(false);
  });

  it('refuses a mapping that is not an IPv4 address and port', () => {
    const payload = behaviourPayload(behaviour, budget) as { behaviour: Record<string, unknown> };
    for (const portmap of [
      { mapped: true, protocol: 'nat-pmp', address: 'gateway.example', port: 1 },
      { mapped: true, protocol: 'nat-pmp', address: '203.0.113.10', port: 0 },
      { mapped: true, protocol: 'upnp-magic', address: '203.0.113.10', port: 1 },
    ]) {
      expect(parseTraversalPayload({ ...payload, behaviour: { ...payload.behaviour, portmap } })).toBeUndefined();
    }
  });
});
