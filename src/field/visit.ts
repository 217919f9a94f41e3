/**
 * One visit: a customer opened a link. The visit owns a signaling room (random name and secret),
 * the nat-probe peer session that meets the page in it (survey mode: every pair checked to the
 * end, RTT per pair and why each failed), and the page's findings. It ends exactly once, with a
 * reason, whatever the page does: reports, sends garbage, never answers, or closes the tab.
 *
 * ICE roles. The session's role follows the join order (peer/session.ts): the first peer in the
 * room is controlling. With nat-probe controlling, the session joins before the page is served
 * and the page answers nat-probe's offer; with nat-probe controlled, the page joins first, makes
 * the offer, and asks for the session (POST go) once it has joined.
 */
import { randomBytes } from 'node:crypto';
import type { PeerEvent } from '../peer/events.js';
import { NatProbeError } from '../errors.js';
import { runPeerSession, type PeerResult, type PeerTurnServer } from '../peer/session.js';
import { describePeerSession, type PeerSessionView } from '../peer/session-view.js';
import type { TransportAddress } from '../ice/candidate.js';
import type { Clock, TimerHandle } from '../transport/clock.js';
import type { FieldEvent, FieldVisitEndReason } from './events.js';
import { customerResult, summarizeBrowserIce, summarizeGathering, type BrowserFindings, type BrowserGatherSummary, type BrowserIceSummary, type CustomerResult } from './findings.js';
import { untrusted } from './text.js';
import { summarizeUserAgent } from './user-agent.js';

export type NatProbeRole = 'controlling' | 'controlled';

export interface FieldVisitOptions {
  readonly id: string;
  /** The visit's signaling URL, from its secret (the server serves signaling per visit). */
  readonly signalUrl: (secret: string) => string;
  readonly natProbeRole: NatProbeRole;
  readonly userAgent: string | undefined;
  /** STUN server of nat-probe's own session (its server-reflexive candidate). */
  readonly stunServer?: TransportAddress;
  /** The STUN URLs the page gathers with (the mapping comparison). */
  readonly stunUrls: readonly string[];
  readonly turnServers?: readonly PeerTurnServer[];
  readonly bindAddress?: string;
  /** Bound on the whole visit, from the link's opening to the report. */
  readonly timeoutMs: number;
  /** After nat-probe's session ends, how long the page has to post its findings. Default 5 s. */
  readonly findingsGraceMs?: number;
  readonly clock: Clock;
  /** ms since the field server started, for `at`. */
  readonly since: () => number;
  readonly emit: (event: FieldEvent) => void;
}

/** Everything one visit learned; the reports (src/report/field-report.ts) render it. */
export interface FieldVisitResult {
  readonly visit: string;
  readonly startedAt: Date;
  readonly durationMs: number;
  readonly userAgent: string;
  readonly browser: string;
  readonly os: string;
  readonly natProbeRole: NatProbeRole;
  readonly reason: FieldVisitEndReason;
  readonly detail?: string;
  readonly session?: PeerResult;
  readonly sessionView?: PeerSessionView;
  readonly sessionError?: { readonly code: string; readonly message: string };
  readonly findings?: BrowserFindings;
  readonly gather?: BrowserGatherSummary;
  readonly ice?: BrowserIceSummary;
  readonly result: CustomerResult;
  /** Remote candidates nat-probe could not use (mDNS names, TCP), sanitized. */
  readonly skippedRemoteCandidates: readonly { readonly candidate: string; readonly reason: string }[];
}

/** After the session ends, how long the page has to post its findings (it does so right after its `bye`). */
export const FINDINGS_GRACE_MS = 5_000;
/** How long the session waits for the page's `result` after its own: the browser may still be settling. */
const RESULT_WAIT_MS = 8_000;
/** With nat-probe controlling, how long the page request waits for the session to have joined. */
export const JOIN_WAIT_MS = 5_000;

