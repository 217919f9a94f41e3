import type { TransportAddress } from '../stun/index.js';

/** RFC 5780 §4.3 mapping behaviour. */
export type MappingBehaviour =
  | 'endpoint-independent'
  | 'address-dependent'
  | 'address-and-port-dependent'
  /** Varies by destination, but no same-IP/other-port pair was available to tell ADM from APDM. */
  | 'endpoint-dependent'
  | 'unknown';
/** RFC 5780 §4.4 filtering behaviour. */
export type FilteringBehaviour = 'endpoint-independent' | 'address-dependent' | 'address-and-port-dependent' | 'unknown';

/** What one probe asked for. `binding` is a plain request; the others carry CHANGE-REQUEST (RFC 5780 §7.2). */
export type ProbeTest = 'binding' | 'change-ip-and-port' | 'change-port' | 'hairpin';

/** The part of detection a probe belongs to; each section uses its own fresh sockets. */
export type ProbeSection = 'mapping' | 'filtering' | 'hairpin';

export type ProbeOutcome =
  | {
      kind: 'answered';
      mapped: TransportAddress;
      /** The source address of the answer, as the socket saw it. */
      from: TransportAddress;
      responseOrigin?: TransportAddress;
      otherAddress?: TransportAddress;
      rttMs: number;
      attempts: number;
    }
  /**
   * No answer. `complete` is true when every planned retransmission went out; a negative
   * result that was cut short by the overall deadline is never used as evidence.
   */
  | { kind: 'timeout'; attempts: number; waitedMs: number; complete: boolean }
  | { kind: 'error'; code: string; message: string };

/** One request and what came of it: the raw material `classify` reasons from. */
export interface ProbeObservation {
  /** Order in which probes were sent; port-allocation analysis needs it. */
  seq: number;
  section: ProbeSection;
  /** Index of the local socket within its section. */
  socket: number;
  local: TransportAddress;
  /** Label of the server (as the user gave it, or the built-in name). */
  server: string;
  target: TransportAddress;
  test: ProbeTest;
  outcome: ProbeOutcome;
}

/** What the probe learned about each server (RFC 5780 validation, §2 and §9). */
export interface ServerReport {
  label: string;
  primary: TransportAddress;
  /** OTHER-ADDRESS, when the server offered one. */
  alternate?: TransportAddress;
  reachable: boolean;
  rfc5780: 'valid' | 'absent' | 'invalid';
  /** Why a server is not trusted for RFC 5780 tests, when it is not. */
  problems: string[];
  rttMs?: number;
  /**
   * Datagrams that came back from this server's addresses but were no answer to any request:
   * an open port that speaks something other than STUN, a broken server or a middlebox.
   */
  stray: StrayDatagrams;
}

/** Counts of datagrams from a server that were not answers (see `StrayDatagrams` in detect.ts). */
export interface StrayDatagrams {
  /** Not STUN at all, or STUN that does not decode (RFC 8489 §5, §14.7). */
  malformed: number;
  /** Larger than any STUN answer to a Binding request over UDP can be (> 1500 bytes). */
  oversized: number;
  /** Valid STUN whose transaction ID matches no request this run sent (RFC 8489 §6.3.1). */
  unmatched: number;
  /** The first such datagram, for the report: its size and first bytes in hex. */
  first?: string;
}

export type PortAllocation =
  | { kind: 'preserved'; samples: number[] }
  | { kind: 'sequential'; delta: number; predictedNext: number; samples: number[] }
  | { kind: 'random'; samples: number[] }
  | { kind: 'unknown'; samples: number[] };

export type ClassicName =
  | 'open-internet'
  | 'full-cone'
  | 'restricted-cone'
  | 'port-restricted-cone'
  | 'symmetric'
  | 'symmetric-udp-firewall'
  | 'udp-blocked'
  | 'unknown';

export type VerdictKind = 'no-nat' | 'firewall' | 'nat' | 'udp-blocked' | 'inconclusive';

export interface NatVerdict {
  family: 4 | 6;
  kind: VerdictKind;
  mapping: MappingBehaviour;
  filtering: FilteringBehaviour;
  portAllocation: PortAllocation;
  hairpinning: 'supported' | 'unsupported' | 'not-tested' | 'unknown';
  classicName: ClassicName;
  /** The public address(es) seen by servers; more than one means the mapping varies. */
  publicAddresses: string[];
  confidence: 'high' | 'medium' | 'low';
  /** Evidence and caveats, in plain words, most important first. */
  reasons: string[];
  /**
   * Servers from which datagrams came back that were not STUN answers. When no STUN answer
   * came at all, these make the verdict inconclusive, never "UDP blocked": UDP got through.
   */
  notStun?: Array<{ server: string } & StrayDatagrams>;
}
