/**
 * The `field` live view's state, folded from the field event stream (src/field/events.ts) and
 * each visit's report: one entry per visit, newest last, with what the browser and nat-probe
 * saw so far. Pure; the strings are sanitized by the field layer before they get here.
 */
import type { FieldEvent } from '../field/events.js';
import type { BrowserGatherSummary, BrowserIceSummary, CustomerResult } from '../field/findings.js';
import type { FieldVisitReport } from '../report/field-report.js';

export interface FieldViewPair {
  readonly id: string;
  readonly pairType: string;
  readonly local: string;
  readonly remote: string;
  readonly state: string;
  readonly rttMs?: number;
  readonly failureReason?: string;
}

export interface FieldViewVisit {
  readonly id: string;
  readonly browser: string;
  readonly os: string;
  readonly natProbeRole: string;
  readonly phase: string;
  readonly localCandidates: number;
  readonly remoteCandidates: number;
  readonly pairs: readonly FieldViewPair[];
  readonly gather?: BrowserGatherSummary;
  readonly ice?: BrowserIceSummary;
  readonly ended?: { readonly reason: string; readonly detail?: string; readonly result: CustomerResult };
  readonly report?: FieldVisitReport;
}

export interface FieldViewState {
  readonly link?: { readonly url: string; readonly expiresAt: string };
  readonly visits: readonly FieldViewVisit[];
  readonly refused: number;
}

/** Visits kept on screen; older ones scroll away (their reports are already printed/written). */
export const FIELD_VIEW_VISITS = 4;

export function initialFieldViewState(): FieldViewState {
  return { visits: [], refused: 0 };
}

function updateVisit(state: FieldViewState, id: string, change: (visit: FieldViewVisit) => FieldViewVisit): FieldViewState {
  return { ...state, visits: state.visits.map((visit) => (visit.id === id ? change(visit) : visit)) };
}

export function reduceFieldEvent(state: FieldViewState, event: FieldEvent): FieldViewState {
  switch (event.type) {
    case 'field-listening':
      return { ...state, link: { url: event.link, expiresAt: event.expiresAt } };
    case 'field-refused':
      return { ...state, refused: state.refused + 1 };
    case 'field-visit-started': {
      const visit: FieldViewVisit = { id: event.visit, browser: event.browser, os: event.os, natProbeRole: event.natProbeRole, phase: 'opened', localCandidates: 0, remoteCandidates: 0, pairs: [] };
      return { ...state, visits: [...state.visits, visit].slice(-FIELD_VIEW_VISITS) };
    }
    case 'field-browser':
      return updateVisit(state, event.visit, (v) => ({ ...v, gather: event.gather, ice: event.ice }));
    case 'field-visit-ended':
      return updateVisit(state, event.visit, (v) => ({ ...v, phase: 'ended', ended: { reason: event.reason, ...(event.detail !== undefined ? { detail: event.detail } : {}), result: event.result } }));
    case 'field-peer': {
      const e = event.event;
      if (e.type === 'peer-phase') return updateVisit(state, event.visit, (v) => ({ ...v, phase: e.phase }));
      if (e.type === 'ice-candidate') return updateVisit(state, event.visit, (v) => (e.side === 'local' ? { ...v, localCandidates: v.localCandidates + 1 } : { ...v, remoteCandidates: v.remoteCandidates + 1 }));
      if (e.type === 'ice-pair') {
        const pair: FieldViewPair = { id: e.pairId, pairType: `${e.localType}/${e.remoteType}`, local: e.local, remote: e.remote, state: e.state, ...(e.rttMs !== undefined ? { rttMs: e.rttMs } : {}), ...(e.failureReason !== undefined ? { failureReason: e.failureReason } : {}) };
        return updateVisit(state, event.visit, (v) => {
          const index = v.pairs.findIndex((p) => p.id === pair.id);
          return { ...v, pairs: index === -1 ? [...v.pairs, pair] : v.pairs.map((p, i) => (i === index ? pair : p)) };
        });
      }
      return state;
    }
  }
}

export function withFieldReport(state: FieldViewState, report: FieldVisitReport): FieldViewState {
  return updateVisit(state, report.visit, (v) => ({ ...v, report }));
}
