import { render } from 'ink-testing-library';
import { createElement } from 'react';
import { describe, expect, it } from 'vitest';
import type { DetectEvent } from '../../src/events.js';
import { keepaliveAdvice } from '../../src/nat/index.js';
import { DetectView } from '../../src/ui/DetectView.js';
import { initialDetectViewState, reduceDetectEvent, withResults } from '../../src/ui/detect-state.js';

describe('DetectView: port mapping and mapping lifetime', () => {
  it('ticks off each gateway protocol and shows the lifetime search while it runs', () => {
    const events: DetectEvent[] = [
      { type: 'detect-phase', at: 0, family: 4, phase: 'discovery', planned: 0, finished: 0 },
      { type: 'portmap-result', at: 3, gateway: '198.51.100.1', report: { protocol: 'nat-pmp', present: true, version: '0', externalAddress: '100.64.0.2', sent: 1, rttMs: 0.4 } },
      { type: 'portmap-result', at: 4, gateway: '198.51.100.1', report: { protocol: 'upnp', present: false, sent: 1, error: 'no SSDP answer' } },
      { type: 'lifetime-progress', at: 21_000, tested: 9, planned: 33, maxMs: 300_000, bracket: { 'one-way': { status: 'measured', lowerMs: 18_000, upperMs: 20_160, estimateMs: 19_080, resolutionMs: 1080 } } },
    ];
    const state = events.reduce(reduceDetectEvent, initialDetectViewState);
    const { lastFrame, unmount } = render(createElement(DetectView, { state }));
    const frame = lastFrame()!;
    expect(frame).toContain('✔ NAT-PMP: present, version 0, external address 100.64.0.2');
    expect(frame).toContain('✘ UPnP IGD: absent: no SSDP answer');
    expect(frame).toContain('Mapping lifetime: 9/33 mappings tested · 21 s of at most 300 s · one-way: 19.1 s ± 1.1 s');
    unmount();
  });

  it('shows the double-NAT finding and the lifetime with its keepalive advice at the end', () => {
    const state = withResults(
      initialDetectViewState,
      [],
      {
        status: 'probed',
        gateway: {
          gateway: '198.51.100.1',
          natPmp: { protocol: 'nat-pmp', present: true, version: '0', externalAddress: '100.64.0.2', sent: 1 },
          pcp: { protocol: 'pcp', present: true, version: '2', sent: 1 },
          upnp: { protocol: 'upnp', present: false, sent: 1, error: 'no SSDP answer' },
          durationMs: 5,
        },
        doubleNat: { verdict: 'double-nat', cgnLikely: true, evidence: ['NAT-PMP … 100.64.0.0/10 (RFC 6598).'], meaning: 'a mapping on the gateway does not help' },
      },
      {
        status: 'measured',
        server: 'lab',
        search: 'parallel',
        maxMs: 300_000,
        results: [{ case: 'one-way', bracket: { status: 'measured', lowerMs: 28_323, upperMs: 31_722, estimateMs: 30_022, resolutionMs: 1700 }, tests: [], keepalive: keepaliveAdvice(28_323) }],
        mappings: 34,
        packetsSent: 80,
        durationMs: 33_000,
        interrupted: false,
      },
    );
    const { lastFrame, unmount } = render(createElement(DetectView, { state }));
    const frame = lastFrame()!.replace(/\s+/g, ' ');
    expect(frame).toContain('Double NAT, carrier-grade NAT likely');
    expect(frame).toContain('Lifetime, one-way: 30.0 s ± 1.7 s');
    expect(frame).toContain('at least every 22.7 s');
    unmount();
  });
});
