/**
 * What the customer's page reports (POST /v/<visit>/findings), parsed strictly and bounded, and
 * what nat-probe concludes from it: the browser-side mapping verdict, the relay transports that
 * worked, and the one sentence the customer is shown. The page only collects; every judgement is
 * made here, in pure functions, so the terminal, the reports and the page say the same thing.
 */
import { z } from 'zod';
import { untrusted } from './text.js';

const str = (max: number) => z.string().max(max * 4).transform((s) => untrusted(s, max));
const num = z.number().finite();

const GatherCandidate = z.object({
  candidate: str(300),
  url: str(200),
  type: str(10),
  protocol: str(10),
  address: str(100),
  port: num.int().min(0).max(65535),
  relatedAddress: str(100),
  relatedPort: num.int().min(0).max(65535),
  relayProtocol: str(10),
});

const StatsCandidate = z.object({
  id: str(100),
  side: z.enum(['local', 'remote']),
  candidateType: str(10),
  address: str(100),
  port: num.int().min(0).max(65535),
  protocol: str(10),
  relayProtocol: str(10),
  url: str(200),
});

const StatsPair = z.object({
  id: str(100),
  state: str(20),
  nominated: z.boolean(),
  localCandidateId: str(100),
  remoteCandidateId: str(100),
  currentRoundTripTimeMs: num.min(0).nullable(),
  requestsSent: num.min(0),
  responsesReceived: num.min(0),
});

/** The page's report. Every string is sanitized on the way in (text.ts); arrays are capped. */
export const BrowserFindings = z.object({
  v: z.literal(1),
  userAgent: str(400),
  /** False when the browser has no RTCPeerConnection (WebRTC turned off). */
  webrtc: z.boolean().optional(),
  gather: z.object({
    candidates: z.array(GatherCandidate).max(64),
    errors: z.array(z.object({ url: str(200), errorCode: num, errorText: str(200), address: str(100).optional(), port: num.int().min(0).max(65535).optional() })).max(32),
    ms: num.nullable(),
    timedOut: z.boolean(),
  }),
  ice: z.object({
    role: z.enum(['offerer', 'answerer']),
    states: z.array(z.object({ state: str(20), atMs: num })).max(32),
    final: str(20),
    endedBecause: str(40).optional(),
    connectedMs: num.nullable(),
    selectedPairId: str(100).nullable(),
    pairs: z.array(StatsPair).max(128),
    candidates: z.array(StatsCandidate).max(128),
  }),
  signaling: z.object({ errors: z.array(str(40)).max(16) }),
  errors: z.array(str(200)).max(32),
});
export type BrowserFindings = z.infer<typeof BrowserFindings>;

/** Largest findings body accepted, in bytes. */
export const MAX_FINDINGS_BYTES = 64 * 1024;

export type BrowserMapping = 'endpoint-independent' | 'endpoint-dependent' | 'no-nat' | 'unknown';

export interface BrowserGatherSummary {
  readonly hostCandidates: number;
  readonly srflxCandidates: number;
  readonly relayCandidates: number;
  /** Host addresses hidden behind mDNS `.local` names (the browser did not grant media permission). */
  readonly mdnsHidden: boolean;
  /**
   * No host candidate at all, only server-reflexive ones with a hidden base (raddr 0.0.0.0): the
   * browser withholds its local addresses (no media permission and mDNS off).
   */
  readonly hostHidden: boolean;
  readonly mapping: BrowserMapping;
  /** Why the mapping verdict is what it is, in one line. */
  readonly mappingDetail: string;
  /** STUN server URLs that answered (no icecandidateerror for them). */
  readonly stunAnswered: readonly string[];
  /** Relay transports that gave a relayed candidate ('udp' | 'tcp' | 'tls'). */
  readonly relayTransports: readonly string[];
}

export interface BrowserIceSummary {
  readonly connected: boolean;
  readonly finalState: string;
  readonly connectedMs: number | null;
  /** `local/remote` candidate types of the pair the browser selected, e.g. `host/host`. */
  readonly selectedPairType: string | null;
  readonly selectedPair: string | null;
  readonly selectedRttMs: number | null;
  readonly relayProtocol: string | null;
  readonly pairs: readonly { readonly pair: string; readonly pairType: string; readonly state: string; readonly nominated: boolean; readonly rttMs: number | null }[];
}

/** RFC 7065: turns: is TLS, ?transport=tcp is TCP, else UDP; '' when the URL is not TURN. */
function transportOfTurnUrl(url: string): string {
  if (url.startsWith('turns:')) return 'tls';
  if (!url.startsWith('turn:')) return '';
  return /[?&]transport=tcp\b/i.test(url) ? 'tcp' : 'udp';
}

