/**
 * The field layer's pure parts: the browser-side mapping verdict, the browser's ICE summary, the
 * customer's sentence, links (expiry and visits on a fake clock), sanitizing, user agents.
 */
import { describe, expect, it } from 'vitest';
import { BrowserFindings, customerResult, summarizeBrowserIce, summarizeGathering } from '../../src/field/findings.js';
import { FieldLinks } from '../../src/field/links.js';
import { untrusted } from '../../src/field/text.js';
import { summarizeUserAgent } from '../../src/field/user-agent.js';
import { FakeClock } from '../../src/transport/fake-clock.js';
import { htmlPathFor, listenOption } from '../../src/cli/commands/field.js';

const STUN = ['stun:203.0.113.1:3478', 'stun:203.0.113.2:3479'];

type Cand = Partial<BrowserFindings['gather']['candidates'][number]>;
function findings(candidates: Cand[], extra: { errors?: string[]; pairs?: BrowserFindings['ice']['pairs']; stats?: BrowserFindings['ice']['candidates']; selected?: string; connectedMs?: number | null } = {}): BrowserFindings {
  return BrowserFindings.parse({
    v: 1,
    userAgent: 'ua',
    gather: {
      candidates: candidates.map((c) => ({ candidate: 'candidate:1 1 udp 1 1.2.3.4 1 typ host', url: '', type: 'host', protocol: 'udp', address: '', port: 0, relatedAddress: '', relatedPort: 0, relayProtocol: '', ...c })),
      errors: (extra.errors ?? []).map((url) => ({ url, errorCode: 701, errorText: 'STUN host lookup received error.', address: '', port: 0 })),
      ms: 100,
      timedOut: false,
    },
    ice: { role: 'answerer', states: [], final: extra.connectedMs === null ? 'failed' : 'connected', connectedMs: extra.connectedMs === undefined ? 50 : extra.connectedMs, selectedPairId: extra.selected ?? null, pairs: extra.pairs ?? [], candidates: extra.stats ?? [] },
    signaling: { errors: [] },
    errors: [],
  });
}

const host = (port: number): Cand => ({ type: 'host', address: '192.168.1.20', port });
const srflx = (base: number, port: number, url: string): Cand => ({ type: 'srflx', address: '198.51.100.7', port, relatedAddress: '192.168.1.20', relatedPort: base, url });

describe('browser mapping verdict (RFC 4787 §4.1, from one socket and two servers)', () => {
  it('one mapped port per socket from two answering servers: endpoint-independent', () => {
    const g = summarizeGathering(findings([host(5000), srflx(5000, 40000, STUN[0]!)]), STUN);
    expect(g.mapping).toBe('endpoint-independent');
    expect(g.stunAnswered).toEqual(STUN);
  });

  it('two mapped ports for one socket: endpoint-dependent, naming both', () => {
    const g = summarizeGathering(findings([host(5000), srflx(5000, 40000, STUN[0]!), srflx(5000, 40001, STUN[1]!)]), STUN);
    expect(g.mapping).toBe('endpoint-dependent');
    expect(g.mappingDetail).toContain('198.51.100.7:40000 and 198.51.100.7:40001');
  });

  it('one server failed: unknown (two are needed); none answered: unknown; no srflx while they answered: no NAT', () => {
    expect(summarizeGathering(findings([host(5000), srflx(5000, 40000, STUN[0]!)], { errors: [STUN[1]!] }), STUN).mapping).toBe('unknown');
    expect(summarizeGathering(findings([host(5000)], { errors: STUN }), STUN).mapping).toBe('unknown');
    expect(summarizeGathering(findings([host(5000)]), STUN).mapping).toBe('no-nat');
    expect(summarizeGathering(findings([host(5000)]), []).mappingDetail).toBe('no STUN server configured');
  });

  it('counts a server error against the socket it names only (a loopback socket cannot reach a public server)', () => {
    const base = findings([host(5000), srflx(5000, 40000, STUN[0]!)]);
    const errors = STUN.map((url) => ({ url, errorCode: 701, errorText: 'UDP socket was closed.', address: '127.0.0.1', port: 6000 }));
    const g = summarizeGathering({ ...base, gather: { ...base.gather, errors } }, STUN);
    expect(g.mapping).toBe('endpoint-independent');
    const own = STUN.slice(1).map((url) => ({ url, errorCode: 701, errorText: 'timeout', address: '192.168.1.20', port: 5000 }));
    expect(summarizeGathering({ ...base, gather: { ...base.gather, errors: own } }, STUN).mapping).toBe('unknown');
  });

  it('says when mDNS hides host addresses, and when the browser withholds them', () => {
    const mdns = summarizeGathering(findings([{ type: 'host', address: '3f0c1a2e-1111-4222-8333-944445555666.local', port: 5000 }, srflx(5000, 40000, STUN[0]!)]), STUN);
    expect(mdns.mdnsHidden).toBe(true);
    const withheld = summarizeGathering(findings([{ ...srflx(0, 40000, STUN[0]!), relatedAddress: '0.0.0.0' }]), STUN);
    expect(withheld.hostHidden).toBe(true);
    expect(withheld.mdnsHidden).toBe(false);
  });

  it('lists the relay transports that gave a candidate', () => {
    const g = summarizeGathering(findings([{ type: 'relay', relayProtocol: 'tls' }, { type: 'relay', relayProtocol: 'udp' }, { type: 'relay', relayProtocol: 'udp' }]), STUN);
    expect(g.relayTransports).toEqual(['tls', 'udp']);
  });
});

