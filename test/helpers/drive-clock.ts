/**
 * Drives a FakeClock for code that also does real socket I/O: each step lets the event loop take
 * one full turn (setImmediate: pending datagrams and binds are processed), then moves simulated
 * time forward by `stepMs`. Durations the code reports through the injected clock are then in
 * simulated time, so a test can bound them without measuring the machine's wall clock, which a
 * loaded CI box stretches at will.
 */
import type { FakeClock } from '../../src/transport/fake-clock.js';

export async function driveUntilSettled<T>(clock: FakeClock, work: Promise<T>, options: { stepMs?: number; maxSimulatedMs?: number } = {}): Promise<{ value: T; simulatedMs: number }> {
  const stepMs = options.stepMs ?? 1;
  const maxSimulatedMs = options.maxSimulatedMs ?? 60_000;
  const startedAt = clock.now();
  let outcome: { ok: true; value: T } | { ok: false; error: unknown } | undefined;
  work.then(
    (value) => (outcome = { ok: true, value }),
    (error: unknown) => (outcome = { ok: false, error }),
  );
  while (outcome === undefined) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (outcome !== undefined) break;
    if (clock.now() - startedAt >= maxSimulatedMs) throw new Error(`did not settle within ${maxSimulatedMs} simulated ms`);
    await clock.advanceAsync(stepMs);
  }
  if (!outcome.ok) throw outcome.error;
  return { value: outcome.value, simulatedMs: clock.now() - startedAt };
}