export class FieldVisit {
  readonly room = `field-${randomBytes(12).toString('base64url')}`;
  readonly roomToken = randomBytes(18).toString('base64url');
  /** The visit's own secret in its /v/<secret>/… paths: the link token is used up by now. */
  readonly secret = randomBytes(16).toString('base64url');
  readonly startedAt = new Date();
  private readonly startedAtMs: number;
  private readonly ua: { userAgent: string; browser: string; os: string };
  private session: Promise<PeerResult> | undefined;
  private sessionResult: PeerResult | undefined;
  private sessionError: { code: string; message: string } | undefined;
  private findings: BrowserFindings | undefined;
  private sessionEnded = false;
  private endedResult: FieldVisitResult | undefined;
  private readonly endWaiters: ((result: FieldVisitResult) => void)[] = [];
  private readonly joinWaiters: (() => void)[] = [];
  private joined = false;
  private timer: TimerHandle | undefined;
  private graceTimer: TimerHandle | undefined;

  constructor(private readonly options: FieldVisitOptions) {
    this.startedAtMs = options.clock.now();
    this.ua = { userAgent: untrusted(options.userAgent ?? '', 400), ...summarizeUserAgent(options.userAgent) };
    this.timer = options.clock.setTimeout(() => {
      this.timer = undefined;
      this.end(this.session === undefined ? 'session-error' : 'no-findings', this.session === undefined ? 'the page never joined its room' : 'the visit timed out');
    }, options.timeoutMs + (options.findingsGraceMs ?? FINDINGS_GRACE_MS) + 1_000);
    options.emit({ type: 'field-visit-started', at: options.since(), visit: options.id, browser: this.ua.browser, os: this.ua.os, natProbeRole: options.natProbeRole });
  }

  get id(): string {
    return this.options.id;
  }

  get ended(): boolean {
    return this.endedResult !== undefined;
  }

  /** Starts nat-probe's peer session (once). Resolves when it has joined the room, or after a bound. */
  startSession(): Promise<void> {
    if (this.session === undefined && !this.ended) {
      const o = this.options;
      const left = Math.max(1_000, o.timeoutMs - (o.clock.now() - this.startedAtMs));
      this.session = runPeerSession({
        signalUrl: o.signalUrl(this.secret),
        room: this.room,
        token: this.roomToken,
        mode: 'survey',
        timeoutMs: left,
        resultWaitMs: RESULT_WAIT_MS,
        clock: o.clock,
        ...(o.stunServer !== undefined ? { stunServer: o.stunServer } : {}),
        ...(o.bindAddress !== undefined ? { bindAddress: o.bindAddress } : {}),
        ...(o.turnServers !== undefined ? { turnServers: o.turnServers } : { useSignaledIceServers: false }),
        onEvent: (event) => this.onPeerEvent(event),
      });
      this.session.then(
        (result) => {
          this.sessionResult = result;
          this.onSessionEnd();
        },
        (error: unknown) => {
          this.sessionError = error instanceof NatProbeError ? { code: error.code, message: error.message } : { code: 'internal-error', message: String(error) };
          this.onSessionEnd();
        },
      );
    }
    return this.untilJoined();
  }

  /** The page's findings (already parsed and sanitized). Resolves with the visit's end. */
  onFindings(findings: BrowserFindings): Promise<FieldVisitResult> {
    if (this.findings === undefined && !this.ended) {
      this.findings = findings;
      const gather = summarizeGathering(findings, this.options.stunUrls);
      const ice = summarizeBrowserIce(findings);
      this.options.emit({ type: 'field-browser', at: this.options.since(), visit: this.id, userAgent: findings.userAgent, gather, ice });
      if (this.sessionEnded) this.end(this.sessionError === undefined ? 'complete' : 'session-error', this.sessionError?.message);
      // No WebRTC in the browser: nothing more can come from the page; do not wait out the session.
      else if (findings.webrtc === false) this.end('complete', 'the browser has no WebRTC');
      // A page that reports without a session (it never joined) ends the visit too.
      else if (this.session === undefined) this.end('session-error', 'the page reported without joining its room');
    }
    return this.done();
  }

