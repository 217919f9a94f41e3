/**
 * Consent freshness timing (RFC 7675 §5.1), pure over an injected Clock and RandomSource.
 *
 * After ICE selects a pair, the sender keeps confirming the peer still wants its traffic: it sends
 * a Binding request every 0.8–1.2 × 5 s (randomised so peers do not synchronise; never less than
 * 4 s apart) and loses consent when no response to a request sent in the last 30 s has arrived
 * for 30 s. This class only times it: the agent sends the request in `sendCheck` and reports
 * responses with `onResponse`.
 */
import type { Clock, RandomSource, TimerHandle } from '../transport/clock.js';
import { IceOptionError } from './errors.js';

/** RFC 7675 §5.1: "Consent expires after 30 seconds." */
export const CONSENT_TIMEOUT_MS = 30_000;
/** RFC 7675 §5.1: default basic interval between consent checks, 5 s. */
export const CONSENT_INTERVAL_MS = 5_000;
/** RFC 7675 §5.1: the gap between checks MUST NOT be less than 4 s. */
export const MIN_CONSENT_GAP_MS = 4_000;

/** The gap before the next consent check: uniformly 0.8–1.2 × the basic interval. */
export function nextConsentInterval(random: RandomSource, basePeriodMs = CONSENT_INTERVAL_MS): number {
  return Math.max(MIN_CONSENT_GAP_MS, basePeriodMs * (0.8 + 0.4 * random()));
}

/**
 * What consent freshness did so far: the evidence for whether its traffic alone keeps a NAT
 * mapping alive (a mapping lives while outbound packets refresh it, RFC 4787 REQ-6).
 */
export interface ConsentStats {
  /** Consent requests sent on the selected pair. */
  readonly checksSent: number;
  /** Responses that refreshed consent (a response to a request from the last 30 s). */
  readonly checksAnswered: number;
  /**
   * Longest time between two consecutive consent requests, the first one measured from when
   * consent started (the nomination). Undefined before the first request: no gap completed yet.
   */
  readonly largestGapMs?: number;
  /** From start until now, or until consent stopped or was lost. */
  readonly runningMs: number;
  readonly lost: boolean;
}

export interface ConsentOptions {
  readonly clock: Clock;
  readonly random: RandomSource;
  /** Send one consent Binding request (a new transaction); `sequence` identifies it in onResponse. */
  readonly sendCheck: (sequence: number) => void;
  /** Consent expired: the agent MUST stop sending on the pair (RFC 7675 §5.1). Called once. */
  readonly onConsentLost: () => void;
  /** Basic interval. Default 5,000 ms; must keep 0.8 × it ≥ 4,000 ms. */
  readonly basePeriodMs?: number;
  /** Default 30,000 ms. */
  readonly consentTimeoutMs?: number;
}

export class ConsentFreshness {
  private readonly clock: Clock;
  private readonly random: RandomSource;
  private readonly sendCheck: (sequence: number) => void;
  private readonly onConsentLost: () => void;
  private readonly basePeriodMs: number;
  private readonly timeoutMs: number;
  /** Requests sent in the last timeout window, by sequence → send time. */
  private readonly sent = new Map<number, number>();
  private nextSequence = 1;
  private checkTimer: TimerHandle | undefined;
  private expiryTimer: TimerHandle | undefined;
  private expiresAt = 0;
  private nextCheckAt: number | undefined;
  private state: 'idle' | 'running' | 'lost' | 'stopped' = 'idle';
  private startedAt: number | undefined;
  private endedAt: number | undefined;
  private lastSentAt: number | undefined;
  private checksSent = 0;
  private checksAnswered = 0;
  private largestGapMs: number | undefined;

