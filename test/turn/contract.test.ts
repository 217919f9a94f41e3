/**
 * The src/turn contract other layers code against (brief "API contract"): the relayed
 * candidate's transport is assignable to src/ice's CandidateTransport, and the exports exist.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { CandidateTransport } from '../../src/ice/gather.js';
import * as turn from '../../src/turn/index.js';

describe('src/turn contract', () => {
  it('TurnAllocation.transport is an ICE CandidateTransport (structural typing across the layer boundary)', () => {
    expectTypeOf<turn.TurnAllocation['transport']>().toMatchTypeOf<CandidateTransport>();
    expectTypeOf<turn.TurnCandidateTransport>().toMatchTypeOf<CandidateTransport>();
  });

  it('exports allocate, parseTurnUrl and restApiCredentials', () => {
    expect(typeof turn.allocate).toBe('function');
    expect(typeof turn.parseTurnUrl).toBe('function');
    expect(typeof turn.restApiCredentials).toBe('function');
  });
});
