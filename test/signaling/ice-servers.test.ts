/**
 * Per-peer ICE servers in `config` (PROTOCOL.md): the hook the CLI uses to hand out ephemeral
 * TURN credentials. Real server on 127.0.0.1, raw WebSocket peers reading the exact frames.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startSignalingServer, type SignalingServer, type SignalingServerOptions, SignalingClient } from '../../src/signaling/index.js';
import { RawPeer, type Frame } from './helpers.js';

let server: SignalingServer | undefined;
const peers: RawPeer[] = [];
const clients: SignalingClient[] = [];
afterEach(async () => {
  for (const peer of peers.splice(0)) peer.close();
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await server?.close();
  server = undefined;
});

async function serve(options: SignalingServerOptions): Promise<string> {
  server = await startSignalingServer({ host: '127.0.0.1', port: 0, ...options });
  return server.url;
}

/** Joins and returns both the `joined` and the `config` frame. */
async function joinAndConfig(url: string, room: string): Promise<{ joined: Frame; config: Frame }> {
  const peer = await RawPeer.open(url);
  peers.push(peer);
  peer.send({ type: 'join', seq: 0, room });
  const joined = await peer.nextOfType('joined');
  const config = await peer.nextOfType('config');
  return { joined, config };
}

describe('signaling config: iceServersFor (per-peer credentials)', () => {
  it('appends each peer its own servers, called with that peer id, after the static ones', async () => {
    const calls: string[] = [];
    const url = await serve({
      iceServers: [{ urls: 'stun:127.0.0.1:3478' }],
      iceServersFor: (peerId) => {
        calls.push(peerId);
        return [{ urls: ['turn:127.0.0.1:3478'], username: `exp:${peerId}`, credential: `pw-${peerId}` }];
      },
    });
    const a = await joinAndConfig(url, 'r1');
    const b = await joinAndConfig(url, 'r1');
    expect(calls).toEqual([a.joined.peerId, b.joined.peerId]);
    expect(a.config.iceServers).toEqual([
      { urls: 'stun:127.0.0.1:3478' },
      { urls: ['turn:127.0.0.1:3478'], username: `exp:${a.joined.peerId}`, credential: `pw-${a.joined.peerId}` },
    ]);
    expect(b.config.iceServers[1].username).toBe(`exp:${b.joined.peerId}`);
  });

  it('omits iceServers when nothing is configured, and survives a throwing callback', async () => {
    let url = await serve({});
    expect((await joinAndConfig(url, 'r2')).config).not.toHaveProperty('iceServers');
    await server!.close();
    url = await serve({
      iceServersFor: () => {
        throw new Error('credential store down');
      },
    });
    const { joined, config } = await joinAndConfig(url, 'r3');
    expect(joined.type).toBe('joined');
    expect(config.iceServers).toEqual([]);
    expect((await server!.stats()).errorsSent['ice-servers-failed']).toBe(1);
  });

  it('reaches SignalingClient.config', async () => {
    const url = await serve({ iceServersFor: (peerId) => [{ urls: ['turn:127.0.0.1:3478'], username: peerId, credential: 'x' }] });
    const client = new SignalingClient({ url, room: 'r4' });
    clients.push(client);
    const configured = new Promise<unknown>((resolve) => client.once('config', resolve));
    const join = await client.connect();
    await configured;
    expect(client.config?.iceServers).toEqual([{ urls: ['turn:127.0.0.1:3478'], username: join.peerId, credential: 'x' }]);
  });
});
