/**
 * The `field --json` visit report, version `nat-probe.field-visit/v1`: one per visit, after that
 * visit's events. It holds both sides of the same ICE run: the browser's (its candidates, the
 * mapping verdict it allows, iceConnectionState and getStats() pairs) and nat-probe's (the survey
 * of every pair, as `peer --json` reports it), with the sentence the customer was shown. Every
 * string that came from the browser was sanitized by the field layer (src/field/text.ts).
 */
import type { FieldVisitResult } from '../field/visit.js';
import type { BrowserGatherSummary, BrowserIceSummary, CustomerResult } from '../field/findings.js';
import type { FieldVisitEndReason } from '../field/events.js';
import { buildPeerReport, type PeerReport } from './peer-report.js';

export const FIELD_VISIT_SCHEMA = 'nat-probe.field-visit/v1';

export interface FieldVisitReport {
  readonly schema: typeof FIELD_VISIT_SCHEMA;
  readonly tool: { readonly name: 'nat-probe'; readonly version: string };
  readonly visit: string;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly reason: FieldVisitEndReason;
  readonly detail: string | null;
  readonly result: CustomerResult;
  readonly browser: {
    readonly userAgent: string;
    readonly name: string;
    readonly os: string;
    /** The browser's ICE role: offerer = controlling. */
    readonly iceRole: 'controlling' | 'controlled';
    readonly gather: BrowserGatherSummary | null;
    readonly ice: BrowserIceSummary | null;
    /** Every candidate the page gathered with the configured servers, as it reported them. */
    readonly candidates: readonly { readonly type: string; readonly candidate: string; readonly url: string }[];
    readonly serverErrors: readonly { readonly url: string; readonly errorCode: number; readonly errorText: string }[];
  };
  /** nat-probe's side: the same document `peer --json` prints (survey mode), or null when its session failed. */
  readonly natProbe: PeerReport | null;
  readonly natProbeRole: 'controlling' | 'controlled';
  readonly natProbeError: { readonly code: string; readonly message: string } | null;
  /** Browser candidates nat-probe could not use (mDNS names, TCP), with the reason. */
  readonly skippedRemoteCandidates: readonly { readonly candidate: string; readonly reason: string }[];
  /** 0 the visit connected (directly or through a relay), 1 otherwise. */
  readonly exitCode: 0 | 1;
}

export function buildFieldVisitReport(result: FieldVisitResult, version: string): FieldVisitReport {
  const f = result.findings;
  const natProbe =
    result.session !== undefined && result.sessionView !== undefined
      ? buildPeerReport(result.session, result.sessionView, { version, startedAt: result.startedAt, durationMs: result.session.totalMs, mode: 'survey' })
      : null;
  const ok = result.result.code === 'direct' || result.result.code === 'relay';
  return {
    schema: FIELD_VISIT_SCHEMA,
    tool: { name: 'nat-probe', version },
    visit: result.visit,
    startedAt: result.startedAt.toISOString(),
    durationMs: Math.round(result.durationMs * 10) / 10,
    reason: result.reason,
    detail: result.detail ?? null,
    result: result.result,
    browser: {
      userAgent: result.userAgent,
      name: result.browser,
      os: result.os,
      iceRole: result.natProbeRole === 'controlling' ? 'controlled' : 'controlling',
      gather: result.gather ?? null,
      ice: result.ice ?? null,
      candidates: (f?.gather.candidates ?? []).map((c) => ({ type: c.type, candidate: c.candidate, url: c.url })),
      serverErrors: f?.gather.errors ?? [],
    },
    natProbe,
    natProbeRole: result.natProbeRole,
    natProbeError: result.sessionError ?? null,
    skippedRemoteCandidates: result.skippedRemoteCandidates,
    exitCode: ok ? 0 : 1,
  };
}
