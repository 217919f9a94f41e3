import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { fakeIo } from './fake-io.js';

describe('CLI usage errors and help', () => {
  it('prints help that teaches, and exits 0', async () => {
    const io = fakeIo();
    expect(await main(['detect', '--help'], io)).toBe(0);
    expect(io.out()).toContain('CHANGE-REQUEST');
    expect(io.out()).toContain('Exit codes');
    expect(io.out()).toContain('--server <host[:port]>');
  });

  it('lists the commands in the top-level help', async () => {
    const io = fakeIo();
    expect(await main(['--help'], io)).toBe(0);
    expect(io.out()).toMatch(/detect/);
    expect(io.out()).toMatch(/serve/);
  });

  it.each([
    [['detect', '--timeout', 'soon'], '--timeout must be a whole number'],
    [['detect', '--sockets', '0'], '--sockets must be a whole number from 1 to 16'],
    [['detect', '--family', '5'], '--family must be 4, 6 or auto'],
    [['detect', '--bogus'], "unknown option '--bogus'"],
  ])('%j exits 2 with a clear message', async (argv, message) => {
    const io = fakeIo();
    expect(await main(argv, io)).toBe(2);
    expect(io.err()).toContain(message);
    expect(io.err()).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('rejects --map with --no-portmap (exit 2)', async () => {
    const io = fakeIo();
    expect(await main(['detect', '--server', '127.0.0.1:9', '--map', '--no-portmap'], io)).toBe(2);
    expect(io.err()).toContain('--map needs the gateway probes');
  });

  it('rejects a malformed --server with exit 2 and the accepted forms', async () => {
    const io = fakeIo();
    expect(await main(['detect', '--server', 'host:99999'], io)).toBe(2);
    expect(io.err()).toContain('Invalid --server "host:99999"');
    expect(io.err()).toContain('[bad-server]');
  });

  it('reports UDP blocked with exit 1 when the server never answers', async () => {
    const io = fakeIo();
    // 127.0.0.1 port 9 (discard) has no STUN server: nothing answers, quickly, on loopback.
    expect(await main(['detect', '--server', '127.0.0.1:9', '--timeout', '400', '--json'], io)).toBe(1);
    const report = JSON.parse(io.out());
    expect(report.schema).toBe('nat-probe.detect/v2');
    expect(report.results[0].verdict.kind).toBe('udp-blocked');
    expect(report.exitCode).toBe(1);
    // A loopback-only run never asks the host's gateway.
    expect(report.portMapping).toEqual({ status: 'skipped', because: 'every server is a loopback address' });
  });

  it('says something answers but not STUN, exit 1, when a loopback port answers garbage', async () => {
    const { UdpEndpoint } = await import('../../src/transport/index.js');
    const liar = await UdpEndpoint.bind({ address: '127.0.0.1' });
    liar.onDatagram(({ from }) => void liar.send(Buffer.from('SIP/2.0 400 Bad Request\r\n\r\n'), from));
    try {
      const io = fakeIo();
      expect(await main(['detect', '--server', `127.0.0.1:${liar.local.port}`, '--timeout', '3000'], io)).toBe(1);
      expect(io.out()).toContain('Something answers, but not STUN');
      expect(io.out()).toContain('SIP/2.0 400');
      expect(io.out()).not.toContain('UDP blocked');
    } finally {
      await liar.close();
    }
  });
});
