import { computePriority, familyOf, type Candidate, type CandidateType } from '../../src/ice/candidate.js';

export interface CandidateSpec {
  type?: CandidateType;
  address: string;
  port: number;
  foundation?: string;
  localPreference?: number;
  component?: number;
  relatedAddress?: string;
  relatedPort?: number;
  priority?: number;
}

/** A candidate with an RFC priority; foundation defaults to type+address (same IP ⇒ same foundation). */
export function cand(spec: CandidateSpec): Candidate {
  const type = spec.type ?? 'host';
  const component = spec.component ?? 1;
  return {
    foundation: spec.foundation ?? `${type}${spec.address.replace(/[^A-Za-z0-9]/g, '')}`.slice(0, 32),
    component,
    transport: 'udp',
    priority: spec.priority ?? computePriority(type, spec.localPreference ?? 65535, component),
    address: spec.address,
    port: spec.port,
    type,
    family: familyOf(spec.address) ?? 4,
    ...(spec.relatedAddress !== undefined ? { relatedAddress: spec.relatedAddress, relatedPort: spec.relatedPort ?? 0 } : {}),
  };
}
