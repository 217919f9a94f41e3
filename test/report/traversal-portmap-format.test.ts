import { describe, expect, it } from 'vitest';
import { formatPortmap, formatWinner } from '../../src/report/traversal-format.js';
import { formatPeerEventLine } from '../../src/report/trials-lines.js';
import type { PortmapReport } from '../../src/traversal/types.js';

const mapped: PortmapReport = {
  protocol: 'nat-pmp',
  gateway: '198.51.100.1',
  internalPort: 40_123,
  mapped: true,
  externalAddress: '203.0.113.10',
  externalPort: 40_123,
  lifetimeSeconds: 120,
  durationMs: 2.1,
  renewals: 0,
  advertised: true,
  deleted: true,
};

describe('portmap wording', () => {
  it('names the mapping, its lifetime, the time it took, whether it was advertised and deleted', () => {
    expect(formatPortmap(mapped)).toBe('NAT-PMP on 198.51.100.1: 203.0.113.10:40123 ← port 40123 for 120 s, in 2.1 ms · advertised as a candidate · deleted');
    expect(formatPortmap({ ...mapped, advertised: false, deleted: false, renewals: 2, error: 'deleting the mapping failed (no NAT-PMP answer to 2 mapping request(s)); it expires within 120 s' })).toBe(
      'NAT-PMP on 198.51.100.1: 203.0.113.10:40123 ← port 40123 for 120 s, in 2.1 ms · renewed 2× · not advertised (the plan did not need it) · NOT deleted · deleting the mapping failed (no NAT-PMP answer to 2 mapping request(s)); it expires within 120 s',
    );
  });

  it('says why there is no mapping: refused, or not asked', () => {
    expect(formatPortmap({ protocol: 'nat-pmp', gateway: '198.51.100.1', internalPort: 1, mapped: false, durationMs: 1.5, renewals: 0, advertised: false, deleted: false, error: 'NAT-PMP refused: 3 Network Failure' })).toBe(
      'NAT-PMP on 198.51.100.1: not mapped, in 1.5 ms (NAT-PMP refused: 3 Network Failure)',
    );
    expect(formatPortmap({ protocol: 'nat-pmp', skipped: 'every server is a loopback address', mapped: false, renewals: 0, advertised: false, deleted: false })).toBe('not asked: every server is a loopback address');
  });

  it('a portmap win and the live line', () => {
    expect(formatWinner('portmap')).toBe('a port mapping on the gateway (portmap)');
    expect(formatPeerEventLine({ type: 'traversal-portmap', at: 5, trial: 0, report: mapped })).toContain('traversal portmap NAT-PMP on 198.51.100.1: 203.0.113.10:40123 ← port 40123');
  });
});