const isHidden = (address: string): boolean => address.endsWith('.local');
const hiddenRelated = (address: string): boolean => address === '' || address === '0.0.0.0' || address === '::';

/**
 * The browser's own mapping verdict (RFC 4787 §4.1): one host socket, several STUN servers on
 * different addresses/ports. Chromium gathers from every server through the same socket and
 * drops a server-reflexive candidate identical to one it already has, so:
 *  - two server-reflexive ports (or addresses) for the same base: the mapping depends on the
 *    destination (endpoint-dependent, i.e. address- or address-and-port-dependent);
 *  - one per base while at least two servers answered: endpoint-independent;
 *  - none while servers answered: they saw the browser's own address (no NAT between; Chromium
 *    drops a server-reflexive candidate equal to its host candidate unless mDNS hides it).
 */
export function summarizeGathering(findings: BrowserFindings, stunUrls: readonly string[]): BrowserGatherSummary {
  const candidates = findings.gather.candidates;
  const host = candidates.filter((c) => c.type === 'host');
  const srflx = candidates.filter((c) => c.type === 'srflx' && c.protocol === 'udp');
  const relay = candidates.filter((c) => c.type === 'relay');
  const mdnsHidden = host.some((c) => isHidden(c.address));
  // Chromium reports an error per local socket and server (a loopback socket cannot reach a
  // public server: "UDP socket was closed"), so a server counts as failed for a socket only when
  // an error names that socket, or names none (hidden address: assume the worst).
  const failedFor = (base: string): Set<string> =>
    new Set(findings.gather.errors.filter((e) => e.address === undefined || e.address === '' || `${e.address}:${e.port ?? 0}` === base).map((e) => e.url));
  const answeredFor = (base: string): string[] => {
    const failed = failedFor(base);
    return stunUrls.filter((url) => !failed.has(url));
  };
  // relayProtocol when the browser gives it; otherwise the TURN URL that made the candidate says.
  const relayTransports = [...new Set(relay.map((c) => c.relayProtocol || transportOfTurnUrl(c.url)).filter((p) => p !== ''))].sort();

  const bases = new Map<string, Set<string>>();
  for (const c of srflx) {
    const base = hiddenRelated(c.relatedAddress) ? 'hidden' : `${c.relatedAddress}:${c.relatedPort}`;
    const mapped = bases.get(base) ?? new Set<string>();
    mapped.add(`${c.address}:${c.port}`);
    bases.set(base, mapped);
  }
  const baseKeys = [...bases.keys()];
  // Servers that answered some socket: for the report; the verdict below looks per socket.
  const stunAnswered =
    baseKeys.length > 0
      ? stunUrls.filter((url) => baseKeys.some((base) => answeredFor(base).includes(url)))
      : stunUrls.filter((url) => !findings.gather.errors.some((e) => e.url === url));
  const comparable = baseKeys.some((base) => answeredFor(base).length >= 2);
  let mapping: BrowserMapping;
  let mappingDetail: string;
  const spread = [...bases.values()].find((mapped) => mapped.size > 1);
  if (stunUrls.length === 0) {
    mapping = 'unknown';
    mappingDetail = 'no STUN server configured';
  } else if (spread !== undefined) {
    mapping = 'endpoint-dependent';
    mappingDetail = `one socket was seen as ${[...spread].join(' and ')} by different servers`;
  } else if (srflx.length === 0) {
    mapping = stunAnswered.length > 0 && host.length > 0 ? 'no-nat' : 'unknown';
    mappingDetail = stunAnswered.length > 0 ? 'the servers saw the browser\'s own address (no server-reflexive candidate)' : 'no STUN server answered';
  } else if (comparable) {
    mapping = 'endpoint-independent';
    const hosts = new Set(stunUrls.map((url) => url.replace(/^stuns?:/, '').replace(/:\d+$/, '')));
    mappingDetail = `${stunAnswered.length} servers saw the same mapped port per socket${hosts.size === 1 ? ' (they differ in port only: an address-dependent mapping would look the same)' : ''}`;
  } else {
    mapping = 'unknown';
    mappingDetail = 'only one STUN server answered: two are needed to compare';
  }
  const hostHidden = host.length === 0 && srflx.length > 0 && srflx.every((c) => hiddenRelated(c.relatedAddress));
  return { hostCandidates: host.length, srflxCandidates: srflx.length, relayCandidates: relay.length, mdnsHidden, hostHidden, mapping, mappingDetail, stunAnswered, relayTransports };
}

