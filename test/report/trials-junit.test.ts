import { describe, expect, it } from 'vitest';
import { buildTrialsReport } from '../../src/report/trials-report.js';
import { escapeXml, renderTrialsJunit } from '../../src/report/trials-junit.js';
import { sampleResult } from './trials-fixtures.js';

/**
 * A small well-formedness check for the XML the reporter writes (no comments, CDATA or DTD):
 * tags balance, attribute values are quoted, and every & starts an entity.
 */
function assertWellFormed(xml: string): void {
  const body = xml.replace(/^<\?xml[^?]*\?>\s*/, '');
  const stack: string[] = [];
  const tag = /<(\/?)([A-Za-z_][\w.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/?)>/g;
  let last = 0;
  for (const match of body.matchAll(tag)) {
    const between = body.slice(last, match.index);
    expect(between, `stray markup before ${match[0]}`).not.toMatch(/[<>]/);
    last = match.index + match[0].length;
    const [, closing, name, , selfClosing] = match;
    if (closing) expect(stack.pop(), `</${name}> closes the wrong element`).toBe(name);
    else if (!selfClosing) stack.push(name!);
  }
  expect(body.slice(last).trim()).toBe('');
  expect(stack).toEqual([]);
  expect(xml.replace(/&(amp|lt|gt|quot|apos);/g, '')).not.toContain('&');
}

describe('trials JUnit XML', () => {
  const xml = renderTrialsJunit(buildTrialsReport(sampleResult(), { version: '0', minSuccess: 0.95 }));

  it('is well-formed', () => {
    assertWellFormed(xml);
    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>')).toBe(true);
  });

  it('has one testcase per trial, and counts failures', () => {
    expect(xml.match(/<testcase /g)).toHaveLength(10);
    expect(xml).toContain('<testsuites name="nat-probe" tests="10" failures="2" errors="0" time="0.500">');
    expect(xml).toContain('<testcase classname="nat-probe.trials" name="trial 1 host/host" time="0.010"/>');
  });

  it('gives each failed trial a failure with its reason, and the pairs behind it, escaped', () => {
    expect(xml).toContain('<failure message="timeout" type="timeout">');
    expect(xml).toContain('srflx/srflx 198.51.100.2:5000 → 203.0.113.7:6000: failed, 7 attempt(s), timeout (no answer &lt;after&gt; 7 tries &amp; &quot;RTO&quot; 500)');
    expect(xml).toContain('<failure message="signaling-unreachable" type="signaling-unreachable">');
    expect(xml).toContain('peer 1: error — signaling-unreachable');
  });

  it('carries the summary as properties', () => {
    expect(xml).toContain('<property name="successRate" value="0.8"/>');
    expect(xml).toContain('<property name="thresholdMet" value="false"/>');
    expect(xml).toContain('<property name="timeToConnectP95Ms" value="4.3"/>');
  });

  it('escapes markup and drops characters XML 1.0 cannot hold', () => {
    expect(escapeXml(`a<b>&"c'\u0000\u0007d\n`)).toBe('a&lt;b&gt;&amp;&quot;c&apos;d\n');
  });
});
