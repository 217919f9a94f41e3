/**
 * Interop: coturn's own STUN clients (turnutils_stunclient, turnutils_natdiscovery) against our
 * server on 127.0.0.1/127.0.0.2. On loopback there is no NAT, so natdiscovery must report
 * endpoint-independent mapping and filtering.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { startStunServer, type ServedEvent, type StunServer, type StunServerEvent } from '../../src/server/index.js';
import { skipUnlessTools, toolGate } from '../helpers/tools.js';

const run = promisify(execFile);
const gate = toolGate(['turnutils_stunclient', 'turnutils_natdiscovery']);
const skip = skipUnlessTools(gate, 'coturn client interop');

/** Each tool answers in well under a second when every test is answered; 3 s per unanswered test. */
const TOOL_TIMEOUT_MS = 15_000;

async function tool(name: string, args: string[]): Promise<string> {
  const { stdout, stderr } = await run(gate.paths[name]!, args, { timeout: TOOL_TIMEOUT_MS });
  return `${stdout}\n${stderr}`;
}

/** "0: : IPv4. UDP reflexive addr: 127.0.0.1:35763" → ['127.0.0.1:35763', …] */
function field(output: string, label: string): string[] {
  const pattern = new RegExp(`${label}:(?: :)? (\\S+:\\d+)`, 'g');
  return [...output.matchAll(pattern)].map((match) => match[1]!);
}

describe.skipIf(skip)('coturn clients against our server', () => {
  let server: StunServer | undefined;
  let served: ServedEvent[] = [];
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function serve(alternate: string | undefined): Promise<StunServer> {
    served = [];
    server = await startStunServer({
      primary: '127.0.0.1',
      alternate,
      port: 0,
      onEvent: (event: StunServerEvent) => {
        if (event.type === 'served') served.push(event);
      },
    });
    return server;
  }

  const at = (s: StunServer, role: keyof StunServer['addresses']): string => `${s.addresses[role]!.address}:${s.addresses[role]!.port}`;

  it('turnutils_stunclient gets its mapped address, RESPONSE-ORIGIN and OTHER-ADDRESS', async () => {
    const s = await serve('127.0.0.2');
    const output = await tool('turnutils_stunclient', ['-p', String(s.addresses.primary.port), '127.0.0.1']);
    const reflexive = field(output, 'UDP reflexive addr');
    expect(reflexive.length, output).toBeGreaterThanOrEqual(1);
    // The mapped address it prints is the source the server saw for the first request.
    expect(reflexive[0]).toBe(`127.0.0.1:${served[0]!.from.port}`);
    expect(field(output, 'Other addr')[0]).toBe(at(s, 'alternateIpAndPort'));
    const origins = [...new Set(field(output, 'Response origin'))];
    // Its RFC 5780 run: a plain request, then CHANGE-REQUEST ip+port (with RESPONSE-PORT), answered from A2:P2.
    expect(origins).toEqual([at(s, 'primary'), at(s, 'alternateIpAndPort')]);
    expect(served.every((event) => event.outcome === 'success')).toBe(true);
  });

  it('turnutils_natdiscovery -m -f reports endpoint-independent mapping and filtering', async () => {
    const s = await serve('127.0.0.2');
    const output = await tool('turnutils_natdiscovery', ['-m', '-f', '-p', String(s.addresses.primary.port), '127.0.0.1']);
    expect(output).toContain('NAT with Endpoint Independent Mapping!');
    expect(output).toContain('NAT with Endpoint Independent Filtering!');
    // Mapping test II asked A2:P1 directly; filtering test II (change IP and port) was answered
    // from A2:P2, and once that worked natdiscovery had its EIF verdict and stopped.
    const sentFrom = new Set(served.map((event) => event.sentFrom));
    expect(sentFrom).toContain('alternateIp');
    expect(sentFrom).toContain('alternateIpAndPort');
    expect(s.stats().responses.error).toBe(0);
  });

  it('turnutils_natdiscovery -m -f -P (1500-byte PADDING) gets padded answers and the same verdicts', async () => {
    const s = await serve('127.0.0.2');
    const output = await tool('turnutils_natdiscovery', ['-m', '-f', '-P', '-p', String(s.addresses.primary.port), '127.0.0.1']);
    expect(output).toContain('NAT with Endpoint Independent Mapping!');
    expect(output).toContain('NAT with Endpoint Independent Filtering!');
    const padded = served.filter((event) => event.requestBytes > 1500);
    expect(padded.length).toBeGreaterThan(0);
    for (const event of padded) expect(event.responseBytes).toBeGreaterThan(1500);
  });

  it('without an alternate: stunclient still gets its mapped address, natdiscovery gets no RFC 5780 verdict', async () => {
    const s = await serve(undefined);
    const output = await tool('turnutils_stunclient', ['-p', String(s.addresses.primary.port), '127.0.0.1']);
    expect(field(output, 'UDP reflexive addr')[0]).toBe(`127.0.0.1:${served[0]!.from.port}`);
    expect(field(output, 'Other addr')).toEqual([]);
    const discovery = await tool('turnutils_natdiscovery', ['-m', '-f', '-p', String(s.addresses.primary.port), '127.0.0.1']);
    expect(discovery).not.toMatch(/NAT with/);
  });
});