/** The browser's ICE outcome from iceConnectionState and getStats() (no DTLS: see page-script.ts). */
export function summarizeBrowserIce(findings: BrowserFindings): BrowserIceSummary {
  const ice = findings.ice;
  const byId = new Map(ice.candidates.map((c) => [c.id, c]));
  const describe = (id: string): { type: string; text: string; relayProtocol: string } => {
    const c = byId.get(id);
    return c === undefined ? { type: '?', text: '?', relayProtocol: '' } : { type: c.candidateType || '?', text: `${c.address.includes(':') ? `[${c.address}]` : c.address}:${c.port}`, relayProtocol: c.relayProtocol };
  };
  const pairs = ice.pairs.map((p) => {
    const local = describe(p.localCandidateId);
    const remote = describe(p.remoteCandidateId);
    return { pair: `${local.text} -> ${remote.text}`, pairType: `${local.type}/${remote.type}`, state: p.state, nominated: p.nominated, rttMs: p.currentRoundTripTimeMs !== null ? Math.round(p.currentRoundTripTimeMs * 10) / 10 : null, relayProtocol: local.relayProtocol };
  });
  const selectedIndex = ice.pairs.findIndex((p) => p.id === ice.selectedPairId);
  const fallbackIndex = ice.pairs.findIndex((p) => p.nominated && p.state === 'succeeded');
  const selected = pairs[selectedIndex >= 0 ? selectedIndex : fallbackIndex];
  const connected = ice.connectedMs !== null;
  return {
    connected,
    finalState: ice.final,
    connectedMs: ice.connectedMs,
    selectedPairType: selected?.pairType ?? null,
    selectedPair: selected?.pair ?? null,
    selectedRttMs: selected?.rttMs ?? null,
    relayProtocol: selected !== undefined && selected.relayProtocol !== '' ? selected.relayProtocol : null,
    pairs: pairs.map(({ relayProtocol: _r, ...rest }) => rest),
  };
}

export type CustomerResultCode = 'direct' | 'relay' | 'needs-relay' | 'blocked' | 'no-webrtc' | 'unfinished';

export interface CustomerResult {
  readonly code: CustomerResultCode;
  readonly sentence: string;
}

/** nat-probe's side of the same visit, as far as the sentence needs it. */
export interface NatProbeSideOutcome {
  readonly connected: boolean;
  /** Types of the pairs that succeeded, e.g. ['host/host', 'relay/srflx']. */
  readonly succeededPairTypes: readonly string[];
}

const TRANSPORT_WORDS: Readonly<Record<string, string>> = { udp: 'UDP', tcp: 'TCP', tls: 'TLS (port 443)' };

/** The one plain sentence the customer sees (and the engineer's report repeats). */
export function customerResult(gather: BrowserGatherSummary | undefined, ice: BrowserIceSummary | undefined, natProbe: NatProbeSideOutcome | undefined, webrtc = true): CustomerResult {
  // Not the network's fault: the browser cannot make calls at all.
  if (!webrtc) return { code: 'no-webrtc', sentence: 'This browser has WebRTC turned off, so calls cannot work in it. Try another browser, or ask your IT team.' };
  if (ice === undefined && natProbe === undefined) return { code: 'unfinished', sentence: 'The test could not finish. Please tell your engineer.' };
  const connected = (ice?.connected ?? false) || (natProbe?.connected ?? false);
  const types = [...(natProbe?.succeededPairTypes ?? []), ...(ice?.selectedPairType !== null && ice?.selectedPairType !== undefined ? [ice.selectedPairType] : [])];
  const direct = types.some((t) => !t.includes('relay'));
  if (connected && direct) return { code: 'direct', sentence: 'Direct connections work from your network: calls should connect without help.' };
  const relayWords = (gather?.relayTransports ?? []).map((p) => TRANSPORT_WORDS[p] ?? p);
  if (connected) {
    const via = ice?.relayProtocol !== null && ice?.relayProtocol !== undefined ? TRANSPORT_WORDS[ice.relayProtocol] ?? ice.relayProtocol : relayWords[0];
    return { code: 'relay', sentence: `Your network needs a relay for calls, and the relay works${via !== undefined ? ` over ${via}` : ''}.` };
  }
  if (relayWords.length > 0) return { code: 'needs-relay', sentence: `Your network blocks direct connections; a relay over ${relayWords.join(' and ')} is reachable, so calls need to go through it.` };
  return { code: 'blocked', sentence: 'Your network blocked every connection we tried. Your engineer will explain the next steps.' };
}
