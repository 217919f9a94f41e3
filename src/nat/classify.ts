import { sameIp, type TransportAddress } from '../stun/index.js';
import { analysePortAllocation } from './port-allocation.js';
import type {
  ClassicName,
  FilteringBehaviour,
  MappingBehaviour,
  NatVerdict,
  ProbeObservation,
  ServerReport,
  VerdictKind,
} from './types.js';

export interface ClassifyInput {
  family: 4 | 6;
  observations: readonly ProbeObservation[];
  servers: readonly ServerReport[];
  /** This host's interface addresses; a mapped address among them means no NAT. */
  localAddresses: readonly string[];
  hairpinTested: boolean;
}

type Answered = ProbeObservation & { outcome: Extract<ProbeObservation['outcome'], { kind: 'answered' }> };

const isAnswered = (o: ProbeObservation): o is Answered => o.outcome.kind === 'answered';
const sameAddress = (a: TransportAddress, b: TransportAddress): boolean => a.port === b.port && sameIp(a.address, b.address);
const key = (a: TransportAddress): string => `${a.address}:${a.port}`;

/**
 * The NAT verdict as a pure function of what the probes observed (RFC 5780 §4). Never guesses:
 * a behaviour without trustworthy evidence is 'unknown', and the reasons say why.
 */
export function classify(input: ClassifyInput): NatVerdict {
  const reasons: string[] = [];
  const answered = input.observations.filter(isAnswered);
  const portAllocation = analysePortAllocation(input.observations);
  const hairpinning = classifyHairpin(input);
  const notStun = strayReport(input.servers);
  const base = { family: input.family, portAllocation, hairpinning, ...(notStun.length > 0 ? { notStun } : {}) };

  if (answered.length === 0) {
    const unanswered = { ...base, mapping: 'unknown' as const, filtering: 'unknown' as const, publicAddresses: [] as string[] };
    // Nothing usable came back; an inconclusive verdict that says why, unless UDP is truly blocked.
    const inconclusive = (reasons: string[]): NatVerdict => ({ ...unanswered, kind: 'inconclusive', classicName: 'unknown', confidence: 'low', reasons });
    if (notStun.length > 0) {
      // Datagrams came back, so UDP is not blocked: whatever listens there is not a STUN server
      // (or the path rewrites it). Saying "UDP blocked" here would send people to fix the wrong thing.
      return inconclusive([
        ...notStun.map(describeNotStun),
        `None of ${input.observations.length} requests got a STUN answer, but UDP is not blocked: check the server address and port, or use another STUN server.`,
      ]);
    }
    const errors = input.observations.filter((o) => o.outcome.kind === 'error');
    if (errors.length > 0 && errors.length === input.observations.length) {
      const first = errors[0]!.outcome as Extract<ProbeObservation['outcome'], { kind: 'error' }>;
      return inconclusive([`Every probe failed to send: ${first.message}`]);
    }
    return {
      ...unanswered,
      kind: 'udp-blocked',
      classicName: 'udp-blocked',
      confidence: input.observations.length >= 3 ? 'high' : 'medium',
      reasons: [`None of ${input.observations.length} requests to ${input.servers.length} server(s) was answered, after retransmissions.`],
    };
  }

  const publicAddresses = [...new Set(answered.map((o) => o.outcome.mapped.address))];
  const behindNat = detectNat(answered, input.localAddresses, reasons);
  const mapping = behindNat ? classifyMapping(input.observations, reasons) : 'endpoint-independent';
  const filtering = classifyFiltering(input.observations, input.servers, reasons);

  let kind: VerdictKind;
  let classicName: ClassicName;
  if (!behindNat) {
    kind = filtering === 'endpoint-independent' || filtering === 'unknown' ? 'no-nat' : 'firewall';
    classicName =
      filtering === 'endpoint-independent' ? 'open-internet' : filtering === 'unknown' ? 'unknown' : 'symmetric-udp-firewall';
  } else if (mapping === 'unknown') {
    kind = 'inconclusive';
    classicName = 'unknown';
  } else if (mapping !== 'endpoint-independent') {
    // RFC 3489's "symmetric" covers every destination-dependent mapping, whatever the filtering.
    kind = 'nat';
    classicName = 'symmetric';
  } else if (filtering === 'unknown') {
    kind = 'inconclusive';
    classicName = 'unknown';
    reasons.unshift('Mapping is endpoint-independent, but filtering could not be tested, so the cone type is unknown.');
  } else {
    kind = 'nat';
    classicName =
      filtering === 'endpoint-independent' ? 'full-cone' : filtering === 'address-dependent' ? 'restricted-cone' : 'port-restricted-cone';
  }

  for (const stray of notStun) reasons.push(describeNotStun(stray));
  return {
    ...base,
    kind,
    mapping,
    filtering,
    classicName,
    publicAddresses,
    confidence: confidenceOf(input.observations, mapping, filtering, behindNat),
    reasons,
  };
}

