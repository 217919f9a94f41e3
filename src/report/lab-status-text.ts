/**
 * Plain-text views of `lab up`, `lab status` and `lab down`, rendered from the same documents
 * `--json` prints, so the two can never disagree.
 */
import type { LabDownJson, LabStatusJson, LabUpJson, TopologyJson } from './lab-status-report.js';

function describeSpec(lab: TopologyJson): string {
  const parts = [`a ${lab.spec.a}`];
  if (lab.spec.b !== undefined && lab.spec.b !== null) parts.push(`b ${lab.spec.b}`);
  if (lab.spec.cgn !== undefined && lab.spec.cgn !== null) parts.push(`CGN ${lab.spec.cgn} in front of a`);
  if (lab.spec.hairpin) parts.push('hairpin');
  if (lab.spec.lossPercent > 0) parts.push(`${lab.spec.lossPercent}% loss`);
  if ((lab.spec.delayMs ?? 0) > 0) parts.push(`${lab.spec.delayMs} ms delay${(lab.spec.jitterMs ?? 0) > 0 ? ` ± ${lab.spec.jitterMs} ms` : ''} per client hop`);
  return parts.join(', ');
}

function pad(text: string, width: number): string {
  return text.length >= width ? `${text} ` : text.padEnd(width);
}

/** One line per namespace hop: public segment, then each side from its client up. */
export function topologyLines(lab: TopologyJson): string[] {
  const lines = [`  ${pad('public', 8)}${pad(lab.public.namespace, 22)}${lab.public.addresses.join(' + ')} on br0 (servers)`];
  for (const side of lab.sides) {
    const hops = [`client ${side.client.namespace} ${side.client.address}`];
    if (side.router) hops.push(`${side.router.natType} router ${side.router.namespace} (wan ${side.router.wan})`);
    if (side.cgn) hops.push(`${side.cgn.natType} CGN ${side.cgn.namespace} (wan ${side.cgn.wan})`);
    if (!side.router && !side.cgn) hops.push(side.natType === 'firewall' ? 'on the bridge, stateful firewall' : 'on the bridge, no NAT');
    lines.push(`  ${pad(`side ${side.name}`, 8)}${pad(side.natType, 22)}${hops.join(' → ')}; public ${side.publicAddress}`);
  }
  return lines;
}

function serverLines(servers: LabUpJson['servers'], alive?: Map<number, boolean>): string[] {
  const state = (pid: number): string => (alive === undefined ? `${pid}` : `${pid} ${alive.get(pid) ? 'alive' : 'DEAD'}`);
  const lines = [`  ${pad('STUN', 8)}${servers.stun} (RFC 5780: the alternate address and port come in OTHER-ADDRESS)`, `  ${pad('signal', 8)}${servers.signal}`];
  if (servers.turn) lines.push(`  ${pad('TURN', 8)}${servers.turn.url} (UDP and TCP, realm ${servers.turn.realm}; REST secret in ${servers.turn.secretFile})`);
  else lines.push(`  ${pad('TURN', 8)}none (--no-turn)`);
  lines.push(`  ${pad('PIDs', 8)}${servers.pids.map(state).join(', ')}`);
  return lines;
}

function prefixFlag(prefix: string): string {
  return prefix === 'np-' ? '' : ` --prefix ${prefix}`;
}

export function labUpText(report: LabUpJson): string {
  const { lab } = report;
  const flag = prefixFlag(lab.prefix);
  return [
    `Lab ${lab.prefix}${lab.id} is up in ${(report.durationMs / 1000).toFixed(2)} s: ${describeSpec(lab)}.`,
    ...topologyLines(lab),
    ...serverLines(report.servers),
    `State: ${report.stateFile}`,
    '',
    'Next:',
    `  nat-probe lab exec a${flag} -- nat-probe detect --server ${report.servers.stun}`,
    ...(lab.sides.length > 1 ? [`  nat-probe lab exec b${flag} -- nat-probe peer --signal ${report.servers.signal} --room demo --stun ${report.servers.stun}   (and the same in a)`] : []),
    `  nat-probe lab status${flag}`,
    `  nat-probe lab down${flag}`,
    '',
  ].join('\n');
}

export function labStatusText(report: LabStatusJson): string {
  const { lab } = report;
  const alive = new Map(report.servers.processes.map((process) => [process.pid, process.alive]));
  const lines = [`Lab ${lab.prefix}${lab.id} (up since ${report.createdAt}): ${describeSpec(lab)}.`, ...topologyLines(lab), ...serverLines(report.servers, alive)];
  const missing = report.namespaces.filter((ns) => !ns.exists).map((ns) => ns.namespace);
  if (missing.length > 0) lines.push(`  MISSING namespaces: ${missing.join(', ')} (run \`nat-probe lab down${prefixFlag(lab.prefix)}\`)`);
  for (const router of report.routers) {
    lines.push('', `${router.role === 'cgn' ? 'CGN' : 'Router'} ${router.namespace} (side ${router.side}, ${router.natType}, wan ${router.wan}):`);
    if (router.conntrack === null) lines.push('  conntrack: not installed (apt-get install conntrack) — mappings unknown');
    else lines.push(`  conntrack: ${router.conntrack.length} entr${router.conntrack.length === 1 ? 'y' : 'ies'}`);
    if (router.mappings.length === 0 && router.conntrack !== null) lines.push('  NAT mappings: none yet (send something from the client)');
    for (const mapping of router.mappings) {
      const arrow = mapping.direction === 'outbound' ? `${mapping.internal} → ${mapping.external} ⇄ ${mapping.remote}` : `${mapping.remote} → ${mapping.external} → ${mapping.internal}`;
      lines.push(`  ${pad(mapping.protocol, 4)}${pad(mapping.direction, 9)}${arrow}  (${mapping.timeoutSeconds}s left)`);
    }
    for (const set of router.dynamic) {
      lines.push(`  nft ${set.kind} ${set.name}: ${set.entries.length === 0 ? 'empty' : `${set.entries.length} element${set.entries.length === 1 ? '' : 's'}`}`);
      for (const entry of set.entries) lines.push(`    ${entry}`);
    }
  }
  lines.push('');
  return lines.join('\n');
}

export function labDownText(report: LabDownJson): string {
  const { processes } = report;
  const lines: string[] = [];
  if (processes.stopped.length > 0) lines.push(`Stopped server processes: ${processes.stopped.join(', ')}.`);
  if (processes.alreadyGone.length > 0) lines.push(`Already gone: ${processes.alreadyGone.join(', ')}.`);
  if (processes.foreign.length > 0) lines.push(`Left alone (no longer in a lab namespace, PID reused?): ${processes.foreign.join(', ')}.`);
  if (processes.survivors.length > 0) lines.push(`Still running after SIGKILL: ${processes.survivors.join(', ')}.`);
  if (report.namespaces.length > 0) lines.push(`Removed namespaces: ${report.namespaces.join(', ')}.`);
  if (report.files.length > 0) lines.push(`Removed files: ${report.files.join(', ')}.`);
  if (lines.length === 0) lines.push(`Nothing to remove: no lab with prefix "${report.prefix}".`);
  return `${lines.join('\n')}\n`;
}
