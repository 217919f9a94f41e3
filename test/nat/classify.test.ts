import { describe, expect, it } from 'vitest';
import { classify } from '../../src/nat/classify.js';
import { ALTERNATE, PRIMARY, TARGETS, answered, resetSeq, simulate, unanswered, validServer } from './observations.js';

const LOCAL = ['127.0.0.1', '10.0.0.5'];
const run = (observations: ReturnType<typeof simulate>, servers = [validServer]) =>
  classify({ family: 4, observations, servers, localAddresses: LOCAL, hairpinTested: false });

describe('classify: RFC 5780 behaviour to classic names', () => {
  it.each([
    ['EIM', 'EIF', 'full-cone', 'endpoint-independent', 'endpoint-independent'],
    ['EIM', 'ADF', 'restricted-cone', 'endpoint-independent', 'address-dependent'],
    ['EIM', 'APDF', 'port-restricted-cone', 'endpoint-independent', 'address-and-port-dependent'],
    ['ADM', 'APDF', 'symmetric', 'address-dependent', 'address-and-port-dependent'],
    ['APDM', 'APDF', 'symmetric', 'address-and-port-dependent', 'address-and-port-dependent'],
    ['APDM', 'EIF', 'symmetric', 'address-and-port-dependent', 'endpoint-independent'],
  ] as const)('%s + %s → %s', (mapping, filtering, classicName, expectedMapping, expectedFiltering) => {
    const verdict = run(simulate({ mapping, filtering }));
    expect(verdict.kind).toBe('nat');
    expect(verdict.classicName).toBe(classicName);
    expect(verdict.mapping).toBe(expectedMapping);
    expect(verdict.filtering).toBe(expectedFiltering);
    expect(verdict.confidence).toBe('high');
    expect(verdict.publicAddresses).toEqual(['198.51.100.200']);
  });

  it('says "no NAT" only when the mapped address is a local interface and the port is unchanged', () => {
    resetSeq();
    const local = { family: 4 as const, address: '10.0.0.5', port: 50000 };
    const observations = [
      answered('mapping', 0, 50000, TARGETS.pp, local),
      answered('mapping', 0, 50000, TARGETS.aa, local),
      answered('filtering', 0, 50001, PRIMARY, { ...local, port: 50001 }),
      answered('filtering', 0, 50001, PRIMARY, { ...local, port: 50001 }, 'change-ip-and-port', ALTERNATE),
    ];
    const verdict = run(observations);
    expect(verdict.kind).toBe('no-nat');
    expect(verdict.classicName).toBe('open-internet');
    expect(verdict.portAllocation.kind).toBe('preserved');
  });

  it('calls a public address with filtering a firewall', () => {
    resetSeq();
    const local = { family: 4 as const, address: '10.0.0.5', port: 50000 };
    const observations = [
      answered('mapping', 0, 50000, TARGETS.pp, local),
      answered('mapping', 0, 50000, TARGETS.aa, local),
      answered('mapping', 0, 50000, TARGETS.pa, local),
      answered('filtering', 0, 50001, PRIMARY, { ...local, port: 50001 }),
      unanswered('filtering', 0, 50001, PRIMARY, 'change-ip-and-port'),
      answered('filtering', 1, 50002, PRIMARY, { ...local, port: 50002 }),
      unanswered('filtering', 1, 50002, PRIMARY, 'change-port'),
    ];
    const verdict = run(observations);
    expect(verdict.kind).toBe('firewall');
    expect(verdict.classicName).toBe('symmetric-udp-firewall');
    expect(verdict.filtering).toBe('address-and-port-dependent');
  });

  it('detects a port-translating host even when the IP is its own', () => {
    resetSeq();
    const verdict = run([answered('mapping', 0, 50000, TARGETS.pp, { family: 4, address: '10.0.0.5', port: 61000 }), answered('mapping', 0, 50000, TARGETS.aa, { family: 4, address: '10.0.0.5', port: 61000 })]);
    expect(verdict.kind).not.toBe('no-nat');
    expect(verdict.reasons.join(' ')).toContain('port-translating');
  });

  it('reports UDP blocked when nothing answers', () => {
    resetSeq();
    const verdict = run([unanswered('mapping', 0, 50000, PRIMARY, 'binding'), unanswered('mapping', 1, 50001, PRIMARY, 'binding'), unanswered('mapping', 2, 50002, PRIMARY, 'binding')]);
    expect(verdict.kind).toBe('udp-blocked');
    expect(verdict.classicName).toBe('udp-blocked');
  });

  it('never turns a lost control request into a filtering verdict', () => {
    const observations = simulate({ mapping: 'EIM', filtering: 'APDF' }).map((o) =>
      o.section === 'filtering' && o.test === 'binding' ? { ...o, outcome: { kind: 'timeout' as const, attempts: 4, waitedMs: 150, complete: true } } : o,
    );
    const verdict = run(observations);
    expect(verdict.filtering).toBe('unknown');
    expect(verdict.kind).toBe('inconclusive');
    expect(verdict.confidence).toBe('low');
  });

  it('never uses a negative that the deadline cut short', () => {
    const observations = simulate({ mapping: 'EIM', filtering: 'APDF' }).map((o) =>
      o.outcome.kind === 'timeout' ? { ...o, outcome: { ...o.outcome, complete: false } } : o,
    );
    expect(run(observations).filtering).toBe('unknown');
  });

  it('does not trust a negative when the server never proved it can answer from its alternate address', () => {
    const observations = simulate({ mapping: 'EIM', filtering: 'APDF' }).filter((o) => !(o.section === 'mapping' && o.target.address === ALTERNATE.address));
    const withoutPa = observations.filter((o) => !(o.section === 'mapping' && o.target.port === ALTERNATE.port));
    expect(run(withoutPa).filtering).toBe('unknown');
  });

  it('ignores filtering evidence from a server that failed RFC 5780 validation', () => {
    const verdict = run(simulate({ mapping: 'EIM', filtering: 'EIF' }), [{ ...validServer, rfc5780: 'invalid', problems: ['bad'] }]);
    expect(verdict.filtering).toBe('unknown');
    expect(verdict.kind).toBe('inconclusive');
  });

  it('lowers confidence and says so when sockets disagree on mapping', () => {
    const observations = simulate({ mapping: 'EIM', filtering: 'EIF' });
    const tweaked = observations.map((o) =>
      o.section === 'mapping' && o.socket === 2 && o.target === TARGETS.aa && o.outcome.kind === 'answered'
        ? { ...o, outcome: { ...o.outcome, mapped: { ...o.outcome.mapped, port: 1 } } }
        : o,
    );
    const verdict = run(tweaked);
    expect(verdict.mapping).toBe('endpoint-independent');
    expect(verdict.reasons.join(' ')).toContain('disagree');
  });

  it('marks mapping unknown when only one server address was reachable', () => {
    resetSeq();
    const verdict = run([answered('mapping', 0, 50000, TARGETS.pp, { family: 4, address: '198.51.100.200', port: 1000 })], []);
    expect(verdict.mapping).toBe('unknown');
    expect(verdict.kind).toBe('inconclusive');
  });
});

describe('port allocation', () => {
  it('recognises preserved ports', () => {
    expect(run(simulate({ mapping: 'EIM', filtering: 'EIF', preservePorts: true })).portAllocation.kind).toBe('preserved');
  });

  it('recognises sequential allocation and predicts the next port', () => {
    const allocation = run(simulate({ mapping: 'APDM', filtering: 'APDF', sequentialFrom: 40000 })).portAllocation;
    expect(allocation).toMatchObject({ kind: 'sequential', delta: 1 });
    if (allocation.kind === 'sequential') expect(allocation.predictedNext).toBe(allocation.samples.at(-1)! + 1);
  });

  it('calls scattered ports random', () => {
    expect(run(simulate({ mapping: 'APDM', filtering: 'APDF' })).portAllocation.kind).toBe('random');
  });
});
