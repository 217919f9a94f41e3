import { describe, expect, it } from 'vitest';
import { isLoopbackAddress } from '../../src/stun/index.js';

describe('isLoopbackAddress: does traffic to it stay on this host?', () => {
  it.each(['127.0.0.1', '127.0.0.2', '127.255.255.254', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1'])('%s is loopback', (address) => {
    expect(isLoopbackAddress(address)).toBe(true);
  });

  it.each(['128.0.0.1', '10.0.0.1', '203.0.113.1', '::', '::2', '::ffff:10.0.0.1', '2001:db8::1', 'localhost', '127.0.0', ''])('%s is not', (address) => {
    expect(isLoopbackAddress(address)).toBe(false);
  });
});
