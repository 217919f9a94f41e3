/**
 * The traversal engine's events; src/events.ts only unions them into PeerEvent. `at` is ms since
 * the session started, `trial` as in the ICE events.
 */
import type { ExtraStrategy, NatBehaviour, PortmapReport, StrategyAttempt, TraversalPlan } from './types.js';

/** Both behaviours are known (or the wait for the other's ended) and the plan is fixed. */
export interface TraversalPlanEvent {
  type: 'traversal-plan';
  at: number;
  trial: number;
  plan: TraversalPlan;
  local?: NatBehaviour;
  remote?: NatBehaviour;
}

/** A strategy is under way: sent so far against its budget (every 64 probes, and at the end). */
export interface TraversalProgressEvent {
  type: 'traversal-progress';
  at: number;
  trial: number;
  strategy: ExtraStrategy;
  probesSent: number;
  /** The most probes it will send. */
  budget: number;
  socketsOpened: number;
}

/** A strategy stopped (hit, budget spent, ICE connected, session ended, refused). */
export interface TraversalDoneEvent {
  type: 'traversal-done';
  at: number;
  trial: number;
  attempt: StrategyAttempt;
}

/** portmap: the gateway's answer (mapped, refused, silent, or not asked), and again once the mapping is deleted. */
export interface TraversalPortmapEvent {
  type: 'traversal-portmap';
  at: number;
  trial: number;
  report: PortmapReport;
}

export type TraversalEvent = TraversalPlanEvent | TraversalProgressEvent | TraversalDoneEvent | TraversalPortmapEvent;
