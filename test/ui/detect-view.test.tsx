import { render } from 'ink-testing-library';
import { createElement } from 'react';
import { describe, expect, it } from 'vitest';
import { classify } from '../../src/nat/classify.js';
import { interpret } from '../../src/nat/interpret.js';
import type { DetectEvent } from '../../src/events.js';
import type { DetectFamilyReport } from '../../src/report/detect-report.js';
import { DetectView } from '../../src/ui/DetectView.js';
import { initialDetectViewState, reduceDetectEvent, withResults } from '../../src/ui/detect-state.js';
import { simulate, validServer } from '../nat/observations.js';

const target = { family: 4 as const, address: '127.0.0.1', port: 3478 };

describe('DetectView', () => {
  it('shows progress and per-server RTT from the event stream', () => {
    const events: DetectEvent[] = [
      { type: 'detect-phase', at: 0, family: 4, phase: 'discovery', planned: 0, finished: 0 },
      { type: 'probe-sent', at: 1, seq: 0, section: 'mapping', socket: 0, server: 'local', target, test: 'binding' },
      { type: 'probe-sent', at: 1, seq: 1, section: 'mapping', socket: 1, server: 'local', target, test: 'binding' },
      {
        type: 'probe-result',
        at: 3,
        observation: {
          seq: 0,
          section: 'mapping',
          socket: 0,
          local: { family: 4, address: '0.0.0.0', port: 5000 },
          server: 'local',
          target,
          test: 'binding',
          outcome: { kind: 'answered', mapped: target, from: target, rttMs: 2.5, attempts: 1 },
        },
      },
    ];
    const state = events.reduce(reduceDetectEvent, initialDetectViewState);
    const { lastFrame, unmount } = render(createElement(DetectView, { state }));
    const frame = lastFrame()!;
    expect(frame).toContain('IPv4');
    expect(frame).toContain('discovery');
    expect(frame).toContain('1/2');
    expect(frame).toContain('✔ local  2.5 ms');
    unmount();
  });

  it('shows the verdict, its meaning and what needs TURN', () => {
    const verdict = classify({ family: 4, observations: simulate({ mapping: 'EIM', filtering: 'APDF' }), servers: [validServer], localAddresses: [], hairpinTested: false });
    const result: DetectFamilyReport = {
      family: 4,
      ...interpret(verdict),
      verdict,
      servers: [validServer],
      probes: { sent: 20, answered: 18, unanswered: 2, failed: 0, packetsSent: 26 },
      durationMs: 160,
    };
    const { lastFrame, unmount } = render(createElement(DetectView, { state: withResults(initialDetectViewState, [result]) }));
    const frame = lastFrame()!;
    expect(frame).toContain('Port-restricted cone NAT');
    expect(frame).toContain('EIM / APDF');
    expect(frame).toContain('Needs TURN: address-dependent NAT, symmetric');
    unmount();
  });
});