  constructor(options: ConsentOptions) {
    this.clock = options.clock;
    this.random = options.random;
    this.sendCheck = options.sendCheck;
    this.onConsentLost = options.onConsentLost;
    this.basePeriodMs = options.basePeriodMs ?? CONSENT_INTERVAL_MS;
    this.timeoutMs = options.consentTimeoutMs ?? CONSENT_TIMEOUT_MS;
    if (!(this.basePeriodMs * 0.8 >= MIN_CONSENT_GAP_MS)) {
      throw new IceOptionError(`Consent interval ${this.basePeriodMs} ms would allow checks closer than 4 s (RFC 7675 §5.1); use ≥ 5000 ms.`);
    }
    if (!(this.timeoutMs > 0)) throw new IceOptionError(`consentTimeoutMs must be positive, got ${this.timeoutMs}.`);
  }

  /** Consent is fresh at start (ICE just succeeded on the pair); the first check follows after one interval. */
  start(): void {
    if (this.state !== 'idle') return;
    this.state = 'running';
    this.startedAt = this.clock.now();
    this.refresh(this.startedAt);
    this.scheduleCheck();
  }

  stop(): void {
    if (this.state === 'running') {
      this.state = 'stopped';
      this.endedAt = this.clock.now();
    }
    this.clearTimers();
  }

  stats(): ConsentStats {
    const end = this.endedAt ?? this.clock.now();
    return {
      checksSent: this.checksSent,
      checksAnswered: this.checksAnswered,
      ...(this.largestGapMs !== undefined ? { largestGapMs: this.largestGapMs } : {}),
      runningMs: this.startedAt === undefined ? 0 : end - this.startedAt,
      lost: this.state === 'lost',
    };
  }

  get lost(): boolean {
    return this.state === 'lost';
  }

  /** When consent expires unless a response arrives first. */
  get expiresAtMs(): number {
    return this.expiresAt;
  }

  get nextCheckAtMs(): number | undefined {
    return this.nextCheckAt;
  }

  /**
   * An authenticated success response to consent request `sequence`. Only a response to a request
   * sent within the last timeout window refreshes consent (RFC 7675 §5.1). Returns whether it did.
   */
  onResponse(sequence: number): boolean {
    if (this.state !== 'running') return false;
    const now = this.clock.now();
    const sentAt = this.sent.get(sequence);
    if (sentAt === undefined || now - sentAt > this.timeoutMs) return false;
    this.sent.delete(sequence); // one answer per request: a duplicate must not count twice
    this.checksAnswered++;
    this.refresh(now);
    return true;
  }

  private refresh(now: number): void {
    this.expiresAt = now + this.timeoutMs;
    if (this.expiryTimer !== undefined) this.clock.clearTimeout(this.expiryTimer);
    this.expiryTimer = this.clock.setTimeout(() => this.expire(), this.timeoutMs);
  }

  private scheduleCheck(): void {
    const gap = nextConsentInterval(this.random, this.basePeriodMs);
    this.nextCheckAt = this.clock.now() + gap;
    this.checkTimer = this.clock.setTimeout(() => {
      this.checkTimer = undefined;
      if (this.state !== 'running') return;
      const now = this.clock.now();
      for (const [sequence, sentAt] of this.sent) if (now - sentAt > this.timeoutMs) this.sent.delete(sequence);
      const sequence = this.nextSequence++;
      this.sent.set(sequence, now);
      const gap = now - (this.lastSentAt ?? this.startedAt ?? now);
      this.largestGapMs = Math.max(this.largestGapMs ?? 0, gap);
      this.lastSentAt = now;
      this.checksSent++;
      this.scheduleCheck();
      this.sendCheck(sequence);
    }, gap);
  }

  private expire(): void {
    this.expiryTimer = undefined;
    if (this.state !== 'running') return;
    this.state = 'lost';
    this.endedAt = this.clock.now();
    this.nextCheckAt = undefined;
    this.clearTimers();
    this.onConsentLost();
  }

  private clearTimers(): void {
    if (this.checkTimer !== undefined) this.clock.clearTimeout(this.checkTimer);
    if (this.expiryTimer !== undefined) this.clock.clearTimeout(this.expiryTimer);
    this.checkTimer = undefined;
    this.expiryTimer = undefined;
  }
}