function strayReport(servers: readonly ServerReport[]): NonNullable<NatVerdict['notStun']> {
  return servers
    .filter((s) => s.stray.malformed + s.stray.oversized + s.stray.unmatched > 0)
    .map((s) => ({ server: s.label, ...s.stray }));
}

/** "Something answers on that port, but not STUN: 4 malformed … from stun.example (first: …)." */
export function describeNotStun(stray: NonNullable<NatVerdict['notStun']>[number]): string {
  const parts = [
    stray.malformed > 0 ? `${stray.malformed} malformed` : '',
    stray.oversized > 0 ? `${stray.oversized} oversized` : '',
    stray.unmatched > 0 ? `${stray.unmatched} with unknown transaction IDs` : '',
  ].filter(Boolean);
  const total = stray.malformed + stray.oversized + stray.unmatched;
  return `Something answers on that port, but not STUN: ${total} datagram(s) came back from ${stray.server} (${parts.join(', ')})${stray.first ? `; first: ${stray.first}` : ''}.`;
}

/**
 * No NAT when every mapped address is one of this host's own addresses with the local port
 * unchanged. Tools that bind 0.0.0.0 and compare that with the mapped address cannot tell.
 */
function detectNat(answered: readonly Answered[], localAddresses: readonly string[], reasons: string[]): boolean {
  const isLocal = (address: string): boolean => localAddresses.some((local) => sameIp(local, address));
  const translated = answered.filter((o) => !isLocal(o.outcome.mapped.address) || o.outcome.mapped.port !== o.local.port);
  if (translated.length === 0) {
    reasons.push(`The servers see this host's own address (${answered[0]!.outcome.mapped.address}) and local ports unchanged: no NAT.`);
    return false;
  }
  const example = translated[0]!;
  if (isLocal(example.outcome.mapped.address)) {
    reasons.push(`The public address is this host's own, but port ${example.local.port} became ${example.outcome.mapped.port}: a port-translating firewall or NAT on this host.`);
  } else {
    reasons.push(`Local port ${example.local.port} is seen as ${key(example.outcome.mapped)}: this host is behind NAT.`);
  }
  return true;
}

/** RFC 5780 §4.3, generalised to any set of destinations per socket. */
function classifyMapping(observations: readonly ProbeObservation[], reasons: string[]): MappingBehaviour {
  const bySocket = new Map<number, Answered[]>();
  for (const o of observations) {
    if (o.section !== 'mapping' || !isAnswered(o)) continue;
    bySocket.set(o.socket, [...(bySocket.get(o.socket) ?? []), o]);
  }
  const verdicts: MappingBehaviour[] = [];
  for (const probes of bySocket.values()) {
    const verdict = mappingForSocket(probes);
    if (verdict !== 'unknown') verdicts.push(verdict);
  }
  if (verdicts.length === 0) {
    reasons.push('No local socket reached two different server addresses, so mapping behaviour is unknown (the server needs an alternate address, or give a second --server).');
    return 'unknown';
  }
  const counts = new Map<MappingBehaviour, number>();
  for (const v of verdicts) counts.set(v, (counts.get(v) ?? 0) + 1);
  const [winner, votes] = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]!;
  if (counts.size > 1) {
    reasons.push(`Local sockets disagree on mapping (${[...counts.entries()].map(([k, n]) => `${n}× ${k}`).join(', ')}); the NAT may be running out of ports or load-balancing over several public addresses.`);
  } else {
    reasons.push(`Mapping is ${winner} on ${votes} of ${verdicts.length} local socket(s).`);
  }
  return winner;
}

function mappingForSocket(probes: readonly Answered[]): MappingBehaviour {
  let differentIpPairs = 0;
  let differentIpChanged = false;
  let sameIpPairs = 0;
  let sameIpChanged = false;
  for (let i = 0; i < probes.length; i++) {
    for (let j = i + 1; j < probes.length; j++) {
      const a = probes[i]!;
      const b = probes[j]!;
      if (sameAddress(a.target, b.target)) continue;
      const changed = !sameAddress(a.outcome.mapped, b.outcome.mapped);
      if (sameIp(a.target.address, b.target.address)) {
        sameIpPairs++;
        sameIpChanged ||= changed;
      } else {
        differentIpPairs++;
        differentIpChanged ||= changed;
      }
    }
  }
  if (sameIpChanged) return 'address-and-port-dependent';
  if (differentIpChanged) return sameIpPairs > 0 ? 'address-dependent' : 'endpoint-dependent';
  if (differentIpPairs > 0) return 'endpoint-independent';
  return 'unknown';
}

