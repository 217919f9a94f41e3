import { describe, expect, it } from 'vitest';
import { judgePathHold } from '../../src/peer/path-hold.js';

const steady = { checksSent: 12, checksAnswered: 12, largestGapMs: 5_900, runningMs: 60_000, lost: false };

describe('judgePathHold: does consent traffic keep the mapping alive?', () => {
  it('a 30 s mapping: consent checks (at most 6 s apart) are within its 24 s safe interval', () => {
    const report = judgePathHold({ askedMs: 60_000, heldMs: 60_000, endedBy: 'time', stats: steady, mappingLifetimeMs: 30_000 });
    expect(report).toMatchObject({ checksSent: 12, checksAnswered: 12, largestGapMs: 5_900, consentLost: false, mappingLifetimeMs: 30_000, safeIntervalMs: 24_000, keepsMappingAlive: true });
    expect(report.text).toContain('12 consent checks in 60.0 s, all answered, at most 5.9 s apart.');
    expect(report.text).toContain('keep it alive');
  });

  it('a 5 s mapping: judged on the 6 s gap RFC 7675 allows even when the gaps seen were shorter', () => {
    const report = judgePathHold({ askedMs: 20_000, heldMs: 20_000, endedBy: 'time', stats: { ...steady, largestGapMs: 4_100 }, mappingLifetimeMs: 5_000 });
    expect(report.keepsMappingAlive).toBe(false);
    expect(report.safeIntervalMs).toBe(4_000);
    expect(report.text).toContain('too sparse');
    expect(report.text).toContain('send keepalives every 4.0 s');
  });

  it('a gap seen longer than the safe interval fails the judgement even when 6 s would pass', () => {
    const report = judgePathHold({ askedMs: 60_000, heldMs: 60_000, endedBy: 'time', stats: { ...steady, largestGapMs: 9_000 }, mappingLifetimeMs: 10_000 });
    expect(report.safeIntervalMs).toBe(8_000);
    expect(report.keepsMappingAlive).toBe(false);
  });

  it('without a lifetime: says which mappings consent keeps and how to measure this one', () => {
    const report = judgePathHold({ askedMs: 60_000, heldMs: 60_000, endedBy: 'time', stats: steady });
    expect(report.keepsMappingAlive).toBeUndefined();
    expect(report.safeIntervalMs).toBeUndefined();
    expect(report.text).toContain('longer than 7.5 s');
    expect(report.text).toContain('nat-probe detect --lifetime');
  });

  it('consent lost, the other peer gone, no check yet: each said plainly', () => {
    const lost = judgePathHold({ askedMs: 90_000, heldMs: 41_000, endedBy: 'consent-lost', stats: { checksSent: 8, checksAnswered: 2, largestGapMs: 6_000, runningMs: 41_000, lost: true }, mappingLifetimeMs: 3_000 });
    expect(lost.consentLost).toBe(true);
    expect(lost.text).toContain('2 of 8 answered');
    expect(lost.text).toContain('Consent was lost');
    const left = judgePathHold({ askedMs: 60_000, heldMs: 2_500, endedBy: 'peer-left', stats: { checksSent: 0, checksAnswered: 0, runningMs: 2_600, lost: false } });
    expect(left.consentLost).toBe(false);
    expect(left.largestGapMs).toBeUndefined();
    expect(left.text).toContain('No consent check went out in 2.5 s');
    expect(left.text).toContain('The other peer left after 2.5 s; give it --hold too');
  });
});
