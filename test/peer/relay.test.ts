/** The pure parts of relayed-candidate set-up: which servers, which credentials, and the CLI's flag rules. */
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { credentialsOf, describeTurnServer, relayLadderRungs, relayRungOf, RELAY_RUNGS, turnServersFromIceServers, type PeerTurnServer } from '../../src/peer/relay.js';
import { turnIceServersFor, turnServersFromFlags, withTurnCredentialsFromEnv } from '../../src/cli/turn-flags.js';

describe('turnServersFromIceServers (signaling config → TURN servers)', () => {
  it('keeps each turn: and turns: URL of an entry, with its credentials, and skips stun:', () => {
    expect(
      turnServersFromIceServers([
        { urls: 'stun:203.0.113.1:3478' },
        { urls: ['turn:203.0.113.1:3478', 'turn:203.0.113.1:3478?transport=tcp', 'turns:203.0.113.1:5349'], username: '1700000000:p-1', credential: 'c' },
        { urls: ' TURN:198.51.100.9 ' },
      ]),
    ).toEqual([
      { url: 'turn:203.0.113.1:3478', username: '1700000000:p-1', credential: 'c' },
      { url: 'turn:203.0.113.1:3478?transport=tcp', username: '1700000000:p-1', credential: 'c' },
      { url: 'turns:203.0.113.1:5349', username: '1700000000:p-1', credential: 'c' },
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
    expect(describeTurnServer({ host: 'turn.example', port: 443, transport: 'tls' })).toBe('turns:turn.example:443');
  });
});

describe('relayLadderRungs (the relay ladder: UDP, then TCP, then TLS)', () => {
  const creds = { username: 'u', credential: 'c' };
  const urls = (servers: readonly PeerTurnServer[]) => servers.map((server) => server.url);

  it('adds turn:H:P?transport=tcp for each turn:H:P, with the same credentials, after every UDP rung', () => {
    const rungs = relayLadderRungs([
      { url: 'turn:203.0.113.1:3478', ...creds },
      { url: 'turn:198.51.100.2', secret: 's', secretUser: 'me' },
    ]);
    expect(rungs).toEqual([
      { url: 'turn:203.0.113.1:3478', ...creds },
      { url: 'turn:198.51.100.2', secret: 's', secretUser: 'me' },
      { url: 'turn:203.0.113.1:3478?transport=tcp', ...creds },
      { url: 'turn:198.51.100.2:3478?transport=tcp', secret: 's', secretUser: 'me' },
    ]);
  });

  it('does not add a TCP rung that is configured already (the configured one, with its own credentials, stays in its place)', () => {
    const rungs = relayLadderRungs([
      { url: 'turn:203.0.113.1:3478?transport=tcp', username: 'tcp-user', credential: 't' },
      { url: 'turn:203.0.113.1', ...creds },
      { url: 'turn:203.0.113.9:3478', ...creds },
    ]);
    expect(urls(rungs)).toEqual(['turn:203.0.113.1', 'turn:203.0.113.9:3478', 'turn:203.0.113.1:3478?transport=tcp', 'turn:203.0.113.9:3478?transport=tcp']);
    expect(rungs[2]).toMatchObject({ username: 'tcp-user' });
  });

  it('TLS rungs come only from configured turns: URLs, last, those on 443 first; none is made up from turn:', () => {
    const rungs = relayLadderRungs([
      { url: 'turns:turn.example.com:5349', ...creds },
      { url: 'turn:turn.example.com', ...creds },
      { url: 'turns:turn.example.com:443', ...creds, ca: 'PEM' },
      { url: 'turns:other.example.com', ...creds },
    ]);
    expect(urls(rungs)).toEqual([
      'turn:turn.example.com',
      'turn:turn.example.com:3478?transport=tcp',
      'turns:turn.example.com:443',
      'turns:turn.example.com:5349',
      'turns:other.example.com',
    ]);
    expect(rungs[2]).toMatchObject({ ca: 'PEM' });
    expect(relayLadderRungs([{ url: 'turn:h', ...creds }]).some((rung) => rung.url.startsWith('turns:'))).toBe(false);
  });

  it('a TCP-only or TLS-only configuration is its own ladder (no UDP rung is made up)', () => {
    expect(urls(relayLadderRungs([{ url: 'turns:h:443', ...creds }, { url: 'turn:h?transport=tcp', ...creds }]))).toEqual(['turn:h?transport=tcp', 'turns:h:443']);
    expect(relayLadderRungs([])).toEqual([]);
  });

  it('one rung per server: duplicates (same transport, host and port, whatever the spelling) collapse to the first', () => {
    const rungs = relayLadderRungs([
      { url: 'turn:H.example:3478', username: 'first', credential: '1' },
      { url: 'TURN:h.example?transport=udp', username: 'second', credential: '2' },
      { url: 'turns:h.example', ...creds },
      { url: 'turns:h.example:5349?transport=tcp', ...creds },
    ]);
    expect(urls(rungs)).toEqual(['turn:H.example:3478', 'turn:H.example:3478?transport=tcp', 'turns:h.example']);
    expect(rungs[1]).toMatchObject({ username: 'first' });
  });

  it('keeps an entry whose URL does not parse (among the UDP rungs), so its allocation reports turn-bad-url', () => {
    expect(urls(relayLadderRungs([{ url: 'turns:h?transport=udp', ...creds }, { url: 'turn:h', ...creds }]))).toEqual(['turn:h', 'turns:h?transport=udp', 'turn:h:3478?transport=tcp']);
  });

  it('is pure: the input is left as it was', () => {
    const input: PeerTurnServer[] = [{ url: 'turn:h', ...creds }];
    const copy = structuredClone(input);
    relayLadderRungs(input);
    expect(input).toEqual(copy);
  });
});

describe('relayRungOf', () => {
  it('names the rung by the transport to the TURN server, in ladder order', () => {
    expect(relayRungOf({ transport: 'udp' })).toBe('relay-udp');
    expect(relayRungOf({ transport: 'tcp' })).toBe('relay-tcp');
    expect(relayRungOf({ transport: 'tls' })).toBe('relay-tls');
    expect(RELAY_RUNGS).toEqual(['relay-udp', 'relay-tcp', 'relay-tls']);
  });
});
