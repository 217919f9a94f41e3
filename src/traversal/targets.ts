/**
 * Which ports a prober aims at. Pure, with the randomness injected, so tests can check the
 * sequences exactly.
 */

export const LOWEST_EPHEMERAL_PORT = 1024;
export const HIGHEST_PORT = 65_535;

/**
 * The predicted ports after `base`: base+δ, base+2δ, … base+window·δ, dropping any outside
 * 1–65535 (a NAT that wraps around is not followed; the next round starts from a fresh base).
 */
export function predictedPorts(base: number, delta: number, window: number): number[] {
  const ports: number[] = [];
  for (let step = 1; step <= window; step++) {
    const port = base + delta * step;
    if (port >= 1 && port <= HIGHEST_PORT) ports.push(port);
  }
  return ports;
}

/**
 * Distinct random ports in [low, high], drawn one at a time: a probe never repeats a port, so
 * n probes cover n ports of the pool (the 1 − (1 − k/N)^n estimate assumes independent draws;
 * without repetition it is slightly better). `random()` returns [0, 1).
 */
export class RandomPortSequence {
  private readonly used = new Set<number>();

  constructor(
    private readonly random: () => number,
    private readonly low = LOWEST_EPHEMERAL_PORT,
    private readonly high = HIGHEST_PORT,
    /** Ports never to draw (the peer's signalled ports: ICE checks them already). */
    exclude: Iterable<number> = [],
  ) {
    for (const port of exclude) if (port >= low && port <= high) this.used.add(port);
  }

  get size(): number {
    return this.high - this.low + 1;
  }

  /** The next port, or undefined once every port of the range has been drawn. */
  next(): number | undefined {
    const span = this.size;
    if (this.used.size >= span) return undefined;
    // Rejection sampling stays cheap while the pool is mostly unused (budgets are ≤ 65535 and
    // a budget near the pool size is rare); past half, scan from a random start instead.
    if (this.used.size < span / 2) {
      for (;;) {
        const port = this.low + Math.floor(this.random() * span);
        if (!this.used.has(port)) {
          this.used.add(port);
          return port;
        }
      }
    }
    const start = Math.floor(this.random() * span);
    for (let i = 0; i < span; i++) {
      const port = this.low + ((start + i) % span);
      if (!this.used.has(port)) {
        this.used.add(port);
        return port;
      }
    }
    return undefined;
  }
}
