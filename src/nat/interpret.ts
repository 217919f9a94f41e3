import { compatibilityFor, describeClassicName, type Compatibility } from './compatibility.js';
import type { NatVerdict } from './types.js';

/** What a verdict means for a person shipping peer-to-peer media. */
export interface Interpretation {
  /** One line, e.g. "Port-restricted cone NAT". */
  headline: string;
  /** Mapping / filtering in RFC 4787 shorthand, e.g. "EIM / APDF". */
  behaviour: string;
  meaning: string;
  /** Peer types a direct (non-relayed) connection is expected to work with; null without a verdict. */
  compatibility: Compatibility | null;
}

const HEADLINES: Record<NatVerdict['classicName'], string> = {
  'open-internet': 'No NAT (open internet)',
  'full-cone': 'Full-cone NAT',
  'restricted-cone': 'Restricted-cone NAT',
  'port-restricted-cone': 'Port-restricted cone NAT',
  symmetric: 'Symmetric NAT',
  'symmetric-udp-firewall': 'No NAT, behind a UDP firewall',
  'udp-blocked': 'UDP blocked',
  unknown: 'Inconclusive',
};

const SHORT: Record<string, string> = {
  'endpoint-independent': 'EI',
  'address-dependent': 'AD',
  'address-and-port-dependent': 'APD',
  'endpoint-dependent': 'AD-or-APD',
  unknown: '?',
};

export function interpret(verdict: NatVerdict): Interpretation {
  const behaviour = `${SHORT[verdict.mapping]}M / ${SHORT[verdict.filtering]}F`;
  let headline = HEADLINES[verdict.classicName];
  const noStunAnswer = verdict.kind === 'inconclusive' && verdict.publicAddresses.length === 0 && (verdict.notStun?.length ?? 0) > 0;
  if (noStunAnswer) headline = 'Something answers, but not STUN';
  else if (verdict.kind === 'inconclusive') headline = `Inconclusive (${behaviour})`;
  else if (verdict.kind === 'no-nat' && verdict.classicName === 'unknown') headline = 'No NAT (filtering not tested)';

  let meaning = noStunAnswer
    ? 'UDP gets out and something answers, but not with STUN: the port may belong to another service, or a middlebox rewrites the traffic. Nothing is known about the NAT yet.'
    : describeClassicName(verdict.classicName);
  const allocation = verdict.portAllocation;
  if (allocation.kind === 'sequential') {
    meaning += ` New mappings get consecutive ports (step ${allocation.delta}); the next is likely ${allocation.predictedNext}, so port prediction could still punch through.`;
  }
  const decided = verdict.kind === 'no-nat' || verdict.kind === 'firewall' || verdict.kind === 'nat';
  return { headline, behaviour, meaning, compatibility: decided ? (compatibilityFor(verdict) ?? null) : null };
}
