/** The pure parts of relayed-candidate set-up: which servers, which credentials, and the CLI's flag rules. */
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { credentialsOf, describeTurnServer, turnServersFromIceServers } from '../../src/peer/relay.js';
import { turnIceServersFor, turnServersFromFlags, withTurnCredentialsFromEnv } from '../../src/cli/turn-flags.js';

describe('turnServersFromIceServers (signaling config → TURN servers)', () => {
  it('keeps each turn: URL of an entry, with its credentials, and skips stun: and turns:', () => {
    expect(
      turnServersFromIceServers([
        { urls: 'stun:203.0.113.1:3478' },
        { urls: ['turn:203.0.113.1:3478', 'turn:203.0.113.1:3478?transport=tcp', 'turns:203.0.113.1:5349'], username: '1700000000:p-1', credential: 'c' },
        { urls: ' TURN:198.51.100.9 ' },
      ]),
    ).toEqual([
      { url: 'turn:203.0.113.1:3478', username: '1700000000:p-1', credential: 'c' },
      { url: 'turn:203.0.113.1:3478?transport=tcp', username: '1700000000:p-1', credential: 'c' },
      { url: ' TURN:198.51.100.9 ' },
    ]);
    expect(turnServersFromIceServers(undefined)).toEqual([]);
  });
});

describe('credentialsOf', () => {
  it('makes REST API credentials from a secret (checked with node:crypto), or passes long-term ones through', () => {
    const rest = credentialsOf({ url: 'turn:x', secret: 's3cret', secretUser: 'alice', ttlSeconds: 60 }, 1_700_000_000_000);
    expect(rest.username).toBe('1700000060:alice');
    expect(rest.password).toBe(createHmac('sha1', 's3cret').update('1700000060:alice').digest('base64'));
    expect(credentialsOf({ url: 'turn:x', secret: 's' }, 0).username).toBe('86400:nat-probe');
    expect(credentialsOf({ url: 'turn:x', username: 'u', credential: 'p' })).toEqual({ username: 'u', password: 'p' });
  });

  it('says what is missing, without echoing anything secret', () => {
    expect(() => credentialsOf({ url: 'turn:x', username: 'u' })).toThrow(/has no credentials/);
  });
});

describe('describeTurnServer', () => {
  it('brackets IPv6 and always names the transport', () => {
    expect(describeTurnServer({ host: '::1', port: 3478, transport: 'tcp' })).toBe('turn:[::1]:3478?transport=tcp');
    expect(describeTurnServer({ host: 'turn.example', port: 80, transport: 'udp' })).toBe('turn:turn.example:80?transport=udp');
  });
});

describe('TURN flags (peer, trials)', () => {
  it('maps the flags to one server, long-term or REST', () => {
    expect(turnServersFromFlags({})).toBeUndefined();
    expect(turnServersFromFlags({ turn: 'turn:h', turnUser: 'u', turnPass: 'p' })).toEqual([{ url: 'turn:h', username: 'u', credential: 'p' }]);
    expect(turnServersFromFlags({ turn: 'turn:h', turnSecret: 's', turnUser: 'me', turnTtl: 600 })).toEqual([{ url: 'turn:h', secret: 's', secretUser: 'me', ttlSeconds: 600 }]);
  });

  it('refuses inconsistent combinations with turn-bad-flags', () => {
    const bad = [
      { turnUser: 'u' },
      { turn: 'turn:h' },
      { turn: 'turn:h', turnUser: 'u' },
      { turn: 'turn:h', turnSecret: 's', turnPass: 'p' },
      { turn: 'turn:h', turnUser: 'u', turnPass: 'p', turnTtl: 60 },
      { turn: 'turn:h', turnUser: 'u', turnPass: 'p', directOnly: true },
      { relayOnly: true, directOnly: true },
    ];
    for (const flags of bad) expect(() => turnServersFromFlags(flags), JSON.stringify(flags)).toThrow(expect.objectContaining({ code: 'turn-bad-flags' }));
  });

  it('takes credentials from the environment only with --turn and no credential flag, flags winning', () => {
    const env = { NAT_PROBE_TURN_SECRET: 's3', NAT_PROBE_TURN_PASSWORD: 'p4' };
    expect(withTurnCredentialsFromEnv({ turn: 'turn:h' }, env)).toEqual({ turn: 'turn:h', turnSecret: 's3' });
    expect(withTurnCredentialsFromEnv({ turn: 'turn:h', turnUser: 'u' }, env)).toEqual({ turn: 'turn:h', turnUser: 'u', turnPass: 'p4' });
    expect(withTurnCredentialsFromEnv({ turn: 'turn:h', turnUser: 'u' }, { NAT_PROBE_TURN_SECRET: 's3' })).toEqual({ turn: 'turn:h', turnUser: 'u', turnSecret: 's3' });
    expect(withTurnCredentialsFromEnv({ turn: 'turn:h', turnPass: 'flag', turnUser: 'u' }, env)).toEqual({ turn: 'turn:h', turnPass: 'flag', turnUser: 'u' });
    // Without --turn nothing is read: lab exec exports a password that is not meant for these flags.
    expect(withTurnCredentialsFromEnv({}, env)).toEqual({});
    expect(withTurnCredentialsFromEnv({ turn: 'turn:h' }, { NAT_PROBE_TURN_SECRET: '' })).toEqual({ turn: 'turn:h' });
  });

  it("serve's hand-out gives each peer its own username and a password only the secret can make", () => {
    const handOut = turnIceServersFor('turn:203.0.113.1:3478', 'shh', 300);
    const [a] = handOut('p-A');
    const [b] = handOut('p-B');
    expect(a!.username).toMatch(/^\d+:p-A$/);
    expect(b!.username).toMatch(/^\d+:p-B$/);
    expect(a!.credential).toBe(createHmac('sha1', 'shh').update(a!.username!).digest('base64'));
    expect(JSON.stringify([a, b])).not.toContain('shh');
  });
});