describe('browser ICE summary and the customer sentence', () => {
  const stats = [
    { id: 'L1', side: 'local' as const, candidateType: 'relay', address: '203.0.113.9', port: 50000, protocol: 'udp', relayProtocol: 'tcp', url: 'turn:x' },
    { id: 'R1', side: 'remote' as const, candidateType: 'host', address: '::1', port: 4000, protocol: 'udp', relayProtocol: '', url: '' },
  ];
  const pair = { id: 'P1', state: 'succeeded', nominated: true, localCandidateId: 'L1', remoteCandidateId: 'R1', currentRoundTripTimeMs: 12.34, requestsSent: 2, responsesReceived: 2 };

  it('reads the selected pair from getStats, IPv6 in brackets', () => {
    const ice = summarizeBrowserIce(findings([], { pairs: [pair], stats, selected: 'P1' }));
    expect(ice).toMatchObject({ connected: true, selectedPairType: 'relay/host', selectedPair: '203.0.113.9:50000 -> [::1]:4000', selectedRttMs: 12.3, relayProtocol: 'tcp' });
  });

  it('words the result: direct, relay (with its transport), needs a relay, blocked, unfinished', () => {
    const gather = summarizeGathering(findings([{ type: 'relay', relayProtocol: 'tls' }]), STUN);
    const relayed = summarizeBrowserIce(findings([], { pairs: [pair], stats, selected: 'P1' }));
    const failed = summarizeBrowserIce(findings([], { connectedMs: null }));
    expect(customerResult(gather, relayed, { connected: true, succeededPairTypes: ['host/host'] }).code).toBe('direct');
    expect(customerResult(gather, relayed, { connected: true, succeededPairTypes: [] })).toEqual({ code: 'relay', sentence: 'Your network needs a relay for calls, and the relay works over TCP.' });
    expect(customerResult(gather, failed, { connected: false, succeededPairTypes: [] }).sentence).toContain('a relay over TLS (port 443) is reachable');
    expect(customerResult(summarizeGathering(findings([]), STUN), failed, { connected: false, succeededPairTypes: [] }).code).toBe('blocked');
    expect(customerResult(undefined, undefined, undefined).code).toBe('unfinished');
    expect(customerResult(undefined, failed, { connected: false, succeededPairTypes: [] }, false).code).toBe('no-webrtc');
  });

  it('refuses findings out of bounds', () => {
    const base = findings([]);
    expect(BrowserFindings.safeParse({ ...base, v: 2 }).success).toBe(false);
    expect(BrowserFindings.safeParse({ ...base, errors: Array.from({ length: 33 }, () => 'x') }).success).toBe(false);
    expect(BrowserFindings.safeParse({ ...base, userAgent: 'x'.repeat(5000) }).success).toBe(false);
    expect(BrowserFindings.safeParse({ ...base, extra: 1 }).success).toBe(true); // unknown keys are dropped
  });
});

describe('links', () => {
  it('serve one visit, expire after the TTL, and know nothing of other tokens', () => {
    const clock = new FakeClock(1_000);
    const links = new FieldLinks(clock, { ttlMs: 3_600_000, visitsPerLink: 1 });
    const a = links.issue();
    const b = links.issue();
    expect(a.token).not.toBe(b.token);
    expect(links.take(a.token)).toBe(true);
    expect(links.take(a.token)).toBe(false);
    expect(links.take('x'.repeat(22))).toBe(false);
    expect(links.take('../etc')).toBe(false);
    clock.advance(3_600_000);
    expect(links.take(b.token)).toBe(false);
    expect(links.live()).toBe(0);
  });

  it('serve n visits when told', () => {
    const links = new FieldLinks(new FakeClock(), { ttlMs: 1_000, visitsPerLink: 3 });
    const { token } = links.issue();
    expect([links.take(token), links.take(token), links.take(token), links.take(token)]).toEqual([true, true, true, false]);
  });
});

describe('sanitizing and naming', () => {
  it('makes controls, DEL, C1 and bidi overrides visible, and bounds the length', () => {
    expect(untrusted('a\u001b[31mb\u0007\u009b\u202ec\u007f')).toBe('a\\u{1b}[31mb\\u{7}\\u{9b}\\u{202e}c\\u{7f}');
    expect(untrusted('x'.repeat(10), 4)).toBe('xxxx…');
    expect(untrusted(undefined)).toBe('');
  });

  it('names browsers and systems from user agents', () => {
    expect(summarizeUserAgent('Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86')).toEqual({ browser: 'Edge 131', os: 'Windows' });
    expect(summarizeUserAgent('Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1')).toEqual({ browser: 'Safari 17', os: 'iOS' });
    expect(summarizeUserAgent('Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0')).toEqual({ browser: 'Firefox 133', os: 'Linux' });
    expect(summarizeUserAgent(undefined)).toEqual({ browser: 'unknown browser', os: 'unknown OS' });
  });

  it('parses --listen and names the HTML file of each visit', () => {
    expect(listenOption('0.0.0.0:8480')).toEqual({ host: '0.0.0.0', port: 8480 });
    expect(listenOption('[::1]:0')).toEqual({ host: '::1', port: 0 });
    expect(() => listenOption('8480')).toThrow(/HOST:PORT/);
    expect(() => listenOption('a:70000')).toThrow(/HOST:PORT/);
    expect(() => listenOption('[::zz]:8480')).toThrow(/HOST:PORT/);
    expect(htmlPathFor('out/visit.html', 1)).toBe('out/visit.html');
    expect(htmlPathFor('out/visit.html', 3)).toBe('out/visit-v3.html');
    expect(htmlPathFor('out.d/visit', 2)).toBe('out.d/visit-v2');
  });
});
