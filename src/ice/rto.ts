/**
 * Retransmission timeout from measured round-trip times, as RFC 8489 §6.2.1 asks: "computed as
 * described in RFC 6298", with an initial RTO of at least 500 ms, 1 ms accuracy (no rounding up to
 * a second), and Karn's algorithm (no sample from a retransmitted transaction, which the caller
 * enforces by not calling `sample` for one).
 */
import { IceOptionError } from './errors.js';

export interface RtoOptions {
  /** RTO before any sample. Default 500 ms: RFC 8489 §6.2.1 says it SHOULD be ≥ 500 ms. */
  readonly initialRtoMs?: number;
  /**
   * Floor once samples exist. Default 100 ms. RFC 6298's 1 s floor is meant for TCP; RFC 8489 keeps
   * 1 ms accuracy instead. 100 ms bounds the retransmission rate of a few checks in flight while
   * still adapting to fast paths (a 1 ms loopback RTT would otherwise give a ~5 ms RTO).
   */
  readonly minRtoMs?: number;
  /** Ceiling. Default 60,000 ms (RFC 6298 §2.5's upper bound). */
  readonly maxRtoMs?: number;
  /** Clock granularity G of RFC 6298 §2. Default 1 ms. */
  readonly granularityMs?: number;
}

/** RFC 6298 §2.3 gains. */
const ALPHA = 1 / 8;
const BETA = 1 / 4;
const K = 4;

export class RtoEstimator {
  private readonly initialRtoMs: number;
  private readonly minRtoMs: number;
  private readonly maxRtoMs: number;
  private readonly granularityMs: number;
  private srttMs: number | undefined;
  private rttvarMs = 0;

  constructor(options: RtoOptions = {}) {
    this.initialRtoMs = options.initialRtoMs ?? 500;
    this.minRtoMs = options.minRtoMs ?? 100;
    this.maxRtoMs = options.maxRtoMs ?? 60_000;
    this.granularityMs = options.granularityMs ?? 1;
    if (!(this.minRtoMs > 0 && this.minRtoMs <= this.maxRtoMs && this.initialRtoMs > 0)) {
      throw new IceOptionError(
        `RTO bounds are inconsistent (initial ${this.initialRtoMs}, min ${this.minRtoMs}, max ${this.maxRtoMs} ms); use 0 < min ≤ max and a positive initial RTO.`,
      );
    }
  }

  /** Smoothed RTT, undefined before the first sample. */
  get srtt(): number | undefined {
    return this.srttMs;
  }

  get rttvar(): number {
    return this.rttvarMs;
  }

  /** The RTO to use for the next transaction. */
  get rtoMs(): number {
    if (this.srttMs === undefined) return this.initialRtoMs;
    const rto = this.srttMs + Math.max(this.granularityMs, K * this.rttvarMs);
    return Math.min(this.maxRtoMs, Math.max(this.minRtoMs, rto));
  }

  /** Feeds one RTT measurement (RFC 6298 §2.2–2.3). */
  sample(rttMs: number): void {
    if (!Number.isFinite(rttMs) || rttMs < 0) return;
    if (this.srttMs === undefined) {
      this.srttMs = rttMs;
      this.rttvarMs = rttMs / 2;
      return;
    }
    this.rttvarMs = (1 - BETA) * this.rttvarMs + BETA * Math.abs(this.srttMs - rttMs);
    this.srttMs = (1 - ALPHA) * this.srttMs + ALPHA * rttMs;
  }
}
