/**
 * The typed event stream. Engines emit these; the Ink dashboard, the plain-line printer and
 * the NDJSON (--json) writer all subscribe to the same stream, so they cannot disagree.
 * Every event carries `type` and `at` (ms since the run started).
 */
import type { TransportAddress } from './stun/index.js';
import type { NatVerdict, ProbeObservation, ProbeSection, ProbeTest, ServerReport } from './nat/types.js';

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

export type DetectEvent = ProbeSentEvent | ProbeResultEvent | ServerReportEvent | DetectPhaseEvent | VerdictEvent;

export type NatProbeEvent = DetectEvent;

export type EventListener<E = NatProbeEvent> = (event: E) => void;