/**
 * RFC 5780 §4.4. A missing answer counts as evidence only when the same socket's plain request
 * to the primary address was answered (so the path works) and the server showed, by answering
 * from the address in question, that it can send from there.
 */
function classifyFiltering(
  observations: readonly ProbeObservation[],
  servers: readonly ServerReport[],
  reasons: string[],
): FilteringBehaviour {
  const trusted = new Set(servers.filter((s) => s.rfc5780 === 'valid').map((s) => s.label));
  const filtering = observations.filter((o) => o.section === 'filtering' && trusted.has(o.server));
  if (filtering.length === 0) {
    reasons.push(
      servers.some((s) => s.rfc5780 === 'invalid')
        ? 'Filtering was not tested: no server passed RFC 5780 validation (see the server report).'
        : 'Filtering was not tested: no server offers RFC 5780 (OTHER-ADDRESS); use one that does.',
    );
    return 'unknown';
  }
  const provenSources = provenServerSources(observations);
  const result = (test: 'change-ip-and-port' | 'change-port'): 'passed' | 'blocked' | 'unknown' => {
    let passed = 0;
    let blocked = 0;
    for (const probe of filtering.filter((o) => o.test === test)) {
      if (isAnswered(probe)) {
        passed++;
        continue;
      }
      const control = filtering.find((o) => o.socket === probe.socket && o.test === 'binding');
      const server = servers.find((s) => s.label === probe.server);
      const expectedSource = server?.alternate && expectedChangedSource(server.primary, server.alternate, test);
      if (probe.outcome.kind === 'timeout' && probe.outcome.complete && control && isAnswered(control) && expectedSource && provenSources.has(key(expectedSource))) {
        blocked++;
      }
    }
    if (passed > 0 && blocked > 0) {
      reasons.push(`Filtering test ${test} was answered on ${passed} socket(s) but not on ${blocked}: packet loss or an unstable NAT.`);
    }
    if (passed > 0) return 'passed';
    if (blocked > 0) return 'blocked';
    return 'unknown';
  };
  const changeBoth = result('change-ip-and-port');
  if (changeBoth === 'passed') {
    reasons.push('Answers from the server’s other IP and port got through: filtering is endpoint-independent.');
    return 'endpoint-independent';
  }
  const changePort = result('change-port');
  if (changeBoth === 'blocked' && changePort === 'passed') {
    reasons.push('Answers from another IP were dropped, answers from the same IP on another port got through: address-dependent filtering.');
    return 'address-dependent';
  }
  if (changeBoth === 'blocked' && changePort === 'blocked') {
    reasons.push('Answers from any address other than the one asked were dropped: address-and-port-dependent filtering.');
    return 'address-and-port-dependent';
  }
  reasons.push('Filtering is unknown: a negative result could not be trusted (the control request on the same socket was lost, or the server never proved it can answer from its alternate address).');
  return 'unknown';
}

function expectedChangedSource(primary: TransportAddress, alternate: TransportAddress, test: 'change-ip-and-port' | 'change-port'): TransportAddress {
  return test === 'change-ip-and-port' ? alternate : { ...primary, port: alternate.port };
}

/** Server addresses that demonstrably answered us: a mapping probe sent there got a reply from there. */
function provenServerSources(observations: readonly ProbeObservation[]): Set<string> {
  const proven = new Set<string>();
  for (const o of observations) {
    if (isAnswered(o) && o.test === 'binding' && sameAddress(o.outcome.from, o.target)) proven.add(key(o.target));
  }
  return proven;
}

function classifyHairpin(input: ClassifyInput): NatVerdict['hairpinning'] {
  if (!input.hairpinTested) return 'not-tested';
  const probes = input.observations.filter((o) => o.section === 'hairpin' && o.test === 'hairpin');
  if (probes.length === 0) return 'unknown';
  if (probes.some(isAnswered)) return 'supported';
  return probes.every((o) => o.outcome.kind === 'timeout' && o.outcome.complete) ? 'unsupported' : 'unknown';
}

function confidenceOf(
  observations: readonly ProbeObservation[],
  mapping: MappingBehaviour,
  filtering: FilteringBehaviour,
  behindNat: boolean,
): NatVerdict['confidence'] {
  if ((behindNat && mapping === 'unknown') || filtering === 'unknown') return 'low';
  const mappingSockets = new Set(observations.filter((o) => o.section === 'mapping' && isAnswered(o)).map((o) => o.socket)).size;
  const filteringSockets = new Set(observations.filter((o) => o.section === 'filtering').map((o) => o.socket)).size;
  return mappingSockets >= 2 && filteringSockets >= 2 ? 'high' : 'medium';
}
