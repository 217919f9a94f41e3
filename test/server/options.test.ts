import { describe, expect, it } from 'vitest';
import { resolveServerOptions, StunServerError } from '../../src/server/index.js';

describe('resolveServerOptions', () => {
  it('fills the documented defaults', () => {
    const resolved = resolveServerOptions();
    expect(resolved).toMatchObject({ primary: '127.0.0.1', port: 3478, alternate: undefined, maxResponsePadding: 1500 });
    expect(resolved.rateLimit).toEqual({ ratePerSecond: 200, burst: 400, maxSources: 10_000 });
    expect(resolved.software).toMatch(/^nat-probe\//);
    expect(resolveServerOptions({ alternate: '127.0.0.2', port: 5000 }).alternatePort).toBe(5001);
    expect(resolveServerOptions({ software: false, rateLimit: false })).toMatchObject({ software: undefined, rateLimit: undefined });
  });

  it('rejects what cannot work, with a code and a hint', () => {
    const bad = [
      { primary: 'localhost' },
      { primary: '127.0.0.1', alternate: '::1' },
      { primary: '127.0.0.1', alternate: '127.0.0.1' },
      { primary: '0.0.0.0', alternate: '127.0.0.2' },
      { port: 70000 },
      { alternate: '127.0.0.2', port: 4000, alternatePort: 4000 },
      { rateLimit: { ratePerSecond: 0 } },
    ];
    for (const options of bad) {
      expect(() => resolveServerOptions(options)).toThrow(StunServerError);
      try {
        resolveServerOptions(options);
      } catch (error) {
        expect((error as StunServerError).code).toBe('server-bad-options');
      }
    }
  });
});
