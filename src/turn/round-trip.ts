import type { TransportAddress } from '../stun/index.js';
import type { Clock, TimerHandle } from '../transport/index.js';
import type { RoundTripStats } from './diagnose-types.js';
import { formatTransportAddress } from '../stun/index.js';

export interface RoundTripOptions {
  /** Sends one packet to the peer through the relay. */
  send(data: Uint8Array): Promise<void>;
  /** Subscribes to packets coming back from the peer through the relay. */
  onEcho(listener: (data: Uint8Array) => void): () => void;
  peer: TransportAddress;
  packets: number;
  payloadBytes: number;
  /** Packets in flight at once: enough to measure rate, few enough not to overflow socket buffers. */
  window: number;
  /** A packet not echoed within this is counted lost and its slot reused. */
  lossTimeoutMs: number;
  /** Bound on the whole measurement. */
  timeoutMs: number;
  clock: Clock;
  /** Stops the measurement early; what was measured so far is the result. */
  signal?: AbortSignal;
  onProgress?: (sent: number, received: number) => void;
}

/**
 * Sends numbered packets through the relay to an echo peer and back, `window` at a time, and
 * measures the RTT of each and the rate of the whole. Every packet carries its sequence
 * number in its first 4 bytes, so a late echo of a packet already counted lost is ignored.
 * Bounded: at most `packets` sends, and `timeoutMs` overall.
 */
export function measureRoundTrips(options: RoundTripOptions): Promise<RoundTripStats> {
  const { clock, packets } = options;
  const payloadBytes = Math.max(4, options.payloadBytes);
  const sentAt = new Map<number, { at: number; timer: TimerHandle }>();
  const rtts: number[] = [];
  let nextSeq = 0;
  let settledCount = 0;
  let lost = 0;
  const started = clock.now();
  let lastEcho = started;

  return new Promise<RoundTripStats>((resolve) => {
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      detach();
      options.signal?.removeEventListener('abort', finish);
      clock.clearTimeout(overall);
      for (const entry of sentAt.values()) clock.clearTimeout(entry.timer);
      lost += sentAt.size;
      sentAt.clear();
      const elapsedMs = Math.max(lastEcho - started, 0.001);
      rtts.sort((a, b) => a - b);
      resolve({
        sent: nextSeq,
        received: rtts.length,
        lost,
        payloadBytes,
        rttMs:
          rtts.length === 0
            ? null
            : { min: rtts[0]!, median: quantile(rtts, 0.5), p95: quantile(rtts, 0.95), max: rtts[rtts.length - 1]! },
        packetsPerSecond: rtts.length === 0 ? 0 : (rtts.length / elapsedMs) * 1000,
        peer: formatTransportAddress(options.peer),
      });
    };
    const settleOne = (): void => {
      settledCount++;
      options.onProgress?.(nextSeq, rtts.length);
      if (settledCount >= packets) finish();
      else sendNext();
    };
    const sendNext = (): void => {
      if (done || nextSeq >= packets) return;
      const seq = nextSeq++;
      const data = new Uint8Array(payloadBytes);
      new DataView(data.buffer).setUint32(0, seq);
      const timer = clock.setTimeout(() => {
        if (!sentAt.delete(seq)) return;
        lost++;
        settleOne();
      }, options.lossTimeoutMs);
      sentAt.set(seq, { at: clock.now(), timer });
      options.send(data).catch(() => {
        // A refused send is a lost packet; its loss timer settles it.
      });
    };
    const detach = options.onEcho((data) => {
      if (done || data.length < 4) return;
      const seq = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(0);
      const entry = sentAt.get(seq);
      if (!entry) return;
      sentAt.delete(seq);
      clock.clearTimeout(entry.timer);
      lastEcho = clock.now();
      rtts.push(lastEcho - entry.at);
      settleOne();
    });
    const overall = clock.setTimeout(finish, options.timeoutMs);
    if (options.signal?.aborted === true || packets <= 0) return finish();
    options.signal?.addEventListener('abort', finish, { once: true });
    for (let i = 0; i < Math.min(options.window, packets); i++) sendNext();
  });
}

function quantile(sorted: readonly number[], q: number): number {
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[index]!;
}
