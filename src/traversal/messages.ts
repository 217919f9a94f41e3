/**
 * The payload of the signaling `traversal` message (src/signaling/PROTOCOL.md). Version 1 has two
 * kinds:
 *   - `behaviour`: this side's NAT behaviour and the budget it brings (sent once, after its probe);
 *   - `predict-base`: the external port of a fresh prediction socket, just measured, from which
 *     the other side counts the next ports (sent once per prediction round).
 * Parsed strictly here (the server only checks that it is a bounded JSON object), so a hostile
 * or newer peer's payload is refused as a whole rather than half-read.
 *
 * portmap travels as its own optional `behaviour.portmap` field (the mapping, or why there is
 * none), never in `strategies`: an older peer's schema would refuse the whole behaviour for an
 * unknown strategy name, and so lose predict and birthday too; an unknown field it ignores.
 * Offering portmap = sending the field.
 */
import { z } from 'zod';
import { EXTRA_STRATEGIES, type ExtraStrategy, type NatBehaviour } from './types.js';
import type { PlanBudget } from './plan.js';

const Port = z.number().int().min(1).max(65_535);

const Behaviour = z.object({
  mapping: z.enum(['endpoint-independent', 'address-dependent', 'address-and-port-dependent', 'endpoint-dependent', 'unknown']),
  filtering: z.enum(['endpoint-independent', 'address-dependent', 'address-and-port-dependent', 'unknown']),
  allocation: z.enum(['preserved', 'sequential', 'random', 'unknown']),
  delta: z.number().int().min(-1024).max(1024).optional(),
  lastMappedPort: Port.optional(),
  publicAddress: z.string().max(64).optional(),
  strategies: z.array(z.enum(EXTRA_STRATEGIES as unknown as [ExtraStrategy, ...ExtraStrategy[]])).max(8),
  portmap: z
    .discriminatedUnion('mapped', [
      z.object({ mapped: z.literal(true), protocol: z.enum(['nat-pmp', 'pcp', 'upnp']), address: z.ipv4(), port: Port }),
      z.object({ mapped: z.literal(false), reason: z.string().max(200) }),
    ])
    .optional(),
});

const Budget = z.object({
  birthdaySockets: z.number().int().min(0).max(1024),
  birthdayBudget: z.number().int().min(0).max(65_535),
  allowRandomPair: z.boolean(),
  probeRatePerSecond: z.number().int().min(1).max(1000).optional(),
});

export const TraversalPayload = z.discriminatedUnion('kind', [
  z.object({
    v: z.literal(1),
    kind: z.literal('behaviour'),
    behaviour: Behaviour,
    budget: Budget,
    /**
     * This side has TURN servers, so relayed candidates may still come after its checks began
     * (the relay ladder does not wait for them): the other side must not give up on the session
     * when nothing direct is left. Absent: false.
     */
    relays: z.boolean().optional(),
  }),
  z.object({ v: z.literal(1), kind: z.literal('predict-base'), round: z.number().int().min(1).max(64), port: Port, delta: z.number().int().min(-1024).max(1024) }),
]);
export type TraversalPayload = z.infer<typeof TraversalPayload>;

export function behaviourPayload(behaviour: NatBehaviour, budget: PlanBudget): TraversalPayload {
  const { portmap, ...rest } = behaviour;
  const offered = behaviour.strategies.includes('portmap');
  return {
    v: 1,
    kind: 'behaviour',
    behaviour: {
      ...rest,
      strategies: behaviour.strategies.filter((s) => s !== 'portmap'),
      ...(offered ? { portmap: portmap ?? { mapped: false, reason: 'no mapping was asked for' } } : {}),
    },
    budget: { ...budget },
  };
}

/** The payload, or undefined when it is not one this version understands. */
export function parseTraversalPayload(value: unknown): TraversalPayload | undefined {
  const parsed = TraversalPayload.safeParse(value);
  if (!parsed.success) return undefined;
  const payload = parsed.data;
  // The `portmap` field is the offer (see the header): back into `strategies` for the plan.
  if (payload.kind === 'behaviour' && payload.behaviour.portmap !== undefined && !payload.behaviour.strategies.includes('portmap')) {
    payload.behaviour.strategies.push('portmap');
  }
  return payload;
}
