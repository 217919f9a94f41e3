import type { DetectResult } from '../nat/detect.js';
import type { Interpretation } from '../nat/interpret.js';
import type { LifetimeResult } from '../nat/lifetime.js';
import type { PortMappingSummary } from '../nat/port-mapping.js';
import type { NatVerdict, ServerReport } from '../nat/types.js';

/**
 * Version of the `detect --json` document. Bump on any incompatible change; README documents it.
 * v2: `portMapping` (the gateway's NAT-PMP, PCP and UPnP answers, double NAT), per-server
 * `stray` counts and the verdict's `notStun`.
 */
export const DETECT_SCHEMA = 'nat-probe.detect/v2';

export interface DetectFamilyReport extends Interpretation {
  family: 4 | 6;
  verdict: NatVerdict;
  servers: ServerReport[];
  probes: { sent: number; answered: number; unanswered: number; failed: number; packetsSent: number };
  durationMs: number;
}

export interface DetectReport {
  schema: typeof DETECT_SCHEMA;
  tool: { name: 'nat-probe'; version: string };
  startedAt: string;
  durationMs: number;
  results: DetectFamilyReport[];
  /** What the default gateway says about port mapping, and double NAT; skipped with the reason. */
  portMapping: PortMappingSummary;
  /** `--lifetime`: how long a mapping survives silence; absent without the flag. */
  lifetime?: LifetimeReport;
  exitCode: number;
}

export type LifetimeReport = ({ status: 'measured' } & LifetimeResult) | { status: 'failed'; error: string };

/** Exit status (README): 0 a verdict was given, 1 UDP blocked or inconclusive. IPv4 decides when it was tested. */
export function detectExitCode(results: readonly DetectResult[]): number {
  const decisive = results.find((r) => r.family === 4) ?? results[0];
  if (!decisive) return 1;
  return decisive.verdict.kind === 'udp-blocked' || decisive.verdict.kind === 'inconclusive' ? 1 : 0;
}

const round1 = (ms: number): number => Math.round(ms * 10) / 10;

export function buildDetectReport(
  results: readonly DetectResult[],
  meta: { version: string; startedAt: Date; durationMs: number; portMapping?: PortMappingSummary; lifetime?: LifetimeReport },
): DetectReport {
  return {
    schema: DETECT_SCHEMA,
    tool: { name: 'nat-probe', version: meta.version },
    startedAt: meta.startedAt.toISOString(),
    durationMs: round1(meta.durationMs),
    results: results.map((result) => {
      const outcomes = result.observations.map((o) => o.outcome.kind);
      return {
        family: result.family,
        ...result.interpretation,
        verdict: result.verdict,
        servers: result.servers,
        probes: {
          sent: outcomes.length,
          answered: outcomes.filter((k) => k === 'answered').length,
          unanswered: outcomes.filter((k) => k === 'timeout').length,
          failed: outcomes.filter((k) => k === 'error').length,
          packetsSent: result.packetsSent,
        },
        durationMs: round1(result.durationMs),
      };
    }),
    portMapping: meta.portMapping ?? { status: 'skipped', because: 'not asked' },
    ...(meta.lifetime ? { lifetime: meta.lifetime } : {}),
    // A lifetime that was asked for and could not be measured is a failed probe.
    exitCode: meta.lifetime?.status === 'failed' ? 1 : detectExitCode(results),
  };
}
