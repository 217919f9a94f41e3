/**
 * One wording of traversal results (src/traversal/types.ts) for every reporter: the peer table,
 * the plain lines, the trials table and JUnit, and the Ink views. Pure string functions.
 */
import type { NatBehaviour, PlanDuty, PortmapReport, RelayRungResult, StrategyAttempt, TraversalPlan, WinningPath } from '../traversal/types.js';
import { formatMs } from './format.js';

export { formatProbability } from '../stats.js';
import { formatProbability } from '../stats.js';

const DUTY_WORDS: Readonly<Record<PlanDuty, string>> = { prober: 'probes', opener: 'opens', both: 'opens and probes', none: 'waits' };

/** "birthday · this side opens, the other probes · P≈63%" (no reason). */
export function formatPlanHead(plan: Pick<TraversalPlan, 'technique' | 'localDuty' | 'remoteDuty' | 'probability'>): string {
  const duties = plan.localDuty === 'none' && plan.remoteDuty === 'none' ? '' : ` · this side ${DUTY_WORDS[plan.localDuty]}, the other ${DUTY_WORDS[plan.remoteDuty]}`;
  const probability = plan.probability !== undefined ? ` · P≈${formatProbability(plan.probability)}` : '';
  return `${plan.technique}${duties}${probability}`;
}

/** "mapping address-and-port-dependent · filtering … · ports sequential (δ 1), last port 40002 · public 203.0.113.7". */
export function formatBehaviour(behaviour: NatBehaviour | undefined): string {
  if (behaviour === undefined) return 'not known';
  const allocation = behaviour.allocation === 'sequential' && behaviour.delta !== undefined ? `sequential (δ ${behaviour.delta})` : behaviour.allocation;
  const last = behaviour.lastMappedPort !== undefined ? `, last port ${behaviour.lastMappedPort}` : '';
  const address = behaviour.publicAddress !== undefined ? ` · public ${behaviour.publicAddress}` : '';
  return `mapping ${behaviour.mapping} · filtering ${behaviour.filtering} · ports ${allocation}${last}${address}`;
}

/** "birthday (opens): 1024 probes, 256 sockets, hit · stopped: hit · 1.20 s from 120 ms". */
export function formatAttempt(attempt: StrategyAttempt): string {
  const duration = Math.max(0, attempt.endedAtMs - attempt.startedAtMs);
  return `${attempt.strategy} (${DUTY_WORDS[attempt.duty]}): ${attempt.probesSent} probes, ${attempt.socketsOpened} sockets, ${attempt.hit ? 'hit' : 'no hit'} · stopped: ${attempt.stopReason} · ${formatMs(duration)} from ${formatMs(attempt.startedAtMs)}`;
}

/** "relay-tcp ok at 12 ms → 30 ms (18 ms)", or "relay-udp FAILED at 12 ms: detail". */
export function formatRung(rung: RelayRungResult): string {
  const span = rung.endedAtMs !== undefined ? `${formatMs(rung.startedAtMs)} → ${formatMs(rung.endedAtMs)} (${formatMs(Math.max(0, rung.endedAtMs - rung.startedAtMs))})` : `${formatMs(rung.startedAtMs)}, no answer`;
  return `${rung.rung} ${rung.ok ? 'ok' : 'FAILED'} at ${span}${rung.detail !== undefined ? `: ${rung.detail}` : ''}`;
}

const WINNER_WORDS: Readonly<Record<WinningPath, string>> = {
  ice: 'plain ICE',
  predict: 'port prediction',
  birthday: 'birthday probing',
  portmap: 'a port mapping on the gateway',
  'relay-udp': 'TURN relay over UDP',
  'relay-tcp': 'TURN relay over TCP',
  'relay-tls': 'TURN relay over TLS',
  none: 'nothing: not connected',
};

/**
 * "NAT-PMP on 198.51.100.1: 203.0.113.10:40123 ← port 40123 for 120 s, in 2.1 ms · advertised ·
 * deleted", or "NAT-PMP on 198.51.100.1: not mapped (NAT-PMP refused: 3 Network Failure)", or
 * "not asked: every server is a loopback address".
 */
export function formatPortmap(report: PortmapReport): string {
  if (report.skipped !== undefined) return `not asked: ${report.skipped}`;
  const head = `${report.protocol === 'pcp' ? 'PCP' : report.protocol === 'upnp' ? 'UPnP' : 'NAT-PMP'} on ${report.gateway ?? 'the gateway'}`;
  const took = report.durationMs !== undefined ? `, in ${formatMs(report.durationMs)}` : '';
  if (!report.mapped) return `${head}: not mapped${took}${report.error !== undefined ? ` (${report.error})` : ''}`;
  const renewals = report.renewals > 0 ? ` · renewed ${report.renewals}×` : '';
  const used = report.advertised ? 'advertised as a candidate' : 'not advertised (the plan did not need it)';
  const deleted = report.deleted ? 'deleted' : 'NOT deleted';
  const error = report.error !== undefined ? ` · ${report.error}` : '';
  return `${head}: ${report.externalAddress}:${report.externalPort} ← port ${report.internalPort} for ${report.lifetimeSeconds} s${took}${renewals} · ${used} · ${deleted}${error}`;
}

/** "birthday probing (birthday)". */
export function formatWinner(winner: WinningPath): string {
  return winner === 'none' ? WINNER_WORDS.none : `${WINNER_WORDS[winner]} (${winner})`;
}

/** True when the winner is a strategy that found a peer-reflexive path (RFC 8445 §7.3.1.3). */
export function foundByStrategy(winner: WinningPath | undefined): winner is 'predict' | 'birthday' {
  return winner === 'predict' || winner === 'birthday';
}
