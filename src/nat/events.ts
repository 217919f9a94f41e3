/**
 * The detect run's events (src/nat/detect.ts): probes sent and answered, each server's report,
 * progress, and the verdict. Part of the one event stream (src/events.ts is the union).
 */
import type { TransportAddress } from '../stun/index.js';
import type { GatewayEvent } from '../gateway/events.js';
import type { LifetimeEvent } from './lifetime.js';
import type { NatVerdict, ProbeObservation, ProbeSection, ProbeTest, ServerReport } from './types.js';

export interface ProbeSentEvent {
  type: 'probe-sent';
  at: number;
  seq: number;
  section: ProbeSection;
  socket: number;
  server: string;
  target: TransportAddress;
  test: ProbeTest;
}

export interface ProbeResultEvent {
  type: 'probe-result';
  at: number;
  observation: ProbeObservation;
}

export interface ServerReportEvent {
  type: 'server-report';
  at: number;
  server: ServerReport;
}

export interface DetectPhaseEvent {
  type: 'detect-phase';
  at: number;
  family: 4 | 6;
  phase: 'discovery' | 'behaviour' | 'done';
  /** Probes planned so far and probes finished, for progress bars. */
  planned: number;
  finished: number;
}

export interface VerdictEvent {
  type: 'verdict';
  at: number;
  verdict: NatVerdict;
}

export type DetectEvent = ProbeSentEvent | ProbeResultEvent | ServerReportEvent | DetectPhaseEvent | VerdictEvent | GatewayEvent | LifetimeEvent;
