import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { fakeIo } from './fake-io.js';

describe('field: help and usage errors', () => {
  it('is listed in the top-level help', async () => {
    const io = fakeIo();
    expect(await main(['--help'], io)).toBe(0);
    expect(io.out()).toMatch(/^\s+field \[options\]/m);
  });

  it('teaches what the page does and sends, the DTLS note, security, examples and exit codes', async () => {
    const io = fakeIo();
    expect(await main(['field', '--help'], io)).toBe(0);
    const help = io.out();
    for (const text of ['--listen <host:port>', '--public-url <url>', '--stun <host[:port]>', '--visits <n>', '--ttl <seconds>', '--ice-role <role>', '--html <file>', '--turn <url>', 'Only ICE is tested', 'mDNS', 'to this server', 'plain 404', 'Exit codes: 0 every visit connected']) {
      expect(help).toContain(text);
    }
  });

  it.each([
    [['field', '--listen', '8480'], '--listen must be HOST:PORT'],
    [['field', '--public-url', 'ftp://x'], '--public-url must start with http:// or https://'],
    [['field', '--ice-role', 'boss'], '--ice-role must be controlling, controlled or alternate'],
    [['field', '--ttl', '0'], '--ttl must be a whole number from 10'],
    [['field', '--relay-only'], '--relay-only and --direct-only do not apply to field'],
    [['field', '--turn-user', 'u'], 'need --turn turn:HOST:PORT'],
  ])('%j → exit 2: %s', async (argv, message) => {
    const io = fakeIo();
    expect(await main(argv, io)).toBe(2);
    expect(io.err()).toContain(message);
  });

  it('says which port is taken (exit 2), without a stack trace', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const io = fakeIo();
      expect(await main(['field', '--listen', `127.0.0.1:${port}`, '--stun-port', '0'], io)).toBe(2);
      expect(io.err()).toContain('cannot listen (EADDRINUSE)');
      expect(io.err()).not.toContain('    at ');
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });
});
