/** Operator tokens: minting and checking (HMAC-SHA256, room or prefix, expiry), and the server refusing joins without one. */
import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { mintAuthToken, startSignalingServer, verifyAuthToken, type SignalingServer } from '../../src/signaling/index.js';
import { RawPeer } from './helpers.js';

const SECRET = 'an-operator-secret-of-some-length';
const NOW = 1_800_000_000;

describe('operator tokens', () => {
  it('admits the named room until the expiry', () => {
    const token = mintAuthToken(SECRET, { room: 'lab-1', ttlSeconds: 60, nowSeconds: NOW });
    expect(token).toMatch(/^npt1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(verifyAuthToken(SECRET, token, 'lab-1', NOW + 59)).toEqual({ ok: true, exp: NOW + 60 });
    expect(verifyAuthToken(SECRET, token, 'lab-1', NOW + 60)).toMatchObject({ ok: false, message: expect.stringContaining('expired') });
    expect(verifyAuthToken(SECRET, token, 'lab-2', NOW)).toMatchObject({ ok: false, message: expect.stringContaining('not "lab-2"') });
  });

  it('a prefix token admits every room with that prefix and no other', () => {
    const token = mintAuthToken(SECRET, { prefix: 'ci-', ttlSeconds: 60, nowSeconds: NOW });
    expect(verifyAuthToken(SECRET, token, 'ci-42', NOW).ok).toBe(true);
    expect(verifyAuthToken(SECRET, token, 'prod-42', NOW).ok).toBe(false);
  });

  it('refuses another secret, a tampered payload, garbage and no token, without echoing the token', () => {
    const token = mintAuthToken(SECRET, { room: 'lab-1', ttlSeconds: 60, nowSeconds: NOW });
    const [version, payload, signature] = token.split('.');
    const widened = Buffer.from(JSON.stringify({ prefix: '', exp: NOW + 60 })).toString('base64url');
    const cases = [
      verifyAuthToken('another-secret-entirely!', token, 'lab-1', NOW),
      verifyAuthToken(SECRET, `${version}.${widened}.${signature}`, 'lab-1', NOW),
      verifyAuthToken(SECRET, `${version}.${payload}`, 'lab-1', NOW),
      verifyAuthToken(SECRET, 'garbage', 'lab-1', NOW),
      verifyAuthToken(SECRET, undefined, 'lab-1', NOW),
    ];
    for (const result of cases) {
      expect(result.ok).toBe(false);
      expect(JSON.stringify(result)).not.toContain(signature);
    }
  });

  it('has no role: a correctly signed token that claims one is refused as malformed, not half honoured', () => {
    const payload = Buffer.from(JSON.stringify({ room: 'lab-1', exp: NOW + 60, role: 'support' })).toString('base64url');
    const signed = `npt1.${payload}`;
    const token = `${signed}.${createHmac('sha256', SECRET).update(signed).digest('base64url')}`;
    expect(verifyAuthToken(SECRET, token, 'lab-1', NOW)).toEqual({ ok: false, message: expect.stringContaining('payload is malformed') });
  });
});

describe('a server with an auth secret', () => {
  let server: SignalingServer | undefined;
  const peers: RawPeer[] = [];
  afterEach(async () => {
    for (const peer of peers.splice(0)) peer.close();
    await server?.close();
    server = undefined;
  });
  async function peer(): Promise<RawPeer> {
    const opened = await RawPeer.open(server!.url);
    peers.push(opened);
    return opened;
  }

  it('refuses a join without a valid token with unauthorized, admits one with it, and lets a resume through on its resume token alone', async () => {
    server = await startSignalingServer({ authSecret: SECRET, iceServersFor: (peerId) => [{ urls: 'turn:127.0.0.1:3478', username: peerId, credential: 'c' }] });
    const nowSeconds = Math.floor(Date.now() / 1000);
    const bare = await peer();
    expect(await bare.join('lab-1')).toMatchObject({ type: 'error', code: 'unauthorized' });
    const wrong = await peer();
    expect(await wrong.join('lab-1', { auth: mintAuthToken(SECRET, { room: 'lab-2', ttlSeconds: 60, nowSeconds }) })).toMatchObject({ code: 'unauthorized' });

    const a = await peer();
    a.send({ type: 'join', seq: 0, room: 'lab-1', auth: mintAuthToken(SECRET, { room: 'lab-1', ttlSeconds: 60, nowSeconds }) });
    const joined = await a.nextOfType('joined');
    // Only an authenticated join reaches the point where TURN credentials are handed out.
    expect((await a.nextOfType('config')).iceServers).toHaveLength(1);
    a.close();
    const again = await peer();
    expect(await again.join('lab-1', { resume: joined.resumeToken, ack: 0 })).toMatchObject({ type: 'joined', resumed: true });
    const stats = await server.stats();
    expect(stats.errorsSent.unauthorized).toBe(2);
  });
});
