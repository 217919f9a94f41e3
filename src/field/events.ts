/**
 * The field probe's events. Every visit gets an id (`v1`, `v2`, … in the order links were opened);
 * the nat-probe peer's own events are wrapped with it, so one NDJSON stream holds many visits.
 * Every string that came from the browser is already sanitized (text.ts).
 */
import type { PeerEvent } from '../peer/events.js';
import type { BrowserGatherSummary, BrowserIceSummary, CustomerResult } from './findings.js';

/** The server listens; `link` is what to send the customer. */
export interface FieldListeningEvent {
  type: 'field-listening';
  at: number;
  link: string;
  expiresAt: string;
  visits: number;
}

/** A customer opened the link. */
export interface FieldVisitStartedEvent {
  type: 'field-visit-started';
  at: number;
  visit: string;
  browser: string;
  os: string;
  /** nat-probe's ICE role in this visit; the browser has the other. */
  natProbeRole: 'controlling' | 'controlled';
}

/** One event of the visit's nat-probe peer session. */
export interface FieldPeerEvent {
  type: 'field-peer';
  at: number;
  visit: string;
  event: PeerEvent;
}

/** The page's findings arrived. */
export interface FieldBrowserEvent {
  type: 'field-browser';
  at: number;
  visit: string;
  userAgent: string;
  gather: BrowserGatherSummary;
  ice: BrowserIceSummary;
}

/** A visit ended, complete or not; `reason` says why it ended. */
export interface FieldVisitEndedEvent {
  type: 'field-visit-ended';
  at: number;
  visit: string;
  reason: FieldVisitEndReason;
  detail?: string;
  result: CustomerResult;
}

/** An HTTP request was refused (unknown token, rate limit); never carries the token itself. */
export interface FieldRefusedEvent {
  type: 'field-refused';
  at: number;
  status: 404 | 413 | 429 | 400;
  why: string;
}

export type FieldVisitEndReason =
  /** The page reported and the nat-probe session ended. */
  | 'complete'
  /** The nat-probe session ended in an error (the page never answered, sent garbage, left). */
  | 'session-error'
  /** The page never sent its findings in time (tab closed, script blocked). */
  | 'no-findings'
  /** The field server is stopping. */
  | 'shutdown';

export type FieldEvent = FieldListeningEvent | FieldVisitStartedEvent | FieldPeerEvent | FieldBrowserEvent | FieldVisitEndedEvent | FieldRefusedEvent;