  done(): Promise<FieldVisitResult> {
    if (this.endedResult !== undefined) return Promise.resolve(this.endedResult);
    return new Promise((resolve) => this.endWaiters.push(resolve));
  }

  /** Ends the visit now (the server is stopping). */
  shutdown(): void {
    this.end('shutdown', 'the field server stopped');
  }

  private untilJoined(): Promise<void> {
    if (this.joined || this.sessionEnded) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = this.options.clock.setTimeout(resolve, JOIN_WAIT_MS);
      this.joinWaiters.push(() => {
        this.options.clock.clearTimeout(timer);
        resolve();
      });
    });
  }

  private onPeerEvent(event: PeerEvent): void {
    if (event.type === 'peer-phase' && event.phase === 'joined') {
      this.joined = true;
      for (const waiter of this.joinWaiters.splice(0)) waiter();
    }
    this.options.emit({ type: 'field-peer', at: this.options.since(), visit: this.id, event });
  }

  private onSessionEnd(): void {
    this.sessionEnded = true;
    for (const waiter of this.joinWaiters.splice(0)) waiter();
    if (this.findings !== undefined) {
      this.end(this.sessionError === undefined ? 'complete' : 'session-error', this.sessionError?.message);
      return;
    }
    // The page posts its findings right after its bye; give it a moment, then end without them.
    this.graceTimer = this.options.clock.setTimeout(() => {
      this.graceTimer = undefined;
      this.end(this.sessionError !== undefined ? 'session-error' : 'no-findings', this.sessionError?.message ?? 'the page did not report (tab closed?)');
    }, this.options.findingsGraceMs ?? FINDINGS_GRACE_MS);
  }

  private end(reason: FieldVisitEndReason, detail?: string): void {
    if (this.endedResult !== undefined) return;
    if (this.timer !== undefined) this.options.clock.clearTimeout(this.timer);
    if (this.graceTimer !== undefined) this.options.clock.clearTimeout(this.graceTimer);
    const findings = this.findings;
    const gather = findings !== undefined ? summarizeGathering(findings, this.options.stunUrls) : undefined;
    const ice = findings !== undefined ? summarizeBrowserIce(findings) : undefined;
    const session = this.sessionResult;
    const natProbe = session !== undefined ? { connected: session.state === 'connected' || session.pairs.some((p) => p.state === 'succeeded'), succeededPairTypes: session.pairs.filter((p) => p.state === 'succeeded').map((p) => `${p.local.type}/${p.remote.type}`) } : undefined;
    // Without the page's findings, only a success says something about the network: a tab closed
    // before the checks is "unfinished", never "blocked".
    const judged = findings !== undefined || natProbe?.connected === true ? natProbe : undefined;
    const result = customerResult(gather, ice, judged, findings?.webrtc !== false);
    const safeDetail = detail !== undefined ? untrusted(detail, 300) : undefined;
    this.endedResult = {
      visit: this.id,
      startedAt: this.startedAt,
      durationMs: this.options.clock.now() - this.startedAtMs,
      ...this.ua,
      natProbeRole: this.options.natProbeRole,
      reason,
      ...(safeDetail !== undefined ? { detail: safeDetail } : {}),
      ...(session !== undefined ? { session, sessionView: describePeerSession(session) } : {}),
      ...(this.sessionError !== undefined ? { sessionError: { code: this.sessionError.code, message: untrusted(this.sessionError.message, 300) } } : {}),
      ...(findings !== undefined ? { findings } : {}),
      ...(gather !== undefined ? { gather } : {}),
      ...(ice !== undefined ? { ice } : {}),
      result,
      skippedRemoteCandidates: (session?.skippedRemoteCandidates ?? []).map((s) => ({ candidate: untrusted(s.candidate, 300), reason: untrusted(s.reason, 60) })),
    };
    this.options.emit({ type: 'field-visit-ended', at: this.options.since(), visit: this.id, reason, ...(safeDetail !== undefined ? { detail: safeDetail } : {}), result });
    for (const waiter of this.endWaiters.splice(0)) waiter(this.endedResult);
  }
}
