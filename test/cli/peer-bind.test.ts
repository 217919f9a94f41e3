import { describe, expect, it } from 'vitest';
import { peerBindAddress } from '../../src/cli/peer-bind.js';

describe('the address peer and trials bind without --bind', () => {
  it('is loopback for the built-in servers (no --signal, no --stun)', () => {
    expect(peerBindAddress(undefined, {})).toBe('127.0.0.1');
  });

  it('is loopback when signaling, STUN and TURN are all on loopback, ::1 when one of them is', () => {
    expect(peerBindAddress(undefined, { signalUrls: ['ws://127.0.0.1:8478/', 'ws://localhost:8479/'], stunHost: '127.0.0.2', turnUrls: ['turn:127.0.0.1:3478'] })).toBe('127.0.0.1');
    expect(peerBindAddress(undefined, { signalUrls: ['ws://[::1]:8478/'], stunHost: '::1' })).toBe('::1');
  });

  it('is every interface (undefined) as soon as one server is elsewhere', () => {
    expect(peerBindAddress(undefined, { signalUrls: ['ws://203.0.113.1:8478/'] })).toBeUndefined();
    expect(peerBindAddress(undefined, { stunHost: '203.0.113.1' })).toBeUndefined();
    expect(peerBindAddress(undefined, { signalUrls: ['ws://127.0.0.1:8478/'], turnUrls: ['turn:turn.example.net'] })).toBeUndefined();
    expect(peerBindAddress(undefined, { signalUrls: ['ws://127.0.0.1:8478/', 'ws://signal.example.net/'] })).toBeUndefined();
  });

  it('leaves an explicit --bind alone', () => {
    expect(peerBindAddress('0.0.0.0', {})).toBe('0.0.0.0');
    expect(peerBindAddress('198.51.100.2', { signalUrls: ['ws://127.0.0.1:1/'] })).toBe('198.51.100.2');
  });
});
