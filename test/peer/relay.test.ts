/** The pure parts of relayed-candidate set-up: which servers, which credentials, and the CLI's flag rules. */
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { credentialsOf, describeTurnServer, relayLadderRungs, relayRungOf, RELAY_RUNGS, turnServersFromIceServers, type PeerTurnServer } from '../../src/peer/relay.js';
import { turnCaOption, turnIceServersFor, turnServersFromFlags, withTurnCredentialsFromEnv } from '../../src/cli/turn-flags.js';

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

describe('--turn-ca FILE', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const file = (name: string, text: string): string => {
    const dir = mkdtempSync(join(tmpdir(), 'nat-probe-ca-'));
    dirs.push(dir);
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

  it('reads the PEM file, and the CA goes with the --turn server', () => {
    const text = turnCaOption()(file('ca.pem', PEM));
    expect(text).toBe(PEM);
    expect(turnServersFromFlags({ turn: 'turns:h', turnUser: 'u', turnPass: 'p', turnCa: text })).toEqual([{ url: 'turns:h', username: 'u', credential: 'p', ca: PEM }]);
    expect(turnServersFromFlags({ turn: 'turns:h', turnSecret: 's', turnCa: text })).toEqual([{ url: 'turns:h', secret: 's', ca: PEM }]);
  });

  it('an unreadable file, or one without a certificate, is refused in one line naming the file', () => {
    const missing = join(tmpdir(), 'nat-probe-no-such-dir', 'ca.pem');
    expect(() => turnCaOption()(missing)).toThrow(/^--turn-ca: cannot read ".*ca\.pem" \(ENOENT\); give a PEM file/);
    expect(() => turnCaOption()(file('key.txt', 'not a certificate'))).toThrow(/holds no PEM certificate/);
  });

  it('needs --turn, like the credential flags', () => {
    expect(() => turnServersFromFlags({ turnCa: PEM })).toThrow(expect.objectContaining({ code: 'turn-bad-flags', message: expect.stringContaining('--turn-ca') }));
  });
});
