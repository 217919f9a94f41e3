import { describe, expect, it } from 'vitest';
import { parseServerSpec, resolveServer, ServerSpecError } from '../../src/nat/servers.js';

describe('--server parsing', () => {
  it.each([
    ['stun.example.org', 'stun.example.org', 3478],
    ['stun.example.org:19302', 'stun.example.org', 19302],
    ['stun:stun.example.org:5349', 'stun.example.org', 5349],
    ['127.0.0.1:3478', '127.0.0.1', 3478],
    ['[::1]:3478', '::1', 3478],
    ['[2001:db8::1]', '2001:db8::1', 3478],
    ['2001:db8::1', '2001:db8::1', 3478],
  ])('%s', (text, host, port) => {
    expect(parseServerSpec(text)).toMatchObject({ host, port });
  });

  it.each(['', 'host:0', 'host:70000', 'host:abc', 'a b', ':3478'])('rejects "%s" with a message that shows the accepted forms', (text) => {
    expect(() => parseServerSpec(text)).toThrow(ServerSpecError);
    try {
      parseServerSpec(text);
    } catch (error) {
      expect((error as Error).message).toContain('[IPv6]:port');
      expect((error as ServerSpecError).code).toBe('bad-server');
    }
  });

  it('resolves literals without DNS and skips the other family', async () => {
    expect(await resolveServer(parseServerSpec('127.0.0.1:9'), 4)).toMatchObject({ address: { address: '127.0.0.1', port: 9, family: 4 } });
    expect(await resolveServer(parseServerSpec('127.0.0.1:9'), 6)).toBeUndefined();
    expect(await resolveServer(parseServerSpec('localhost:9'), 4)).toMatchObject({ address: { address: '127.0.0.1' } });
  });
});
