/**
 * Retransmission timeout from measured round trips, as RFC 8489 §6.2.1 asks (computed as in
 * RFC 6298 §2: SRTT, RTTVAR, RTO = SRTT + 4·RTTVAR) with one change for a diagnostic tool:
 * RTO is never below 2·SRTT, and the floor is small (default 20 ms) instead of 1 s, so on a
 * fast path the first retransmission goes out near 2×RTT rather than after a fixed 500 ms.
 * Karn's rule applies: callers only feed samples from transactions that were never retransmitted.
 */
export interface RttEstimatorOptions {
  /** RTO before any sample. Default 500 ms (RFC 8489 §6.2.1's recommended initial value). */
  initialRtoMs?: number;
  /** Lowest RTO. Default 20 ms. */
  minRtoMs?: number;
  /** Highest RTO. Default 3000 ms. */
  maxRtoMs?: number;
}

export class RttEstimator {
  private srtt: number | undefined;
  private rttvar = 0;
  private samples = 0;
  private readonly initialRtoMs: number;
  private readonly minRtoMs: number;
  private readonly maxRtoMs: number;

  constructor(options: RttEstimatorOptions = {}) {
    this.initialRtoMs = options.initialRtoMs ?? 500;
    this.minRtoMs = options.minRtoMs ?? 20;
    this.maxRtoMs = options.maxRtoMs ?? 3000;
  }

  sample(rttMs: number): void {
    if (!Number.isFinite(rttMs) || rttMs < 0) return;
    this.samples++;
    if (this.srtt === undefined) {
      this.srtt = rttMs;
      this.rttvar = rttMs / 2;
      return;
    }
    // RFC 6298 §2.3 with alpha = 1/8, beta = 1/4.
    this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - rttMs);
    this.srtt = 0.875 * this.srtt + 0.125 * rttMs;
  }

  get smoothedRttMs(): number | undefined {
    return this.srtt;
  }

  get sampleCount(): number {
    return this.samples;
  }

  get rtoMs(): number {
    if (this.srtt === undefined) return this.initialRtoMs;
    const rto = Math.max(2 * this.srtt, this.srtt + 4 * this.rttvar);
    return Math.min(this.maxRtoMs, Math.max(this.minRtoMs, rto));
  }
}
